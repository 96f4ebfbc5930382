package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"

	"github.com/lbauthz/lbauthz/internal/authztest"
	"github.com/lbauthz/lbauthz/internal/testenv"
)

// jwtShaped matches a JWT (a session or a Liveblocks token) anywhere.
var jwtShaped = regexp.MustCompile(`eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}`)

// TestServe_LogsNeverHoldCookiesTokensOrSecrets runs the sidecar at debug
// level through a mixed workload (valid, expired and forged sessions,
// tokens from the real dev server, refusals, a secret rotated by a reload,
// refused configs, explain) and looks for every secret involved in its whole
// output.
func TestServe_LogsNeverHoldCookiesTokensOrSecrets(t *testing.T) {
	dev := testenv.StartLiveblocks(t)
	cfgPath, grpcAddr, httpAddr := writeConfig(t, `log: { level: debug, access_level: debug }
auth_limits: { per_user: { per_minute: 1, burst: 2 } }
`)
	hmacFile := filepath.Join(filepath.Dir(cfgPath), "hmac")
	cmd := exec.Command(binary, "serve", "--config", cfgPath)
	cmd.Env = append(filterEnv(os.Environ(), "LIVEBLOCKS_"), "LIVEBLOCKS_SECRET_KEY="+testenv.DevSecretKey, "LIVEBLOCKS_BASE_URL="+dev.URL)
	p := testenv.Start(t, "lbauthz serve", cmd)
	testenv.WaitHTTP(t, p, "http://"+httpAddr+"/readyz", 10*time.Second)
	c := authv3.NewAuthorizationClient(grpcConn(t, grpcAddr))

	secrets := []string{testenv.DevSecretKey, authztest.HMACSecret}
	session := func(sign func(map[string]any) string, sub string, ttl time.Duration) string {
		claims := authztest.Alice()
		claims["sub"], claims["exp"] = sub, time.Now().Add(ttl).Unix()
		s := sign(claims)
		secrets = append(secrets, s)
		return s
	}
	alice := session(authztest.Session, "alice", time.Hour)
	bob := session(authztest.Session, "bob", time.Hour)
	expired := session(authztest.Session, "carol", -time.Minute)
	forged := alice[:strings.LastIndex(alice, ".")] + ".c2lnbmF0dXJlLW9mLW5vYm9keQ"
	secrets = append(secrets, forged)

	check := func(method, path string, h map[string]string, body string) *authv3.CheckResponse {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		resp, err := c.Check(ctx, authztest.CheckRequest(method, path, h, body))
		if err != nil {
			t.Fatal(err)
		}
		if tok := tokenIn(resp.GetDeniedResponse().GetBody()); tok != "" {
			secrets = append(secrets, tok)
		}
		return resp
	}
	for _, s := range []string{alice, bob, expired, forged, "made-up-session-id-0123456789"} {
		check("GET", "/docs/1?session="+s, map[string]string{"cookie": "theme=dark; session=" + s}, "")
		check("POST", "/api/liveblocks-auth", map[string]string{"cookie": "session=" + s}, `{"room":"r1"}`)
	}
	secrets = append(secrets, "made-up-session-id-0123456789")
	for range 2 { // the second is over alice's budget
		check("POST", "/api/liveblocks-auth", map[string]string{"cookie": "session=" + alice}, `{}`)
	}
	check("POST", "/api/liveblocks-auth", map[string]string{"cookie": "session=" + bob, "origin": "https://evil.test", "sec-fetch-site": "cross-site"}, `{}`)

	// The HTTP doors.
	httpSend := func(method, path string, h http.Header, body string) {
		req, err := http.NewRequest(method, "http://"+httpAddr+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header = h
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if tok := tokenIn(string(b)); tok != "" {
			secrets = append(secrets, tok)
		}
	}
	dave := session(authztest.Session, "dave", time.Hour)
	httpSend("POST", "/api/liveblocks-auth", http.Header{"Cookie": {"session=" + dave}}, `{"room":"r2"}`)
	httpSend("POST", "/api/liveblocks-auth", http.Header{"Cookie": {"session=" + dave}}, strings.Repeat("x", 5000))
	httpSend("GET", "/check/nginx", http.Header{"Cookie": {"session=" + dave}, "X-Original-Uri": {"/a"}, "X-Original-Method": {"GET"}}, "")
	httpSend("GET", "/check/forward", http.Header{"Cookie": {"session=" + forged}, "X-Forwarded-Uri": {"/a"}, "X-Forwarded-Method": {"GET"}}, "")

	// The HMAC secret rotated: the watch reloads, and sessions signed with
	// the new secret are valid.
	newSecret := "rotated-session-secret-9876543210-fedcba-9876543210"
	secrets = append(secrets, newSecret)
	writeAtomically(t, hmacFile, newSecret+"\n")
	erin := session(func(c map[string]any) string { return authztest.SignHS(newSecret, "HS256", c) }, "erin", time.Hour)
	waitFor(t, "the rotated secret to be in use", func() bool {
		return check("GET", "/", map[string]string{"cookie": "session=" + erin}, "").GetOkResponse().GetHeaders() != nil
	})
	check("POST", "/api/liveblocks-auth", map[string]string{"cookie": "session=" + erin}, `{"room":"r3"}`)

	// Refused configs: a misspelt key, a secret file that cannot be read.
	orig, err := os.ReadFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	writeAtomically(t, cfgPath, string(orig)+"sesion: {}\n")
	waitFor(t, "the first refusal", func() bool { return strings.Count(p.Output(), "config reload refused") == 1 })
	writeAtomically(t, cfgPath, strings.Replace(string(orig), hmacFile, hmacFile+".missing", 1))
	waitFor(t, "the second refusal", func() bool { return strings.Count(p.Output(), "config reload refused") == 2 })

	// explain, given the cookie on its command line and on standard input.
	var explained strings.Builder
	for _, args := range [][]string{
		{"explain", "--config", cfgPath, "--cookie", "session=" + erin, "--room", "r4", "--call-liveblocks"},
		{"explain", "--config", cfgPath, "--cookie", "-", "--path", "/docs/1", "--json"},
	} {
		writeAtomically(t, cfgPath, string(orig)) // explain reads the good config
		ex := exec.Command(binary, args...)
		ex.Env = cmd.Env
		ex.Stdin = strings.NewReader(erin + "\n")
		ex.Stdout, ex.Stderr = &explained, &explained
		if err := ex.Run(); err != nil {
			t.Fatalf("explain: %v\n%s", err, explained.String())
		}
	}
	if !strings.Contains(explained.String(), "user erin") || !strings.Contains(explained.String(), `"user_id": "erin"`) {
		t.Fatalf("explain did not find erin's session:\n%s", explained.String())
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := p.Wait(); err != nil {
		t.Fatalf("exit: %v", err)
	}
	out := p.Output() + explained.String()

	// The workload was logged: an access line per decision, at debug.
	if n := strings.Count(out, `"msg":"decision"`); n < 15 {
		t.Fatalf("%d access lines, want one per decision", n)
	}
	for _, want := range []string{`"outcome":"token_issued"`, `"outcome":"rate_limited"`, `"outcome":"cross_origin"`, `"user":"alice"`, `"outcome":"unauthorized"`} {
		if !strings.Contains(out, want) {
			t.Fatalf("no access line with %s", want)
		}
	}
	if len(secrets) < 15 {
		t.Fatalf("only %d secrets collected: the workload did not issue its tokens", len(secrets))
	}
	for _, s := range secrets {
		if strings.Contains(out, s) {
			t.Fatalf("a secret (%d bytes, starting %q) appears in the output", len(s), s[:min(6, len(s))])
		}
	}
	if m := jwtShaped.FindString(out); m != "" {
		t.Fatalf("something shaped like a JWT appears in the output (starting %q)", m[:12])
	}
}

// tokenIn returns the token of a {"token": ...} body, or "".
func tokenIn(body string) string {
	var b struct{ Token string }
	if json.Unmarshal([]byte(body), &b) != nil {
		return ""
	}
	return b.Token
}
