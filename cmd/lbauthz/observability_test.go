package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"

	"github.com/lbauthz/lbauthz/internal/authztest"
	"github.com/lbauthz/lbauthz/internal/testenv"
)

func TestServe_MetricsCountDecisionsAndReloadsAcrossReloads(t *testing.T) {
	dev := testenv.StartLiveblocks(t)
	cfgPath, grpcAddr, httpAddr := writeConfig(t, "")
	orig, err := os.ReadFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(binary, "serve", "--config", cfgPath)
	cmd.Env = append(filterEnv(filterEnv(os.Environ(), "LIVEBLOCKS_"), "OTEL_"), "LIVEBLOCKS_SECRET_KEY=sk_localdev", "LIVEBLOCKS_BASE_URL="+dev.URL)
	p := testenv.Start(t, "lbauthz serve", cmd)
	testenv.WaitHTTP(t, p, "http://"+httpAddr+"/readyz", 10*time.Second)
	metrics := "http://" + httpAddr + "/metrics"
	c := authv3.NewAuthorizationClient(grpcConn(t, grpcAddr))

	if allowed, _ := methodCheck(t, c, "/docs/1"); !allowed {
		t.Fatal("pass-through refused")
	}
	if resp, err := authCheck(t, grpcConn(t, grpcAddr), 3*time.Second); err != nil || resp.GetDeniedResponse().GetStatus().GetCode() != 200 {
		t.Fatalf("token request: %v %v", err, resp)
	}
	s := authztest.Scrape(t, metrics)
	if s.Get("lbauthz_decisions_total", "door", "envoy_grpc", "outcome", "allowed_anonymous") != 1 ||
		s.Get("lbauthz_decisions_total", "door", "envoy_grpc", "outcome", "token_issued") != 1 ||
		s.Get("lbauthz_liveblocks_requests_total", "endpoint", "identify_user", "status", "200") != 1 {
		t.Fatalf("decisions before the reloads: %v", s)
	}

	// A good reload, then a refused one.
	writeAtomically(t, cfgPath, string(orig)+"log: { access_level: info }\n")
	waitFor(t, "the reload to be counted", func() bool {
		return authztest.Scrape(t, metrics).Get("lbauthz_config_reloads_total", "result", "success") == 1
	})
	writeAtomically(t, cfgPath, string(orig)+"sesion: {}\n")
	waitFor(t, "the refusal to be counted", func() bool {
		return authztest.Scrape(t, metrics).Get("lbauthz_config_reloads_total", "result", "failure") == 1
	})
	if s := authztest.Scrape(t, metrics); s.Get("lbauthz_config_last_reload_successful") != 0 {
		t.Fatal("lbauthz_config_last_reload_successful is not 0 after a refused reload")
	}
	// The engine of the reloaded config reports into the same series.
	if allowed, _ := methodCheck(t, c, "/docs/2"); !allowed {
		t.Fatal("pass-through refused after the reloads")
	}
	s = authztest.Scrape(t, metrics)
	if got := s.Get("lbauthz_decisions_total", "door", "envoy_grpc", "outcome", "allowed_anonymous"); got != 2 {
		t.Fatalf("allowed_anonymous after a reload = %v, want 2 (counted on from 1)", got)
	}
	if s.Get("lbauthz_build_info", "version", "dev") != 1 || s.Get("go_goroutines") == 0 || s.Get("process_resident_memory_bytes") == 0 {
		t.Fatal("build info, Go or process metrics missing")
	}
	if strings.Contains(p.Output(), "tracing on") {
		t.Fatal("tracing is on without any OTEL_ variable")
	}
}

// otlpReceiver is an OTLP/HTTP trace receiver: it keeps the bodies of the
// export requests (protobuf ExportTraceServiceRequest messages).
type otlpReceiver struct {
	mu     sync.Mutex
	bodies [][]byte
}

func (o *otlpReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	if r.URL.Path == "/v1/traces" {
		o.mu.Lock()
		o.bodies = append(o.bodies, b)
		o.mu.Unlock()
	}
	w.Header().Set("content-type", "application/x-protobuf")
	w.WriteHeader(http.StatusOK)
}

// holds reports whether a received export holds b (a trace id's bytes).
func (o *otlpReceiver) holds(b []byte) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, body := range o.bodies {
		if bytes.Contains(body, b) {
			return true
		}
	}
	return false
}

func TestServe_TracesGoToTheOTLPEndpointOfTheEnvironment(t *testing.T) {
	dev := testenv.StartLiveblocks(t)
	recv := &otlpReceiver{}
	collector := httptest.NewServer(recv)
	defer collector.Close()
	cfgPath, grpcAddr, httpAddr := writeConfig(t, "")
	cmd := exec.Command(binary, "serve", "--config", cfgPath)
	cmd.Env = append(filterEnv(filterEnv(os.Environ(), "LIVEBLOCKS_"), "OTEL_"),
		"LIVEBLOCKS_SECRET_KEY=sk_localdev", "LIVEBLOCKS_BASE_URL="+dev.URL,
		"OTEL_EXPORTER_OTLP_ENDPOINT="+collector.URL, "OTEL_BSP_SCHEDULE_DELAY=100")
	p := testenv.Start(t, "lbauthz serve", cmd)
	testenv.WaitHTTP(t, p, "http://"+httpAddr+"/readyz", 10*time.Second)
	if !strings.Contains(p.Output(), "tracing on") {
		t.Fatalf("tracing not on with OTEL_EXPORTER_OTLP_ENDPOINT set:\n%s", p.Output())
	}

	const traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req := authztest.CheckRequest("POST", "/api/liveblocks-auth", map[string]string{
		"cookie":      "session=" + authztest.Session(authztest.Alice()),
		"traceparent": "00-" + traceID + "-00f067aa0ba902b7-01",
	}, `{"room":"r"}`)
	resp, err := authv3.NewAuthorizationClient(grpcConn(t, grpcAddr)).Check(ctx, req)
	if err != nil || resp.GetDeniedResponse().GetStatus().GetCode() != 200 {
		t.Fatalf("token request: %v %v", err, resp)
	}
	id, _ := hex.DecodeString(traceID)
	waitFor(t, "the span of the check to reach the collector", func() bool { return recv.holds(id) })

	// SIGTERM flushes what is left and exits cleanly.
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := p.Wait(); err != nil {
		t.Fatalf("exit: %v", err)
	}
}
