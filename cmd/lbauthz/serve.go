package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/reflection"

	"github.com/lbauthz/lbauthz/authz"
	"github.com/lbauthz/lbauthz/authz/config"
	"github.com/lbauthz/lbauthz/authz/door"
	"github.com/lbauthz/lbauthz/internal/admin"
	"github.com/lbauthz/lbauthz/internal/assemble"
	configv1 "github.com/lbauthz/lbauthz/proto/lbauthz/config/v1"
)

func cmdServe(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", "", "config file (YAML)")
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	if *path == "" || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "lbauthz serve: give --config FILE")
		return exitUsage
	}
	cfg, err := config.Load(*path)
	if err != nil {
		fmt.Fprintf(stderr, "lbauthz serve: %v\n", err)
		return exitError
	}
	sec, err := config.ReadSecrets(cfg, os.Getenv)
	if err != nil {
		fmt.Fprintf(stderr, "lbauthz serve: %v\n", err)
		return exitError
	}
	log, err := newLogger(cfg.Log, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "lbauthz serve: %v\n", err)
		return exitError
	}
	defer func() { _ = log.Sync() }()
	logWarnings(log, cfg)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()

	// Metrics and tracing outlive each config's engine: every engine
	// reports into them (observability.go).
	obs := newObservability(ctx, os.Getenv, log)
	defer obs.shutdown(log)
	rep, err := openReplicas(ctx, cfg, sec, log, obs.registry)
	if err != nil {
		fmt.Fprintf(stderr, "lbauthz serve: %v\n", err)
		return exitError
	}
	defer rep.close()
	engine, err := assemble.Engine(cfg, sec, log, append(obs.build, assemble.WithReplicas(rep.forConfig(cfg)))...)
	if err != nil {
		fmt.Fprintf(stderr, "lbauthz serve: %v\n", err)
		return exitError
	}
	adm, err := newAdmin(cfg, sec, rep, log)
	if err != nil {
		fmt.Fprintf(stderr, "lbauthz serve: listen.admin: %v\n", err)
		return exitError
	}
	holder := authz.NewHolder(engine)
	if limit, source := setMemoryLimit(engine.Sessions().MaxBytes()); limit > 0 {
		log.Info("memory limit", zap.Int64("bytes", limit), zap.String("from", source))
	}
	obs.metrics.ReportEngines(holder)

	// Reloads swap the engine in holder and the doors' settings.
	startReload := func(doors []door.Door) {
		r := &reloader{path: *path, holder: holder, doors: doors, admin: adm, replicas: rep, log: log, current: cfg,
			grace: cfg.Listen.ShutdownGrace.AsDuration(), build: obs.build, onResult: obs.metrics.ReloadResult,
			watching: make(chan struct{})}
		r.onSIGHUP(ctx)
		go func() {
			if err := r.watch(ctx); err != nil {
				log.Warn("config file watch unavailable; reload with SIGHUP", zap.Error(err))
			}
		}()
		<-r.watching
	}
	err = serve(ctx, cfg, holder, adm, log, obs, startReload)
	// Every listener has stopped: no request uses the engine in use any
	// more (one a reload swapped out is closed by the reload).
	holder.Engine().Close()
	if err != nil {
		log.Error("serve failed", zap.Error(err))
		return exitError
	}
	return exitOK
}

// serve runs the sidecar until ctx ends, then drains in-flight requests.
// It puts every registered door (assemble.Doors) on the listener it serves,
// and adm, when not nil, on the admin listener; startReload is called with
// the doors once they exist, to start reloading the config.
func serve(ctx context.Context, cfg *configv1.Config, holder *authz.Holder, adm *admin.Handler, log *zap.Logger, obs *observability,
	startReload func([]door.Door)) error {
	doors, err := assemble.BuildDoors(cfg, door.Env{Engines: holder, Log: log,
		HTTPReadTimeout: cfg.Listen.HttpTimeouts.GetRead().AsDuration()})
	if err != nil {
		return err
	}

	var ready atomic.Bool
	grace := cfg.Listen.ShutdownGrace.AsDuration()

	grpcTLS, err := listenerTLS("listen.grpc_tls", cfg.Listen.GrpcTls, log)
	if err != nil {
		return fmt.Errorf("listen.grpc_tls: %w", err)
	}
	httpTLS, err := listenerTLS("listen.http_tls", cfg.Listen.HttpTls, log)
	if err != nil {
		return fmt.Errorf("listen.http_tls: %w", err)
	}

	adminTLS, err := listenerTLS("listen.admin_tls", cfg.Listen.AdminTls, log)
	if err != nil {
		return fmt.Errorf("listen.admin_tls: %w", err)
	}

	var grpcSrv *grpc.Server
	var healthSrv *health.Server
	var grpcLis, httpLis, adminLis net.Listener
	// closeListeners closes those already open when a later one fails.
	closeListeners := func() {
		for _, l := range []net.Listener{grpcLis, httpLis} {
			if l != nil {
				l.Close()
			}
		}
	}
	if cfg.Listen.Grpc != "" {
		if grpcLis, err = net.Listen("tcp", cfg.Listen.Grpc); err != nil {
			return fmt.Errorf("listen.grpc: %w", err)
		}
		gopts := obs.grpcServerOptions()
		// The gRPC listener's own timeouts, from listen.http_timeouts: a
		// connection that has not finished its handshake (TLS and HTTP/2
		// preface) within read_header is closed, and one idle for idle is
		// closed with a GOAWAY (Envoy opens a new one when it needs it).
		t := cfg.Listen.HttpTimeouts
		gopts = append(gopts,
			grpc.ConnectionTimeout(t.GetReadHeader().AsDuration()),
			grpc.KeepaliveParams(keepalive.ServerParameters{MaxConnectionIdle: t.GetIdle().AsDuration()}))
		if grpcTLS != nil {
			gopts = append(gopts, grpc.Creds(credentials.NewTLS(grpcTLS.TLSConfig("h2"))))
		}
		grpcSrv = grpc.NewServer(gopts...)
		door.RegisterGRPC(doors, grpcSrv)
		healthSrv = health.NewServer()
		healthpb.RegisterHealthServer(grpcSrv, healthSrv)
		if cfg.Listen.GrpcReflection {
			reflection.Register(grpcSrv)
		}
	}
	var httpSrv *http.Server
	if cfg.Listen.Http != "" {
		if httpLis, err = net.Listen("tcp", cfg.Listen.Http); err != nil {
			closeListeners()
			return fmt.Errorf("listen.http: %w", err)
		}
		if httpTLS != nil {
			httpLis = tls.NewListener(httpLis, httpTLS.TLSConfig("h2", "http/1.1"))
		}
		mux := http.NewServeMux()
		mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("content-type", "text/plain; charset=utf-8")
			_, _ = io.WriteString(w, "ok\n")
		})
		mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("content-type", "text/plain; charset=utf-8")
			if !ready.Load() {
				w.WriteHeader(http.StatusServiceUnavailable)
				_, _ = io.WriteString(w, "not ready\n")
				return
			}
			_, _ = io.WriteString(w, "ready\n")
		})
		mux.Handle("GET /metrics", obs.metricsHandler())
		// The doors (/check/*, the auth path) first, then /healthz,
		// /readyz and /metrics.
		handler := door.HTTPHandler(doors, mux)
		t := cfg.Listen.HttpTimeouts
		httpSrv = &http.Server{
			Handler: obs.httpHandler(handler),
			// A client slower than these is disconnected: without them a
			// connection trickling its headers or body is held forever.
			ReadHeaderTimeout: t.GetReadHeader().AsDuration(),
			ReadTimeout:       t.GetRead().AsDuration(),
			WriteTimeout:      t.GetWrite().AsDuration(),
			IdleTimeout:       t.GetIdle().AsDuration(),
			ErrorLog:          zap.NewStdLog(log.Named("http")),
		}
	}

	var adminSrv *http.Server
	if adm != nil {
		if adminLis, err = net.Listen("tcp", cfg.Listen.Admin); err != nil {
			closeListeners()
			return fmt.Errorf("listen.admin: %w", err)
		}
		if adminTLS != nil {
			adminLis = tls.NewListener(adminLis, adminTLS.TLSConfig("h2", "http/1.1"))
		}
		t := cfg.Listen.HttpTimeouts
		adminSrv = &http.Server{
			Handler:           adm,
			ReadHeaderTimeout: t.GetReadHeader().AsDuration(),
			ReadTimeout:       t.GetRead().AsDuration(),
			WriteTimeout:      t.GetWrite().AsDuration(),
			IdleTimeout:       t.GetIdle().AsDuration(),
			ErrorLog:          zap.NewStdLog(log.Named("admin")),
		}
	}

	startReload(doors)
	errc := make(chan error, 3)
	if grpcSrv != nil {
		go func() { errc <- grpcSrv.Serve(grpcLis) }()
		healthSrv.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)
		for service := range grpcSrv.GetServiceInfo() {
			healthSrv.SetServingStatus(service, healthpb.HealthCheckResponse_SERVING)
		}
	}
	if httpSrv != nil {
		go func() {
			if err := httpSrv.Serve(httpLis); !errors.Is(err, http.ErrServerClosed) {
				errc <- err
			}
		}()
	}
	if adminSrv != nil {
		go func() {
			if err := adminSrv.Serve(adminLis); !errors.Is(err, http.ErrServerClosed) {
				errc <- err
			}
		}()
	}
	ready.Store(true)
	log.Info("serving",
		zap.String("grpc", addrOf(grpcLis)), zap.String("http", addrOf(httpLis)), zap.String("admin", addrOf(adminLis)),
		zap.String("liveblocks", cfg.Liveblocks.BaseUrl), zap.String("auth_path", cfg.Liveblocks.AuthPath))

	var serveErr error
	select {
	case <-ctx.Done():
		log.Info("shutting down: draining in-flight requests", zap.Duration("grace", grace))
	case serveErr = <-errc:
		log.Error("listener failed", zap.Error(serveErr))
	}

	ready.Store(false)
	if healthSrv != nil {
		healthSrv.Shutdown()
	}
	var wg sync.WaitGroup
	if grpcSrv != nil {
		wg.Go(func() {
			done := make(chan struct{})
			go func() { grpcSrv.GracefulStop(); close(done) }()
			select {
			case <-done:
			case <-time.After(grace):
				grpcSrv.Stop()
			}
		})
	}
	for _, srv := range []*http.Server{httpSrv, adminSrv} {
		if srv == nil {
			continue
		}
		wg.Go(func() {
			sctx, cancel := context.WithTimeout(context.Background(), grace)
			defer cancel()
			if err := srv.Shutdown(sctx); err != nil {
				_ = srv.Close()
			}
		})
	}
	wg.Wait()
	log.Info("stopped")
	return serveErr
}

// logWarnings logs the config's risky settings (config.Warnings), at start
// and after each reload, so that a setting weakened by a reload is seen too.
func logWarnings(log *zap.Logger, cfg *configv1.Config) {
	for _, w := range config.Warnings(cfg) {
		log.Warn("risky setting", zap.String("field", w.Field), zap.String("why", w.Message))
	}
}

func addrOf(l net.Listener) string {
	if l == nil {
		return ""
	}
	return l.Addr().String()
}

func newLogger(c *configv1.Log, w io.Writer) (*zap.Logger, error) {
	level, err := zapcore.ParseLevel(c.GetLevel())
	if err != nil {
		return nil, fmt.Errorf("log.level: %w", err)
	}
	var enc zapcore.Encoder
	if c.GetFormat() == "console" {
		ec := zap.NewDevelopmentEncoderConfig()
		enc = zapcore.NewConsoleEncoder(ec)
	} else {
		ec := zap.NewProductionEncoderConfig()
		ec.EncodeTime = zapcore.ISO8601TimeEncoder
		enc = zapcore.NewJSONEncoder(ec)
	}
	core := zapcore.NewCore(enc, zapcore.Lock(zapcore.AddSync(w)), level)
	// Under load, keep the first 100 lines of a kind per second, then one in
	// 100: an access line per decision must not become the bottleneck.
	core = zapcore.NewSamplerWithOptions(core, time.Second, 100, 100)
	return zap.New(core), nil
}
