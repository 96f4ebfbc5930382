package main

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"google.golang.org/grpc/codes"

	"github.com/lbauthz/lbauthz/internal/authztest"
	"github.com/lbauthz/lbauthz/internal/testenv"
)

// methodCheck asks about GET path: the auth path answers 405, any other
// path is allowed. That tells which auth path the sidecar is using.
func methodCheck(t *testing.T, c authv3.AuthorizationClient, path string) (allowed bool, status int32) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	resp, err := c.Check(ctx, authztest.CheckRequest("GET", path, nil, ""))
	if err != nil {
		t.Fatalf("Check: %v", err)
	}
	if resp.GetStatus().GetCode() == int32(codes.OK) {
		return true, 0
	}
	return false, int32(resp.GetDeniedResponse().GetStatus().GetCode())
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

func TestServe_ReloadsOnSIGHUPAndFileChangeAndKeepsTheOldConfigOnError(t *testing.T) {
	cfgPath, grpcAddr, httpAddr := writeConfig(t, "")
	orig, err := os.ReadFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(binary, "serve", "--config", cfgPath)
	cmd.Env = append(filterEnv(os.Environ(), "LIVEBLOCKS_"), "LIVEBLOCKS_SECRET_KEY=sk_localdev", "LIVEBLOCKS_BASE_URL=http://127.0.0.1:9")
	p := testenv.Start(t, "lbauthz serve", cmd)
	testenv.WaitHTTP(t, p, "http://"+httpAddr+"/readyz", 10*time.Second)
	c := authv3.NewAuthorizationClient(grpcConn(t, grpcAddr))

	if allowed, st := methodCheck(t, c, "/api/liveblocks-auth"); allowed || st != 405 {
		t.Fatalf("before reload: GET on the auth path = allowed %v status %d, want 405", allowed, st)
	}

	// A new auth path, written to the file: the watch picks it up.
	withPath := strings.Replace(string(orig), "session:\n", "liveblocks:\n  auth_path: /api/lb-auth-v2\nsession:\n", 1)
	writeAtomically(t, cfgPath, withPath)
	waitFor(t, "the file change to be reloaded", func() bool {
		allowed, st := methodCheck(t, c, "/api/lb-auth-v2")
		return !allowed && st == 405
	})
	if allowed, _ := methodCheck(t, c, "/api/liveblocks-auth"); !allowed {
		t.Fatal("the old auth path is still answered after the reload")
	}

	// A broken config is refused; the one in use keeps serving.
	writeAtomically(t, cfgPath, withPath+"sesion:\n  cookie: x\n")
	waitFor(t, "the refusal to be logged", func() bool { return strings.Contains(p.Output(), "config reload refused") })
	if !strings.Contains(p.Output(), `unknown key \"sesion\"`) {
		t.Fatalf("the refusal does not say why:\n%s", p.Output())
	}
	if allowed, st := methodCheck(t, c, "/api/lb-auth-v2"); allowed || st != 405 {
		t.Fatal("a refused reload changed the config in use")
	}

	// SIGHUP reloads too (the file is fixed in place without the watch
	// seeing a rename: write, then signal).
	if err := os.WriteFile(cfgPath, orig, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "SIGHUP to reload", func() bool {
		allowed, st := methodCheck(t, c, "/api/liveblocks-auth")
		return !allowed && st == 405
	})
	if p.Exited() {
		t.Fatal("SIGHUP stopped the sidecar")
	}
}

func TestServe_ReloadUnderLoadFailsNoRequest(t *testing.T) {
	cfgPath, grpcAddr, httpAddr := writeConfig(t, "")
	orig, _ := os.ReadFile(cfgPath)
	cmd := exec.Command(binary, "serve", "--config", cfgPath)
	cmd.Env = append(filterEnv(os.Environ(), "LIVEBLOCKS_"), "LIVEBLOCKS_SECRET_KEY=sk_localdev", "LIVEBLOCKS_BASE_URL=http://127.0.0.1:9")
	p := testenv.Start(t, "lbauthz serve", cmd)
	testenv.WaitHTTP(t, p, "http://"+httpAddr+"/readyz", 10*time.Second)
	c := authv3.NewAuthorizationClient(grpcConn(t, grpcAddr))
	req := authztest.CheckRequest("GET", "/docs/1", map[string]string{"cookie": "session=" + authztest.Session(authztest.Alice())}, "")

	var ok, failed atomic.Int64
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for ctx.Err() == nil {
				cctx, ccancel := context.WithTimeout(context.Background(), 2*time.Second)
				resp, err := c.Check(cctx, req)
				ccancel()
				if err != nil || resp.GetStatus().GetCode() != int32(codes.OK) || len(resp.GetOkResponse().GetHeaders()) == 0 {
					failed.Add(1)
				} else {
					ok.Add(1)
				}
			}
		})
	}
	for i := range 6 {
		time.Sleep(150 * time.Millisecond)
		// Alternate the cache TTL so every reload builds a new engine.
		ttl := []string{"10s", "20s"}[i%2]
		writeAtomically(t, cfgPath, strings.Replace(string(orig), "session:\n", "session:\n  cache:\n    ttl: "+ttl+"\n", 1))
		if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(300 * time.Millisecond)
	cancel()
	wg.Wait()
	if n := strings.Count(p.Output(), "config reloaded"); n < 6 {
		t.Fatalf("%d reloads logged, want at least 6:\n%s", n, p.Output())
	}
	if failed.Load() != 0 || ok.Load() < 100 {
		t.Fatalf("during reloads: %d ok, %d failed (want none failed)", ok.Load(), failed.Load())
	}
}

// writeAtomically replaces a file as editors and Kubernetes do: a new file
// renamed over the old one.
func writeAtomically(t *testing.T, path, content string) {
	t.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// A reload that weakens a setting is logged as such, as at start: the
// warnings of the new config follow its "config reloaded" line.
func TestServe_ReloadLogsTheNewConfigsRiskySettings(t *testing.T) {
	cfgPath, _, httpAddr := writeConfig(t, "")
	orig, err := os.ReadFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	p := startServe(t, cfgPath, httpAddr)
	if strings.Contains(p.Output(), "risky setting") {
		t.Fatalf("the safe config was warned about:\n%s", p.Output())
	}
	risky := strings.Replace(string(orig), `    algorithms: ["HS256"]`+"\n", `    algorithms: ["HS256"]`+"\n    require_exp: false\n", 1)
	if risky == string(orig) {
		t.Fatal("the config did not change")
	}
	writeAtomically(t, cfgPath, risky)
	waitFor(t, "the reload's warning", func() bool {
		out := p.Output()
		i := strings.Index(out, "config reloaded")
		return i >= 0 && strings.Contains(out[i:], "risky setting") && strings.Contains(out[i:], "session.jwt.require_exp")
	})
}
