// Command lbauthz is the sidecar: an Envoy ext_authz server (and HTTP doors
// for other proxies) that reads an app's session cookie, answers the
// Liveblocks auth endpoint with a token, and passes every other request to the
// app with the user's identity as headers.
//
// Usage:
//
//	lbauthz serve --config FILE
//	lbauthz validate --config FILE
//	lbauthz explain --config FILE --cookie COOKIE [--path P] [--room R]
//	lbauthz rooms create|get|update|delete|list ...
//	lbauthz sessions revoke --config FILE --user ID | --session-cookie-hash H
//	lbauthz version
//
// The Kubernetes sidecar injector is its own binary, cmd/lbauthz-injector.
package main

import (
	"fmt"
	"io"
	"os"

	"github.com/lbauthz/lbauthz/internal/buildinfo"
)

// version is set at build time (see internal/buildinfo).
var version = buildinfo.Version()

const usage = `lbauthz: Liveblocks authentication in front of an unchanged app.

Usage:
  lbauthz serve    --config FILE   serve Envoy ext_authz (gRPC) and the HTTP doors
  lbauthz validate --config FILE   check a config file without serving
  lbauthz explain  --config FILE --cookie C [--path P] [--room R]
                                   what the sidecar decides for a request, and why
  lbauthz rooms create|get|update|delete|list ...  manage rooms and their permissions
  lbauthz sessions revoke --config FILE --user ID | --session-cookie-hash H [--for D]
                                   refuse a user or a session on every replica (shared Redis)
  lbauthz webhook  moved: the Kubernetes sidecar injector is lbauthz-injector
  lbauthz version                  print the version

Run "lbauthz COMMAND -h" for a command's flags.

Exit codes: 0 ok, 1 error, 2 invalid input or usage; lbauthz rooms adds
3 room not found, 4 room already exists, 5 Liveblocks refused or unreachable.
`

// Exit codes.
const (
	exitOK    = 0
	exitError = 1
	exitUsage = 2
	// The rooms commands' answers from Liveblocks.
	exitNotFound = 3
	exitConflict = 4
	exitUpstream = 5
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	switch args[0] {
	case "serve":
		return cmdServe(args[1:], stdout, stderr)
	case "validate":
		return cmdValidate(args[1:], stdout, stderr)
	case "explain":
		return cmdExplain(args[1:], os.Stdin, stdout, stderr)
	case "rooms":
		return cmdRooms(args[1:], stdout, stderr)
	case "sessions":
		return cmdSessions(args[1:], stdout, stderr)
	case "webhook":
		return cmdWebhook(args[1:], stdout, stderr)
	case "version", "--version":
		fmt.Fprintln(stdout, "lbauthz", version)
		return exitOK
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return exitOK
	}
	fmt.Fprintf(stderr, "lbauthz: unknown command %q\n\n%s", args[0], usage)
	return exitUsage
}
