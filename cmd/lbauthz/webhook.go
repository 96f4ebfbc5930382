package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"
)

// injectorBinary is the sidecar injector's own binary, installed beside
// lbauthz (the image holds both at its root).
const injectorBinary = "lbauthz-injector"

// cmdWebhook is what `lbauthz webhook` has become: the injector moved to its
// own binary, so that the sidecar does not link the Kubernetes API types. It
// runs lbauthz-injector with the same arguments when it is installed beside
// lbauthz, so that a Deployment still running `lbauthz webhook` keeps
// working for this release, and otherwise says where the injector went.
func cmdWebhook(args []string, _, stderr io.Writer) int {
	fmt.Fprintf(stderr, "lbauthz webhook: the sidecar injector is now the %s binary; run %s %s instead (this command will be removed)\n",
		injectorBinary, injectorBinary, "[flags]")
	self, err := os.Executable()
	if err != nil {
		return exitUsage
	}
	path := filepath.Join(filepath.Dir(self), injectorBinary)
	if _, err := os.Stat(path); err != nil {
		fmt.Fprintf(stderr, "lbauthz webhook: %s is not installed beside %s\n", injectorBinary, self)
		return exitUsage
	}
	// Exec replaces this process: the injector gets its signals and its exit code.
	err = syscall.Exec(path, append([]string{path}, args...), os.Environ())
	fmt.Fprintf(stderr, "lbauthz webhook: running %s: %v\n", path, err)
	return exitError
}
