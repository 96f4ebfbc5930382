package testenv

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// DevSecretKey is the only secret key the Liveblocks dev server accepts.
const DevSecretKey = "sk_localdev"

// DevServer is a running Liveblocks dev server (npm `liveblocks` on Bun).
type DevServer struct {
	URL  string // http://127.0.0.1:PORT
	Addr string
	*Process
}

// StartLiveblocks starts the real Liveblocks dev server on a free loopback
// port, with no persistence, and waits until /health answers.
func StartLiveblocks(t testing.TB) *DevServer {
	t.Helper()
	return StartLiveblocksAt(t, FreeAddr(t))
}

// StartLiveblocksAt starts the dev server on addr (host:port); tests that
// restart it use the same address again.
func StartLiveblocksAt(t testing.TB, addr string) *DevServer {
	t.Helper()
	rootDir := RepoRoot()
	cli := filepath.Join(rootDir, "node_modules", "liveblocks", "dist", "index.js")
	bun := filepath.Join(rootDir, "node_modules", ".bin", "bun")
	if _, err := os.Stat(cli); err != nil {
		Missing(t, "the Liveblocks dev server (node_modules/liveblocks; run npm ci)")
	}
	if _, err := os.Stat(bun); err != nil {
		Missing(t, "bun (node_modules/.bin/bun; run npm ci)")
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatalf("dev server address %q: %v", addr, err)
	}
	cmd := exec.Command(bun, cli, "dev", "--port", port, "--host", host, "--no-check", "--no-persist")
	cmd.Dir = t.TempDir()
	cmd.Env = append(os.Environ(), "PATH="+filepath.Dir(bun)+string(os.PathListSeparator)+os.Getenv("PATH"))
	p := Start(t, "liveblocks dev", cmd)
	d := &DevServer{URL: "http://" + addr, Addr: addr, Process: p}
	WaitHTTP(t, p, d.URL+"/health", 20*time.Second)
	return d
}
