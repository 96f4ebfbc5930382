package authz_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/lbauthz/lbauthz/authz"
	"github.com/lbauthz/lbauthz/authz/door/envoygrpc"
	"github.com/lbauthz/lbauthz/authz/door/httpdoor"
	"github.com/lbauthz/lbauthz/internal/assemble"
	"github.com/lbauthz/lbauthz/internal/authztest"
	"github.com/lbauthz/lbauthz/internal/testenv"
)

// metricsConfig has small budgets, so that a test reaches them.
const metricsConfig = authztest.Config + `
auth_limits:
  per_user: { per_minute: 1, burst: 3 }
  per_address: { per_minute: 1, burst: 2 }
`

// metricsServer serves the metrics' registry and returns its /metrics URL.
func metricsServer(t *testing.T) (*authz.Metrics, string) {
	t.Helper()
	reg := prometheus.NewRegistry()
	m := authz.NewMetrics(reg, "test")
	srv := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	t.Cleanup(srv.Close)
	return m, srv.URL + "/metrics"
}

// grpcOver serves the gRPC door over the holder's engines.
func grpcOver(t *testing.T, h *authz.Holder) authv3.AuthorizationClient {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	authv3.RegisterAuthorizationServer(srv, envoygrpc.NewServer(h))
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return authv3.NewAuthorizationClient(conn)
}

// ask sends a Check and returns the status of the sidecar's answer: 0 when
// the request goes on to the app.
func ask(t *testing.T, c authv3.AuthorizationClient, method, path string, headers map[string]string, body string) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	resp, err := c.Check(ctx, authztest.CheckRequest(method, path, headers, body))
	if err != nil {
		t.Fatal(err)
	}
	if resp.GetStatus().GetCode() == int32(codes.OK) {
		return 0
	}
	return int(resp.GetDeniedResponse().GetStatus().GetCode())
}

func TestMetrics_EveryMetricMovesAndSurvivesAnEngineSwap(t *testing.T) {
	dev := testenv.StartLiveblocks(t)
	m, url := metricsServer(t)
	holder := authz.NewHolder(authztest.Engine(t, metricsConfig, dev.URL, testenv.DevSecretKey, assemble.WithMetrics(m)))
	m.ReportEngines(holder)
	c := grpcOver(t, holder)
	valid := map[string]string{"cookie": "session=" + authztest.Session(authztest.Alice())}
	room := `{"room":"metrics-room"}`

	for range 2 { // a miss, then a hit
		if st := ask(t, c, "GET", "/docs/1", valid, ""); st != 0 {
			t.Fatalf("pass-through with a session: %d", st)
		}
	}
	ask(t, c, "GET", "/", nil, "")
	if st := ask(t, c, "POST", authztest.AuthPath, valid, room); st != 200 {
		t.Fatalf("token request: %d", st)
	}
	tampered := map[string]string{"cookie": "session=" + authztest.Session(authztest.Alice())[:40] + "x.y"}
	if st := ask(t, c, "POST", authztest.AuthPath, tampered, room); st != 401 {
		t.Fatalf("tampered session: %d", st)
	}
	numericName := authztest.Alice()
	numericName["name"] = 42
	if st := ask(t, c, "POST", authztest.AuthPath, map[string]string{"cookie": "session=" + authztest.Session(numericName)}, room); st != 403 {
		t.Fatalf("identity Liveblocks would refuse: %d", st)
	}
	crossSite := map[string]string{"cookie": valid["cookie"], "origin": "https://evil.example", "sec-fetch-site": "cross-site"}
	if st := ask(t, c, "POST", authztest.AuthPath, crossSite, room); st != 403 {
		t.Fatalf("cross-site token request: %d", st)
	}
	// Alice's budget is 3: one token so far, two more, then 429.
	for i, want := range []int{200, 200, 429} {
		if st := ask(t, c, "POST", authztest.AuthPath, valid, room); st != want {
			t.Fatalf("token request %d of the budget: %d, want %d", i+2, st, want)
		}
	}
	// The tampered request spent 1 of the address's 2; one more, then the
	// address is refused before any lookup.
	for i, want := range []int{401, 429} {
		if st := ask(t, c, "POST", authztest.AuthPath, nil, room); st != want {
			t.Fatalf("request %d without a session: %d, want %d", i+1, st, want)
		}
	}
	before := authztest.Scrape(t, url)

	// A reload: another engine, over a Liveblocks that cannot be reached,
	// reports into the same series.
	holder.Swap(authztest.Engine(t, authztest.Config, "http://127.0.0.1:9", testenv.DevSecretKey, assemble.WithMetrics(m)))
	m.ReloadResult(true)
	if st := ask(t, c, "POST", authztest.AuthPath, valid, room); st != 503 {
		t.Fatalf("token request with Liveblocks down: %d", st)
	}
	m.ReloadResult(false)

	// The HTTP direct door counts under its own name, its 413 included.
	doors := httptest.NewServer(httpdoor.New(holder, httpdoor.Options{Settings: httpdoor.Settings{MaxBodyBytes: 64}}))
	t.Cleanup(doors.Close)
	for _, body := range []string{room, strings.Repeat("x", 100)} {
		resp, err := http.Post(doors.URL+authztest.AuthPath, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}

	after := authztest.Scrape(t, url)
	decision := func(door, outcome string) float64 {
		return after.Get("lbauthz_decisions_total", "door", door, "outcome", outcome)
	}
	for _, tc := range []struct {
		name string
		got  float64
		want float64
	}{
		{"allowed_identity", decision("envoy_grpc", "allowed_identity"), 2},
		{"allowed_anonymous", decision("envoy_grpc", "allowed_anonymous"), 1},
		{"token_issued", decision("envoy_grpc", "token_issued"), 3},
		{"unauthorized", decision("envoy_grpc", "unauthorized"), 2},
		{"forbidden", decision("envoy_grpc", "forbidden"), 1},
		{"cross_origin", decision("envoy_grpc", "cross_origin"), 1},
		{"rate_limited", decision("envoy_grpc", "rate_limited"), 2},
		{"unavailable after the swap", decision("envoy_grpc", "unavailable"), 1},
		{"http_direct unauthorized", decision("http_direct", "unauthorized"), 1},
		{"http_direct 413", decision("http_direct", "bad_request"), 1},
		{"pass-through latency", after.Get("lbauthz_decision_duration_seconds_count", "door", "envoy_grpc", "path", "pass_through"), 3},
		{"auth latency", after.Get("lbauthz_decision_duration_seconds_count", "door", "envoy_grpc", "path", "auth"), 10},
		{"identify_user 200", after.Get("lbauthz_liveblocks_requests_total", "endpoint", "identify_user", "status", "200"), 3},
		{"identify_user unreachable", after.Get("lbauthz_liveblocks_requests_total", "endpoint", "identify_user", "status", "error"), 1},
		{"identify_user latency", after.Get("lbauthz_liveblocks_request_duration_seconds_count", "endpoint", "identify_user"), 4},
		{"store lookups valid", after.Get("lbauthz_session_lookups_total", "store", "jwt", "result", "valid"), 3},
		{"store lookups invalid", after.Get("lbauthz_session_lookups_total", "store", "jwt", "result", "invalid"), 1},
		{"cache hits", after.Get("lbauthz_session_cache_requests_total", "result", "hit"), 5},
		{"cache misses", after.Get("lbauthz_session_cache_requests_total", "result", "miss"), 4},
		{"rate limited per user", after.Get("lbauthz_rate_limited_total", "limit", "user"), 1},
		{"rate limited per address", after.Get("lbauthz_rate_limited_total", "limit", "address"), 1},
		{"reloads ok", after.Get("lbauthz_config_reloads_total", "result", "success"), 1},
		{"reloads refused", after.Get("lbauthz_config_reloads_total", "result", "failure"), 1},
		{"last reload successful", after.Get("lbauthz_config_last_reload_successful"), 0},
		{"build info", after.Get("lbauthz_build_info", "version", "test"), 1},
	} {
		if tc.got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, tc.got, tc.want)
		}
	}
	if before.Get("lbauthz_session_cache_entries") < 1 {
		t.Errorf("lbauthz_session_cache_entries = %v with sessions cached", before.Get("lbauthz_session_cache_entries"))
	}
	// Counters never go back on a swap.
	for k, v := range before {
		if strings.HasSuffix(strings.SplitN(k, "{", 2)[0], "_total") && after[k] < v {
			t.Errorf("%s went from %v to %v across an engine swap", k, v, after[k])
		}
	}
	// No user, session or room id in a label.
	for k := range after {
		for _, secret := range []string{"alice", "metrics-room", valid["cookie"][len("session="):]} {
			if strings.Contains(k, secret) {
				t.Errorf("series %s holds %q", k, secret)
			}
		}
	}
}

// With metrics, an info-level logger and the default limits, a pass-through
// Check of a cached session still does not allocate.
func TestCheck_PassThroughWithMetricsAndLogsDoesNotAllocate(t *testing.T) {
	m, _ := metricsServer(t)
	logger := zap.New(zapcore.NewCore(zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig()), zapcore.AddSync(io.Discard), zapcore.InfoLevel))
	cfg, sec := authztest.ParseConfig(t, authztest.Config, "http://127.0.0.1:9", "sk_bench")
	e, err := assemble.Engine(cfg, sec, logger, assemble.WithMetrics(m))
	if err != nil {
		t.Fatal(err)
	}
	srv := envoygrpc.NewServer(authz.NewHolder(e))
	req := authztest.CheckRequest("GET", "/docs/42", map[string]string{"cookie": browserCookie(authztest.Session(authztest.Alice()))}, "")
	ctx := context.Background()
	if _, err := srv.Check(ctx, req); err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(200, func() { _, _ = srv.Check(ctx, req) }); n > 0 {
		t.Fatalf("a pass-through Check with a cached session allocates %v times with metrics on", n)
	}
}
