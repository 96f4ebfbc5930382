package testenv

import (
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestStartLogged_OutputGoesToTheLogAndStopEndsTheGroup(t *testing.T) {
	// A shell and its child: Stop must end both, as it ends nginx and its
	// workers.
	cmd := exec.Command("sh", "-c", "echo ready; sleep 60 & wait")
	p, err := StartLogged("sh", cmd, filepath.Join(t.TempDir(), "sh.log"))
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(p.Output(), "ready") {
		if time.Now().After(deadline) {
			p.Kill()
			t.Fatalf("no output in the log: %q", p.Output())
		}
		time.Sleep(10 * time.Millisecond)
	}
	p.Stop()
	if !p.Exited() {
		t.Fatal("still running after Stop")
	}
	// The child got the same signal; it may take a moment to be gone.
	for deadline := time.Now().Add(5 * time.Second); syscall.Kill(-p.Pid(), 0) == nil; {
		if time.Now().After(deadline) {
			t.Fatal("a process of the group outlived Stop")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
