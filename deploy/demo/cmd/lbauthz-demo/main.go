// Command lbauthz-demo is the sidecar of the demo that `make run` starts
// (deploy/demo/run.sh): lbauthz's engine and doors with a built-in config
// whose session key is public. It only talks to a Liveblocks dev server on
// loopback with the dev server's key, and only listens on loopback; the
// production lbauthz has no demo mode and no demo key.
//
// Usage:
//
//	lbauthz-demo serve                  serve the demo config
//	lbauthz-demo session USER [GROUP...] print a demo session cookie value
package main

import (
	"fmt"
	"io"
	"os"
)

const usage = `lbauthz-demo: the sidecar of lbauthz's demo (loopback and the Liveblocks dev server only).

Usage:
  lbauthz-demo serve                    serve the built-in demo config
  lbauthz-demo session USER [GROUP...]  a session cookie value signed with the demo key

Environment of serve: LIVEBLOCKS_BASE_URL (a loopback URL, default http://127.0.0.1:1153),
LIVEBLOCKS_SECRET_KEY (sk_localdev or unset), LBAUTHZ_DEMO_HTTP (default 127.0.0.1:8181) and
LBAUTHZ_DEMO_GRPC (default 127.0.0.1:9191), loopback addresses.
`

// Exit codes, as lbauthz's.
const (
	exitOK    = 0
	exitError = 1
	exitUsage = 2
)

func main() {
	os.Exit(run(os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
}

func run(args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	switch args[0] {
	case "serve":
		return cmdServe(args[1:], getenv, stdout, stderr)
	case "session":
		return cmdSession(args[1:], stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return exitOK
	}
	fmt.Fprintf(stderr, "lbauthz-demo: unknown command %q\n\n%s", args[0], usage)
	return exitUsage
}
