package testenv

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// PostgresBinDir is where Debian installs PostgreSQL 15's server programs.
const PostgresBinDir = "/usr/lib/postgresql/15/bin"

// Postgres user, password and database of every test server. The password
// is a test value, not a secret.
const (
	PostgresUser     = "lbauthz"
	PostgresPassword = "lbauthz-test-password"
	PostgresDatabase = "postgres"
)

// Postgres is a real PostgreSQL server owned by one test: a loopback port
// and a data folder of its own (a copy of a cluster made once by initdb),
// password authentication (scram-sha-256). PostgreSQL refuses to run as
// root: as root, it runs as the "postgres" user (or "nobody").
type Postgres struct {
	Addr string // 127.0.0.1:PORT
	dir  string // the data folder
	cred *syscall.Credential
	proc *Process
}

// DSN returns a connection string without the password (PostgresPassword).
func (p *Postgres) DSN() string {
	return fmt.Sprintf("postgres://%s@%s/%s?sslmode=disable", PostgresUser, p.Addr, PostgresDatabase)
}

// URL returns a connection string with the password, for the test's own
// client.
func (p *Postgres) URL() string {
	return fmt.Sprintf("postgres://%s:%s@%s/%s?sslmode=disable", PostgresUser, PostgresPassword, p.Addr, PostgresDatabase)
}

var pgTemplate struct {
	once sync.Once
	dir  string
	err  error
	cred *syscall.Credential
}

// StartPostgres starts PostgreSQL on a free loopback port and waits until it
// accepts connections.
func StartPostgres(t testing.TB) *Postgres {
	t.Helper()
	SkipShort(t, "PostgreSQL")
	for _, prog := range []string{"initdb", "postgres"} {
		if _, err := os.Stat(filepath.Join(PostgresBinDir, prog)); err != nil {
			Missing(t, "PostgreSQL 15 (%s/%s; apt-get install postgresql)", PostgresBinDir, prog)
		}
	}
	pgTemplate.once.Do(func() { pgTemplate.dir, pgTemplate.cred, pgTemplate.err = initPostgresTemplate() })
	if pgTemplate.err != nil {
		t.Fatalf("initdb: %v", pgTemplate.err)
	}
	root, err := os.MkdirTemp("", "lbauthz-pg-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(root) })
	if err := os.Chmod(root, 0o755); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(root, "data")
	if out, err := exec.Command("cp", "-a", pgTemplate.dir, dir).CombinedOutput(); err != nil {
		t.Fatalf("copying the PostgreSQL template: %v: %s", err, out)
	}
	p := &Postgres{Addr: FreeAddr(t), dir: dir, cred: pgTemplate.cred}
	p.Start(t)
	return p
}

// Start starts the server again, on the same address and data, after Stop.
func (p *Postgres) Start(t testing.TB) {
	t.Helper()
	_, port, _ := net.SplitHostPort(p.Addr)
	cmd := exec.Command(filepath.Join(PostgresBinDir, "postgres"),
		"-D", p.dir, "-p", port,
		"-c", "listen_addresses=127.0.0.1",
		"-c", "unix_socket_directories=",
		"-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
		"-c", "shared_buffers=16MB", "-c", "max_connections=40",
		"-c", "log_min_messages=warning")
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	if p.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: p.cred}
	}
	proc := Start(t, "postgres", cmd)
	// Fast shutdown (SIGINT) before Start's own cleanup: SIGTERM would wait
	// for the test's pooled connections to go away.
	t.Cleanup(p.Stop)
	p.proc = proc
	// The port opens before the server takes logins: wait for its line.
	WaitLogLine(t, proc, "ready to accept connections", p.Addr, 20*time.Second)
}

// Stop stops the server with a fast shutdown (open connections are cut).
func (p *Postgres) Stop() {
	if p.proc == nil || p.proc.Exited() {
		return
	}
	p.signalAll(syscall.SIGCONT) // a paused server cannot stop
	_ = syscall.Kill(p.proc.Cmd.Process.Pid, syscall.SIGINT)
	select {
	case <-p.proc.done:
	case <-time.After(10 * time.Second):
		p.proc.Kill()
	}
}

// Pause freezes the server and its backends (SIGSTOP): connections stay
// open but nothing is answered. Resume undoes it.
func (p *Postgres) Pause() { p.signalAll(syscall.SIGSTOP) }

// Resume lets a paused server go on (SIGCONT).
func (p *Postgres) Resume() { p.signalAll(syscall.SIGCONT) }

// signalAll signals the postmaster and its children: each backend runs in a
// session of its own, so the process group does not hold them.
func (p *Postgres) signalAll(sig syscall.Signal) {
	pid := p.proc.Cmd.Process.Pid
	_ = syscall.Kill(pid, sig)
	for _, child := range childrenOf(pid) {
		_ = syscall.Kill(child, sig)
	}
}

// childrenOf lists the processes whose parent is pid (from /proc).
func childrenOf(pid int) []int {
	var out []int
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, f := range stats {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		// "pid (comm) state ppid ...": comm may hold spaces, so read after ")".
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		fields := strings.Fields(s[i+1:])
		if len(fields) < 2 {
			continue
		}
		if ppid, _ := strconv.Atoi(fields[1]); ppid == pid {
			child, _ := strconv.Atoi(filepath.Base(filepath.Dir(f)))
			out = append(out, child)
		}
	}
	return out
}

// initPostgresTemplate runs initdb once per test binary into a folder that
// every StartPostgres copies. As root, the cluster belongs to the
// "postgres" user (or "nobody"), which runs the server.
func initPostgresTemplate() (string, *syscall.Credential, error) {
	var cred *syscall.Credential
	uid, gid := -1, -1
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			if u, err = user.Lookup("nobody"); err != nil {
				return "", nil, fmt.Errorf("running as root and no postgres or nobody user: %v", err)
			}
		}
		uid, _ = strconv.Atoi(u.Uid)
		gid, _ = strconv.Atoi(u.Gid)
		cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	}
	// One per test binary run (about 40 MB); those of runs more than an
	// hour old are removed here, as nothing runs when a test binary ends.
	if old, _ := filepath.Glob(filepath.Join(os.TempDir(), "lbauthz-pg-template-*")); len(old) > 0 {
		for _, d := range old {
			if st, err := os.Stat(d); err == nil && time.Since(st.ModTime()) > time.Hour {
				_ = os.RemoveAll(d)
			}
		}
	}
	root, err := os.MkdirTemp("", "lbauthz-pg-template-")
	if err != nil {
		return "", nil, err
	}
	if err := os.Chmod(root, 0o755); err != nil {
		return "", nil, err
	}
	pwfile := filepath.Join(root, "pwfile")
	if err := os.WriteFile(pwfile, []byte(PostgresPassword+"\n"), 0o600); err != nil {
		return "", nil, err
	}
	dir := filepath.Join(root, "data")
	if err := os.Mkdir(dir, 0o700); err != nil {
		return "", nil, err
	}
	if cred != nil {
		for _, f := range []string{pwfile, dir} {
			if err := os.Chown(f, uid, gid); err != nil {
				return "", nil, err
			}
		}
	}
	cmd := exec.Command(filepath.Join(PostgresBinDir, "initdb"),
		"-D", dir, "-U", PostgresUser, "--pwfile", pwfile,
		"--auth=scram-sha-256", "-E", "UTF8", "--no-locale", "--no-sync")
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	if cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", nil, fmt.Errorf("%v: %s", err, tail(string(out), 2000))
	}
	_ = os.Remove(pwfile)
	return dir, cred, nil
}
