package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"

	"github.com/lbauthz/lbauthz/authz/shared"
	"github.com/lbauthz/lbauthz/internal/authztest"
	"github.com/lbauthz/lbauthz/internal/testenv"
)

// sidecar is one lbauthz serve process of a test with several replicas.
type sidecar struct {
	proc     *testenv.Process
	check    authv3.AuthorizationClient
	httpAddr string
	audit    string
}

// startReplicas starts n lbauthz processes sharing the Redis at addr, each
// with its own audit file. Liveblocks is an address that refuses: a token
// request that passes the limits is answered 503, one refused by them 429.
// listen[i], when given, is added to the listen section of replica i.
func startReplicas(t *testing.T, n int, redisAddr string, listen ...string) (cfgPath string, out []sidecar) {
	t.Helper()
	for i := range n {
		dir := t.TempDir()
		auditFile := filepath.Join(dir, "audit.jsonl")
		path, grpcAddr, httpAddr := writeConfig(t, `
shared: { redis: { addrs: ["`+redisAddr+`"], timeout: 2s } }
audit: { path: "`+auditFile+`" }
auth_limits: { per_user: { per_minute: 600, burst: 20 } }
`)
		if i < len(listen) && listen[i] != "" {
			raw, _ := os.ReadFile(path)
			cfg := strings.Replace(string(raw), "  shutdown_grace: 5s\n", "  shutdown_grace: 5s\n"+listen[i], 1)
			if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		if i == 0 {
			cfgPath = path
		}
		cmd := exec.Command(binary, "serve", "--config", path)
		cmd.Env = append(filterEnv(os.Environ(), "LIVEBLOCKS_"), "LIVEBLOCKS_SECRET_KEY=sk_localdev", "LIVEBLOCKS_BASE_URL=http://127.0.0.1:9")
		p := testenv.Start(t, "lbauthz serve", cmd)
		testenv.WaitHTTP(t, p, "http://"+httpAddr+"/readyz", 10*time.Second)
		out = append(out, sidecar{proc: p, check: authv3.NewAuthorizationClient(grpcConn(t, grpcAddr)), httpAddr: httpAddr, audit: auditFile})
	}
	return cfgPath, out
}

// tokenStatus asks for a token with the session and returns the HTTP status
// answered.
func tokenStatus(t *testing.T, s sidecar, session string) int32 {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	resp, err := s.check.Check(ctx, authztest.CheckRequest("POST", "/api/liveblocks-auth",
		map[string]string{"cookie": "session=" + session, "content-type": "application/json"}, `{"room":"r"}`))
	if err != nil {
		t.Errorf("Check: %v", err)
		return 0
	}
	return int32(resp.GetDeniedResponse().GetStatus().GetCode())
}

// metric returns the value of a metric line of the sidecar's /metrics.
func metric(t *testing.T, s sidecar, name string) string {
	resp, err := http.Get("http://" + s.httpAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			return v
		}
	}
	return ""
}

func TestServe_ThreeReplicasShareBudgetsRevocationsAndSurviveRedisRestart(t *testing.T) {
	rd := testenv.StartRedis(t)
	cfgPath, sidecars := startReplicas(t, 3, rd.Addr)
	alice := authztest.Session(authztest.Alice())

	t.Run("the per-user budget holds across replicas", func(t *testing.T) {
		var passed, limited atomic.Int64
		start := time.Now()
		stop := start.Add(3 * time.Second)
		var wg sync.WaitGroup
		for _, s := range sidecars {
			wg.Go(func() {
				for time.Now().Before(stop) {
					switch st := tokenStatus(t, s, alice); st {
					case 429:
						limited.Add(1)
					case 503: // passed the limits, then Liveblocks refused
						passed.Add(1)
					default:
						t.Errorf("status %d", st)
						return
					}
				}
			})
		}
		wg.Wait()
		want := 20 + 10*time.Since(start).Seconds()
		if got := float64(passed.Load()); got < want*0.9 || got > want*1.1 {
			t.Fatalf("%v token requests passed the per-user limit on three replicas, want %.0f ± 10%% (429: %d)", got, want, limited.Load())
		}
	})

	t.Run("a revocation through one is refused by all within 1s", func(t *testing.T) {
		var out, errOut strings.Builder
		sent := time.Now()
		if code := run([]string{"sessions", "revoke", "--config", cfgPath, "--user", "alice", "--for", "1m"}, &out, &errOut); code != 0 {
			t.Fatalf("revoke: exit %d: %s", code, errOut.String())
		}
		for i, s := range sidecars {
			for tokenStatus(t, s, alice) != 401 {
				if time.Since(sent) > time.Second {
					t.Fatalf("replica %d still accepts alice 1s after the revocation", i)
				}
				time.Sleep(10 * time.Millisecond)
			}
		}
	})

	t.Run("audit records name the user and session hash, never the cookie", func(t *testing.T) {
		time.Sleep(200 * time.Millisecond) // the writer flushes when idle
		b, err := os.ReadFile(sidecars[0].audit)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(b), alice) {
			t.Fatal("the audit trail holds the session cookie")
		}
		var revoked, limitedSeen bool
		sc := bufio.NewScanner(strings.NewReader(string(b)))
		for sc.Scan() {
			line := sc.Text()
			if !strings.Contains(line, `"user":"alice"`) && !strings.Contains(line, `"reason":"revoked"`) {
				continue
			}
			if !strings.Contains(line, `"session":"`+shared.SessionHash(alice)+`"`) || !strings.Contains(line, `"door":"envoy_grpc"`) {
				t.Fatalf("record without the session hash or the door: %s", line)
			}
			revoked = revoked || strings.Contains(line, `"reason":"revoked"`)
			limitedSeen = limitedSeen || strings.Contains(line, `"status":429`)
		}
		if !revoked || !limitedSeen {
			t.Fatalf("no record of the revoked (%v) or rate-limited (%v) requests:\n%.2000s", revoked, limitedSeen, b)
		}
	})

	t.Run("Redis killed and restarted: fallback, then recovery, in the metrics", func(t *testing.T) {
		bob := authztest.Session(map[string]any{"sub": "bob", "exp": time.Now().Add(time.Hour).Unix()})
		rd.Stop()
		deadline := time.Now().Add(10 * time.Second)
		for metric(t, sidecars[0], "lbauthz_shared_redis_up") != "0" {
			if st := tokenStatus(t, sidecars[0], bob); st != 503 && st != 429 {
				t.Fatalf("status %d while Redis is down", st)
			}
			if time.Now().After(deadline) {
				t.Fatal("lbauthz_shared_redis_up not 0 with Redis down")
			}
		}
		// Down, bob's requests are still answered (by the local budget).
		if st := tokenStatus(t, sidecars[0], bob); st != 503 {
			t.Fatalf("status %d with Redis down, want Liveblocks' 503: the shared layer refused service", st)
		}
		rd.Start(t)
		deadline = time.Now().Add(10 * time.Second)
		for metric(t, sidecars[0], "lbauthz_shared_redis_up") != "1" {
			tokenStatus(t, sidecars[0], bob)
			if time.Now().After(deadline) {
				t.Fatal("lbauthz_shared_redis_up not back to 1 after Redis restarted")
			}
			time.Sleep(50 * time.Millisecond)
		}
		if metric(t, sidecars[0], `lbauthz_shared_redis_transitions_total{state="down"}`) != "1" {
			t.Fatal("the outage is not counted once in lbauthz_shared_redis_transitions_total")
		}
	})
}

func TestServe_ReloadAppliesAuthLimitsToSharedBudgetsAndLogsSharedChangesAsNeedingARestart(t *testing.T) {
	rd := testenv.StartRedis(t)
	cfgPath, sidecars := startReplicas(t, 1, rd.Addr)
	s := sidecars[0]
	orig, err := os.ReadFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	reloads := func() int { return strings.Count(s.proc.Output(), `"config reloaded"`) }
	// SIGHUP after each write: the file watch may not be set up yet when
	// the test writes, just after the process is ready.
	reload := func(what string) {
		before := reloads()
		if err := s.proc.Cmd.Process.Signal(syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		waitFor(t, what, func() bool { return reloads() > before })
	}

	// auth_limits alone: applied to the shared budgets at once, no warning.
	tight := strings.Replace(string(orig), "per_user: { per_minute: 600, burst: 20 }", "per_user: { per_minute: 1, burst: 2 }", 1)
	if tight == string(orig) {
		t.Fatal("the replicas' config has no per_user limit to change")
	}
	writeAtomically(t, cfgPath, tight)
	reload("the auth_limits change to be reloaded")
	dave := authztest.Session(map[string]any{"sub": "dave", "exp": time.Now().Add(time.Hour).Unix()})
	var got []int32
	for range 3 {
		got = append(got, tokenStatus(t, s, dave))
	}
	if want := []int32{503, 503, 429}; !slices.Equal(got, want) {
		t.Fatalf("token requests after the reload: %v, want %v (a burst of 2 from the reloaded auth_limits)", got, want)
	}
	if strings.Contains(s.proc.Output(), "shared or audit settings changed") {
		t.Fatal("a reload of auth_limits alone said that shared or audit changed")
	}

	// shared (and audit): kept, and said to need a restart.
	changed := strings.Replace(tight, "timeout: 2s", "timeout: 3s", 1)
	changed = strings.Replace(changed, `audit: { path: "`, `audit: { keep: 2, path: "`, 1)
	writeAtomically(t, cfgPath, changed)
	reload("the shared change to be reloaded")
	if !strings.Contains(s.proc.Output(), "shared or audit settings changed: they take effect at the next restart") {
		t.Fatalf("a reload changing shared and audit did not say they need a restart:\n%.3000s", s.proc.Output())
	}
	if st := tokenStatus(t, s, dave); st != 429 {
		t.Fatalf("after a reload of shared: %d, want 429 (the shared budget still in use)", st)
	}
}
