package testenv

import (
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
)

// FreeAddr returns a loopback address with a port that is free, for a
// program a test starts and that listens on the address it is given.
//
// The port is not one the kernel hands out by itself: a port found by
// listening on port 0 and closing comes from the ephemeral range
// (net.ipv4.ip_local_port_range), which every bind to port 0 and every
// outgoing connection draws from, so another package's test, running in
// parallel, or a client socket could take it before the program binds it.
// The ports here are below that range, and each is held by a lock file for
// the life of the test process, so two test processes never pick the same
// one. Without a range below the ephemeral one, it falls back to port 0.
func FreeAddr(t testing.TB) string {
	t.Helper()
	ports.Lock()
	defer ports.Unlock()
	if addr, ok := reservePort(); ok {
		return addr
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("finding a free port: %v", err)
	}
	defer l.Close()
	return l.Addr().String()
}

const (
	// lowestPort is the bottom of the ports FreeAddr hands out: above the
	// usual fixed ports of services on a developer's machine.
	lowestPort = 20000
	// portsDir holds the lock files of the ports in use.
	portsDir = "lbauthz-test-ports"
)

var ports struct {
	sync.Mutex
	// held are the lock files of the ports this process reserved, kept
	// open (and locked) until it exits.
	held []*os.File
}

// reservePort finds a port below the ephemeral range that no other test
// process holds and that nothing listens on, and holds it.
func reservePort() (string, bool) {
	top := ephemeralLow() - 1
	if top <= lowestPort {
		return "", false
	}
	dir := filepath.Join(os.TempDir(), portsDir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", false
	}
	n := top - lowestPort + 1
	start := rand.IntN(n)
	for i := range n {
		port := lowestPort + (start+i)%n
		f, err := os.OpenFile(filepath.Join(dir, strconv.Itoa(port)), os.O_CREATE|os.O_RDWR, 0o644)
		if err != nil {
			return "", false
		}
		if syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) != nil {
			f.Close() // held by another test process
			continue
		}
		addr := "127.0.0.1:" + strconv.Itoa(port)
		l, err := net.Listen("tcp", addr)
		if err != nil {
			f.Close() // something else listens there
			continue
		}
		l.Close()
		ports.held = append(ports.held, f)
		return addr, true
	}
	return "", false
}

// ephemeralLow is the lowest port of the kernel's ephemeral range, or 0
// when it cannot be read.
func ephemeralLow() int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) != 2 {
		return 0
	}
	low, err := strconv.Atoi(f[0])
	if err != nil {
		return 0
	}
	return low
}
