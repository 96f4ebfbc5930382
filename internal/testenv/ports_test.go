package testenv

import (
	"net"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
)

// FreeAddr's ports are below the kernel's ephemeral range, distinct, free
// to listen on, and held against every other test process: another open of
// a port's lock file cannot lock it.
func TestFreeAddr_PortsBelowTheEphemeralRangeHeldForThisProcess(t *testing.T) {
	low := ephemeralLow()
	if low <= lowestPort+1 {
		t.Skipf("no port range below the ephemeral one (it starts at %d)", low)
	}
	seen := map[int]bool{}
	for range 50 {
		addr := FreeAddr(t)
		host, p, err := net.SplitHostPort(addr)
		if err != nil || host != "127.0.0.1" {
			t.Fatalf("FreeAddr = %q", addr)
		}
		port, _ := strconv.Atoi(p)
		if port < lowestPort || port >= low {
			t.Fatalf("port %d is not in [%d, %d)", port, lowestPort, low)
		}
		if seen[port] {
			t.Fatalf("port %d handed out twice", port)
		}
		seen[port] = true
		l, err := net.Listen("tcp", addr)
		if err != nil {
			t.Fatalf("the port handed out is not free: %v", err)
		}
		l.Close()
		f, err := os.Open(filepath.Join(os.TempDir(), portsDir, p))
		if err != nil {
			t.Fatal(err)
		}
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		f.Close()
		if err == nil {
			t.Fatalf("port %d's lock file could be locked again: another test process could take it", port)
		}
	}
}
