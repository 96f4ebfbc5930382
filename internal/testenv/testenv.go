// Package testenv starts the real parts the tests talk to (the Liveblocks dev
// server, nginx, Redis, PostgreSQL, ...) on loopback ports, each owned by one
// test and stopped when it ends.
//
// A part that is not installed makes the test skip, unless LBAUTHZ_TEST_STRICT
// is set (as `make test` and CI do), where it makes the test fail: a green run
// in CI means every real part was really there.
package testenv

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Strict reports whether missing real parts must fail the test instead of
// skipping it.
func Strict() bool { return os.Getenv("LBAUTHZ_TEST_STRICT") != "" }

// Missing skips the test, or fails it in strict mode, because a real part is
// not available.
func Missing(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if Strict() {
		t.Fatalf("required test dependency missing (LBAUTHZ_TEST_STRICT is set): %s", msg)
	}
	t.Skipf("skipping: %s (run `make test` to install it)", msg)
}

var rootOnce sync.Once
var root string

// RepoRoot returns the repository's top folder (the one holding go.mod).
func RepoRoot() string {
	rootOnce.Do(func() {
		_, file, _, _ := runtime.Caller(0)
		root = filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
	})
	return root
}

// Process is a program started for one test (Start), or for the benchmark
// harness (StartLogged).
type Process struct {
	Name string
	Cmd  *exec.Cmd
	// output returns what the process printed so far.
	output func() string
	done   chan struct{}
	err    error
}

// Output returns what the process printed so far (stdout and stderr).
func (p *Process) Output() string { return p.output() }

// Pid returns the process id of the program (and of its process group).
func (p *Process) Pid() int { return p.Cmd.Process.Pid }

// Exited reports whether the process has ended.
func (p *Process) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Stop sends SIGTERM to the process group, then SIGKILL after a grace period.
func (p *Process) Stop() {
	if p.Exited() {
		return
	}
	_ = syscall.Kill(-p.Cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
		_ = syscall.Kill(-p.Cmd.Process.Pid, syscall.SIGKILL)
		<-p.done
	}
}

// Kill sends SIGKILL to the process group and waits for it to end.
func (p *Process) Kill() {
	if p.Exited() {
		return
	}
	_ = syscall.Kill(-p.Cmd.Process.Pid, syscall.SIGKILL)
	<-p.done
}

// Wait waits for the process to end and returns its error.
func (p *Process) Wait() error { <-p.done; return p.err }

// SkipShort skips the test under `go test -short` (make test-unit): it is
// about to start the real part name. Start calls it, so every test that runs
// a real part is left out of the fast run.
func SkipShort(t testing.TB, name string) {
	t.Helper()
	if testing.Short() {
		t.Skipf("skipping under -short: starts %s", name)
	}
}

// Start runs a program in its own process group, stopped when the test ends.
// Its output is shown when the test fails. Under -short it skips the test
// instead (SkipShort).
func Start(t testing.TB, name string, cmd *exec.Cmd) *Process {
	t.Helper()
	SkipShort(t, name)
	out := &lockedBuffer{}
	p, err := start(name, cmd, out, out.String)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		p.Stop()
		if t.Failed() {
			t.Logf("--- output of %s ---\n%s", name, tail(p.Output(), 4000))
		}
	})
	return p
}

// StartLogged runs a program in its own process group for a program that is
// not a test (the benchmark harness): its output goes to the file logPath,
// which Output reads back, and the caller stops it.
func StartLogged(name string, cmd *exec.Cmd, logPath string) (*Process, error) {
	f, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	p, err := start(name, cmd, f, func() string {
		b, _ := os.ReadFile(logPath)
		return string(b)
	})
	if err != nil {
		f.Close()
		return nil, err
	}
	go func() { <-p.done; f.Close() }()
	return p, nil
}

// start starts cmd with its output to out, which output reads back.
func start(name string, cmd *exec.Cmd, out io.Writer, output func() string) (*Process, error) {
	p := &Process{Name: name, Cmd: cmd, output: output, done: make(chan struct{})}
	cmd.Stdout = out
	cmd.Stderr = out
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Setpgid = true // keeps what the caller set (a Credential)
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	go func() { p.err = cmd.Wait(); close(p.done) }()
	return p, nil
}

// WaitHTTP polls url until it answers 200 or the timeout passes.
func WaitHTTP(t testing.TB, p *Process, url string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if p != nil && p.Exited() {
			t.Fatalf("%s exited before answering %s:\n%s", p.Name, url, tail(p.Output(), 4000))
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := http.DefaultClient.Do(req)
		cancel()
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(25 * time.Millisecond)
	}
	t.Fatalf("%s did not answer 200 within %s", url, timeout)
}

// WaitTCP polls addr until it accepts a connection or the timeout passes.
func WaitTCP(t testing.TB, p *Process, addr string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if p != nil && p.Exited() {
			t.Fatalf("%s exited before listening on %s:\n%s", p.Name, addr, tail(p.Output(), 4000))
		}
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return
		}
		time.Sleep(25 * time.Millisecond)
	}
	t.Fatalf("nothing listened on %s within %s", addr, timeout)
}

// WaitLogLine waits until the process has printed line (a server saying it
// is ready: its port may open before it takes logins), then until addr
// accepts connections.
func WaitLogLine(t testing.TB, p *Process, line, addr string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if p.Exited() {
			t.Fatalf("%s exited before accepting connections on %s:\n%s", p.Name, addr, tail(p.Output(), 4000))
		}
		if strings.Contains(p.Output(), line) {
			WaitTCP(t, p, addr, time.Until(deadline))
			return
		}
		time.Sleep(25 * time.Millisecond)
	}
	t.Fatalf("%s did not get ready on %s within %s:\n%s", p.Name, addr, timeout, tail(p.Output(), 4000))
}

// LookPath finds a program on PATH or in the usual system folders.
func LookPath(name string) (string, bool) {
	if p, err := exec.LookPath(name); err == nil {
		return p, true
	}
	for _, dir := range []string{"/usr/sbin", "/sbin", "/usr/local/sbin", "/usr/local/bin", filepath.Join(os.Getenv("HOME"), "go", "bin")} {
		p := filepath.Join(dir, name)
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p, true
		}
	}
	return "", false
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "..." + s[len(s)-n:]
}

type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return strings.Clone(b.buf.String())
}

// GoBuild builds the package pkg of this repository (like "./cmd/lbauthz")
// into a program of a temporary folder and returns its path.
func GoBuild(t testing.TB, pkg string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), filepath.Base(pkg))
	cmd := exec.Command("go", "build", "-o", bin, pkg)
	cmd.Dir = RepoRoot()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, out)
	}
	return bin
}
