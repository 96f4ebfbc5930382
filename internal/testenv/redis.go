package testenv

import (
	"bufio"
	"net"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Redis is a real redis-server owned by one test: a loopback port and a
// data folder of its own, with an append-only file so that its data
// survives Stop and Start (a restart on the same address).
type Redis struct {
	Addr string // 127.0.0.1:PORT
	dir  string
	bin  string
	proc *Process
}

// StartRedis starts redis-server on a free loopback port and waits until it
// answers PING.
func StartRedis(t testing.TB) *Redis {
	t.Helper()
	bin, ok := LookPath("redis-server")
	if !ok {
		Missing(t, "redis-server (apt-get install redis-server)")
	}
	r := &Redis{Addr: FreeAddr(t), dir: t.TempDir(), bin: bin}
	r.Start(t)
	return r
}

// Start starts the server again, on the same address and data, after Stop.
func (r *Redis) Start(t testing.TB) {
	t.Helper()
	_, port, _ := net.SplitHostPort(r.Addr)
	cmd := exec.Command(r.bin,
		"--port", port, "--bind", "127.0.0.1", "--dir", r.dir,
		"--save", "", "--appendonly", "yes", "--appendfsync", "always",
		"--protected-mode", "no", "--daemonize", "no", "--logfile", "")
	r.proc = Start(t, "redis-server", cmd)
	waitRedis(t, r.proc, r.Addr, 10*time.Second)
}

// Stop stops the server (the test's later Start brings it back).
func (r *Redis) Stop() { r.proc.Stop() }

// Pause freezes the server (SIGSTOP): connections stay open but nothing is
// answered, as with an overloaded or hung Redis. Resume undoes it.
func (r *Redis) Pause() { _ = syscall.Kill(-r.proc.Cmd.Process.Pid, syscall.SIGSTOP) }

// Resume lets a paused server go on (SIGCONT).
func (r *Redis) Resume() { _ = syscall.Kill(-r.proc.Cmd.Process.Pid, syscall.SIGCONT) }

// URL returns the redis:// URL of the server.
func (r *Redis) URL() string { return "redis://" + r.Addr }

// waitRedis polls addr with PING until the server answers PONG (it accepts
// connections while still loading its data).
func waitRedis(t testing.TB, p *Process, addr string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if p.Exited() {
			t.Fatalf("redis-server exited before answering on %s:\n%s", addr, tail(p.Output(), 4000))
		}
		if c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond); err == nil {
			_ = c.SetDeadline(time.Now().Add(time.Second))
			_, _ = c.Write([]byte("PING\r\n"))
			line, _ := bufio.NewReader(c).ReadString('\n')
			c.Close()
			if strings.HasPrefix(line, "+PONG") {
				return
			}
		}
		time.Sleep(25 * time.Millisecond)
	}
	t.Fatalf("redis-server did not answer PING on %s within %s", addr, timeout)
}
