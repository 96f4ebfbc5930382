package testenv

import (
	"bytes"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// ExpressOptions configures the real Express app of StartExpressApp.
type ExpressOptions struct {
	// Store is "redis" (connect-redis) or "pg" (connect-pg-simple, which
	// creates its "session" table).
	Store string
	// RedisURL (redis://host:port) or PostgresURL (with the password).
	RedisURL    string
	PostgresURL string
	// Secrets is express-session's `secret` list; the first one signs.
	Secrets []string
	// MaxAge is the session cookie's maxAge (none when zero).
	MaxAge time.Duration
}

// ExpressApp is a running Express app with express-session
// (internal/testenv/js/express-session-app.mjs).
type ExpressApp struct {
	URL string // http://127.0.0.1:PORT
	*Process
}

// StartExpressApp starts the app on a free loopback port.
func StartExpressApp(t testing.TB, opts ExpressOptions) *ExpressApp {
	t.Helper()
	node, ok := LookPath("node")
	if !ok {
		Missing(t, "node (Node 20)")
	}
	for _, m := range []string{"express", "express-session", "connect-redis", "redis", "connect-pg-simple", "pg"} {
		if _, err := os.Stat(filepath.Join(RepoRoot(), "node_modules", m, "package.json")); err != nil {
			Missing(t, "npm package %s (run npm ci)", m)
		}
	}
	addr := FreeAddr(t)
	_, port, _ := net.SplitHostPort(addr)
	secrets, _ := json.Marshal(opts.Secrets)
	cmd := exec.Command(node, filepath.Join(RepoRoot(), "internal", "testenv", "js", "express-session-app.mjs"))
	cmd.Env = append(os.Environ(), "PORT="+port, "STORE="+opts.Store, "REDIS_URL="+opts.RedisURL,
		"PG_URL="+opts.PostgresURL, "SECRETS="+string(secrets))
	if opts.MaxAge > 0 {
		cmd.Env = append(cmd.Env, "MAX_AGE_MS="+strconv.FormatInt(opts.MaxAge.Milliseconds(), 10))
	}
	p := Start(t, "express-session app", cmd)
	a := &ExpressApp{URL: "http://" + addr, Process: p}
	WaitHTTP(t, p, a.URL+"/health", 20*time.Second)
	return a
}

// Login logs user in and returns the value of the connect.sid cookie the
// app set, as the browser sends it back (URL-encoded: "s%3A...").
func (a *ExpressApp) Login(t testing.TB, user map[string]any) string {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"user": user})
	resp, err := http.Post(a.URL+"/login", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatalf("express login: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("express login answered %d", resp.StatusCode)
	}
	for _, sc := range resp.Header.Values("Set-Cookie") {
		name, rest, _ := strings.Cut(sc, "=")
		if name == "connect.sid" {
			value, _, _ := strings.Cut(rest, ";")
			return value
		}
	}
	t.Fatal("express login set no connect.sid cookie")
	return ""
}

// Logout ends the session a cookie value names.
func (a *ExpressApp) Logout(t testing.TB, cookie string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, a.URL+"/logout", nil)
	req.Header.Set("Cookie", "connect.sid="+cookie)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("express logout: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("express logout answered %d", resp.StatusCode)
	}
}
