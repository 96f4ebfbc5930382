package testenv

import (
	"context"
	"database/sql"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	_ "github.com/go-sql-driver/mysql"
)

// MariaDB user, password and database of every test server. The password
// is a test value, not a secret.
const (
	MariaDBUser     = "lbauthz"
	MariaDBPassword = "lbauthz-test-password"
	MariaDBDatabase = "lbauthz"
)

// MariaDB is a real MariaDB server owned by one test: a loopback port, a
// data folder of its own made by mariadb-install-db, and a user with a
// password owning one database. As root, the server runs as the "mysql"
// user (or "nobody"), which owns the data folder.
type MariaDB struct {
	Addr    string // 127.0.0.1:PORT
	dir     string // the data folder
	runAs   string // the --user of mariadbd, as root
	mariadb string // the server program
	proc    *Process
}

// DSN returns a go-sql-driver/mysql connection string without the password
// (MariaDBPassword).
func (m *MariaDB) DSN() string {
	return fmt.Sprintf("%s@tcp(%s)/%s", MariaDBUser, m.Addr, MariaDBDatabase)
}

// DSNWithPassword returns a connection string with the password, allowing
// several statements in one query, for the test's own client.
func (m *MariaDB) DSNWithPassword() string {
	return fmt.Sprintf("%s:%s@tcp(%s)/%s?multiStatements=true&parseTime=true", MariaDBUser, MariaDBPassword, m.Addr, MariaDBDatabase)
}

// Exec runs statements (several may be given at once) as the test's own
// client, and fails the test if they fail.
func (m *MariaDB) Exec(t testing.TB, statements string, args ...any) {
	t.Helper()
	db, err := sql.Open("mysql", m.DSNWithPassword())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := db.ExecContext(ctx, statements, args...); err != nil {
		t.Fatalf("%s: %v", statements, err)
	}
}

// StartMariaDB starts MariaDB on a free loopback port and waits until it
// accepts connections.
func StartMariaDB(t testing.TB) *MariaDB {
	t.Helper()
	SkipShort(t, "MariaDB")
	server, ok1 := LookPath("mariadbd")
	install, ok2 := LookPath("mariadb-install-db")
	if !ok1 || !ok2 {
		Missing(t, "MariaDB (mariadbd and mariadb-install-db; apt-get install mariadb-server)")
	}
	m := &MariaDB{Addr: FreeAddr(t), mariadb: server}
	root, err := os.MkdirTemp("", "lbauthz-mariadb-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(root) })
	if err := os.Chmod(root, 0o755); err != nil {
		t.Fatal(err)
	}
	m.dir = filepath.Join(root, "data")
	if err := os.Mkdir(m.dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("mysql")
		if err != nil {
			if u, err = user.Lookup("nobody"); err != nil {
				t.Fatalf("running as root and no mysql or nobody user: %v", err)
			}
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(m.dir, uid, gid); err != nil {
			t.Fatal(err)
		}
		m.runAs = u.Username
	}
	// The grant tables are not loaded while mariadb-install-db runs the
	// extra file: FLUSH PRIVILEGES loads them so CREATE USER works.
	initSQL := filepath.Join(root, "init.sql")
	if err := os.WriteFile(initSQL, []byte(fmt.Sprintf(`FLUSH PRIVILEGES;
CREATE DATABASE %[1]s;
CREATE USER '%[2]s'@'%%' IDENTIFIED BY '%[3]s';
GRANT ALL ON %[1]s.* TO '%[2]s'@'%%';
`, MariaDBDatabase, MariaDBUser, MariaDBPassword)), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"--no-defaults", "--datadir=" + m.dir,
		"--auth-root-authentication-method=normal", "--skip-test-db",
		"--extra-file=" + initSQL}
	args = append(args, m.serverFlags()...)
	cmd := exec.Command(install, args...)
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("mariadb-install-db: %v: %s", err, tail(string(out), 3000))
	}
	m.Start(t)
	return m
}

// serverFlags are the options of both mariadb-install-db (which passes them
// on) and mariadbd: small files, no durability, no name lookups.
func (m *MariaDB) serverFlags() []string {
	flags := []string{"--skip-name-resolve",
		"--innodb-log-file-size=4M", "--innodb-data-file-path=ibdata1:4M:autoextend",
		"--innodb-buffer-pool-size=16M", "--innodb-flush-log-at-trx-commit=0",
		"--innodb-doublewrite=0", "--max-connections=40"}
	if m.runAs != "" {
		flags = append(flags, "--user="+m.runAs)
	}
	return flags
}

// Start starts the server again, on the same address and data, after Stop.
func (m *MariaDB) Start(t testing.TB) {
	t.Helper()
	_, port, _ := net.SplitHostPort(m.Addr)
	args := []string{"--no-defaults", "--datadir=" + m.dir,
		"--socket=" + filepath.Join(m.dir, "sock"), "--pid-file=" + filepath.Join(m.dir, "pid"),
		"--port=" + port, "--bind-address=127.0.0.1"}
	args = append(args, m.serverFlags()...)
	cmd := exec.Command(m.mariadb, args...)
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	proc := Start(t, "mariadbd", cmd)
	t.Cleanup(m.Stop)
	m.proc = proc
	WaitLogLine(t, proc, "ready for connections", m.Addr, 20*time.Second)
}

// Stop stops the server (SIGTERM: open connections are cut).
func (m *MariaDB) Stop() {
	if m.proc == nil || m.proc.Exited() {
		return
	}
	m.Resume() // a paused server cannot stop
	_ = syscall.Kill(m.proc.Cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-m.proc.done:
	case <-time.After(10 * time.Second):
		m.proc.Kill()
	}
}

// Pause freezes the server (SIGSTOP): connections stay open but nothing is
// answered. Resume undoes it.
func (m *MariaDB) Pause() { _ = syscall.Kill(m.proc.Cmd.Process.Pid, syscall.SIGSTOP) }

// Resume lets a paused server go on (SIGCONT).
func (m *MariaDB) Resume() { _ = syscall.Kill(m.proc.Cmd.Process.Pid, syscall.SIGCONT) }
