package main

import (
	"context"
	"io"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap"
	"google.golang.org/grpc"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/lbauthz/lbauthz/authz"
	"github.com/lbauthz/lbauthz/authz/config"
	"github.com/lbauthz/lbauthz/authz/door"
	"github.com/lbauthz/lbauthz/internal/assemble"
	configv1 "github.com/lbauthz/lbauthz/proto/lbauthz/config/v1"
)

// probeDoor is a door this test alone knows: a gRPC service with no methods,
// and an HTTP path that answers with the trusted_hops of the config it was
// last given.
type probeDoor struct{ hops atomic.Int64 }

const probeService = "lbauthz.test.ProbeDoor"

func (*probeDoor) Name() string { return "probe" }

func (p *probeDoor) RegisterGRPC(s *grpc.Server) {
	s.RegisterService(&grpc.ServiceDesc{ServiceName: probeService, HandlerType: (*any)(nil)}, p)
}

func (p *probeDoor) HTTPHandler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/probe" {
			next.ServeHTTP(w, r)
			return
		}
		_, _ = io.WriteString(w, strings.Repeat("h", int(p.hops.Load())))
	})
}

func (p *probeDoor) Prepare(cfg *configv1.Config) (func(), error) {
	return func() { p.hops.Store(int64(cfg.GetHttpDoors().GetTrustedHops())) }, nil
}

// A new door is one package and one line in assemble.Doors: with a door
// registered there, serve puts it on the gRPC listener (gRPC health reports
// its service SERVING), on the HTTP listener (its path answers; the built-in
// doors and /healthz still answer theirs), and a reload hands it the new
// config.
func TestServe_ARegisteredDoorIsServedOnBothListenersAndReloaded(t *testing.T) {
	t.Setenv("LIVEBLOCKS_SECRET_KEY", "sk_localdev")
	t.Setenv("LIVEBLOCKS_BASE_URL", "http://127.0.0.1:9")
	probe := &probeDoor{}
	registered := assemble.Doors
	assemble.Doors = append(append([]door.Builder{}, registered...), door.Builder{Name: "probe",
		New: func(cfg *configv1.Config, _ door.Env) (door.Door, error) {
			probe.hops.Store(int64(cfg.GetHttpDoors().GetTrustedHops()))
			return probe, nil
		}})
	t.Cleanup(func() { assemble.Doors = registered })

	cfgPath, grpcAddr, httpAddr := writeConfig(t, "http_doors: { trusted_hops: 2 }\n")
	cfg, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	sec, err := config.ReadSecrets(cfg, os.Getenv)
	if err != nil {
		t.Fatal(err)
	}
	engine, err := assemble.Engine(cfg, sec, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	holder := authz.NewHolder(engine)
	ctx, cancel := context.WithCancel(context.Background())
	reloaders := make(chan *reloader, 1)
	served := make(chan error, 1)
	go func() {
		served <- serve(ctx, cfg, holder, nil, zap.NewNop(), newObservability(ctx, func(string) string { return "" }, zap.NewNop()),
			func(doors []door.Door) {
				reloaders <- &reloader{path: cfgPath, holder: holder, doors: doors, log: zap.NewNop(), current: cfg, grace: time.Millisecond}
			})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-served; err != nil {
			t.Errorf("serve: %v", err)
		}
		holder.Engine().Close()
	})
	r := <-reloaders

	get := func(path string) (int, string) {
		t.Helper()
		var status int
		var body string
		waitFor(t, "the HTTP listener", func() bool {
			resp, err := http.Get("http://" + httpAddr + path)
			if err != nil {
				return false
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			status, body = resp.StatusCode, string(b)
			return true
		})
		return status, body
	}
	if status, body := get("/probe"); status != 200 || body != "hh" {
		t.Fatalf("the registered door's path: %d %q, want 200 \"hh\"", status, body)
	}
	if status, _ := get("/healthz"); status != 200 {
		t.Fatalf("/healthz behind the doors: %d", status)
	}
	req, _ := http.NewRequest("GET", "http://"+httpAddr+"/check/nginx", nil)
	req.Header.Set("X-Original-URI", "/docs/1")
	req.Header.Set("X-Original-Method", "GET")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("the built-in nginx door beside the registered one: %d", resp.StatusCode)
	}

	health := healthpb.NewHealthClient(grpcConn(t, grpcAddr))
	for _, service := range []string{probeService, "envoy.service.auth.v3.Authorization"} {
		hctx, hcancel := context.WithTimeout(context.Background(), 5*time.Second)
		got, err := health.Check(hctx, &healthpb.HealthCheckRequest{Service: service}, grpc.WaitForReady(true))
		hcancel()
		if err != nil || got.GetStatus() != healthpb.HealthCheckResponse_SERVING {
			t.Fatalf("gRPC health of %s: %v %v, want SERVING", service, got.GetStatus(), err)
		}
	}

	cfgText, err := os.ReadFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	writeAtomically(t, cfgPath, strings.Replace(string(cfgText), "trusted_hops: 2", "trusted_hops: 3", 1))
	if !r.reload("test") {
		t.Fatal("the reload was refused")
	}
	if status, body := get("/probe"); status != 200 || body != "hhh" {
		t.Fatalf("the registered door after a reload to trusted_hops 3: %d %q, want 200 \"hhh\"", status, body)
	}
}
