package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"google.golang.org/grpc"

	"github.com/lbauthz/lbauthz/authz"
	"github.com/lbauthz/lbauthz/authz/door"
	"github.com/lbauthz/lbauthz/internal/assemble"
)

// cmdServe serves the demo config until SIGINT or SIGTERM: the Envoy gRPC
// door and the HTTP doors, /healthz and /readyz, as lbauthz serve does with
// the same engine, without reloads, metrics or tracing.
func cmdServe(args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "lbauthz-demo serve: unexpected argument %q\n", fs.Arg(0))
		return exitUsage
	}
	dirFile, removeDir, err := writeDemoDirectory()
	if err != nil {
		fmt.Fprintf(stderr, "lbauthz-demo serve: %v\n", err)
		return exitError
	}
	defer removeDir()
	cfg, sec, err := demoConfig(getenv, dirFile)
	if err != nil {
		fmt.Fprintf(stderr, "lbauthz-demo serve: %v\n", err)
		return exitError
	}
	log := zap.New(zapcore.NewCore(zapcore.NewConsoleEncoder(zap.NewDevelopmentEncoderConfig()),
		zapcore.Lock(zapcore.AddSync(stderr)), zapcore.InfoLevel))
	defer func() { _ = log.Sync() }()
	engine, err := assemble.Engine(cfg, sec, log)
	if err != nil {
		fmt.Fprintf(stderr, "lbauthz-demo serve: %v\n", err)
		return exitError
	}
	holder := authz.NewHolder(engine)
	defer func() { holder.Engine().Close() }()
	t := cfg.Listen.HttpTimeouts
	doors, err := assemble.BuildDoors(cfg, door.Env{Engines: holder, Log: log, HTTPReadTimeout: t.GetRead().AsDuration()})
	if err != nil {
		fmt.Fprintf(stderr, "lbauthz-demo serve: %v\n", err)
		return exitError
	}

	grpcLis, err := net.Listen("tcp", cfg.Listen.Grpc)
	if err != nil {
		fmt.Fprintf(stderr, "lbauthz-demo serve: listen.grpc: %v\n", err)
		return exitError
	}
	httpLis, err := net.Listen("tcp", cfg.Listen.Http)
	if err != nil {
		grpcLis.Close()
		fmt.Fprintf(stderr, "lbauthz-demo serve: listen.http: %v\n", err)
		return exitError
	}
	grpcSrv := grpc.NewServer()
	mux := http.NewServeMux()
	for _, path := range []string{"GET /healthz", "GET /readyz"} {
		mux.HandleFunc(path, func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("content-type", "text/plain; charset=utf-8")
			_, _ = io.WriteString(w, "ok\n")
		})
	}
	door.RegisterGRPC(doors, grpcSrv)
	httpSrv := &http.Server{
		Handler:           door.HTTPHandler(doors, mux),
		ReadHeaderTimeout: t.GetReadHeader().AsDuration(),
		ReadTimeout:       t.GetRead().AsDuration(),
		WriteTimeout:      t.GetWrite().AsDuration(),
		IdleTimeout:       t.GetIdle().AsDuration(),
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	errc := make(chan error, 2)
	go func() { errc <- grpcSrv.Serve(grpcLis) }()
	go func() {
		if err := httpSrv.Serve(httpLis); !errors.Is(err, http.ErrServerClosed) {
			errc <- err
		}
	}()
	log.Info("serving the demo", zap.String("grpc", grpcLis.Addr().String()), zap.String("http", httpLis.Addr().String()),
		zap.String("liveblocks", cfg.Liveblocks.BaseUrl))

	code := exitOK
	select {
	case <-ctx.Done():
	case err := <-errc:
		log.Error("listener failed", zap.Error(err))
		code = exitError
	}
	grace := cfg.Listen.ShutdownGrace.AsDuration()
	sctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	if err := httpSrv.Shutdown(sctx); err != nil {
		_ = httpSrv.Close()
	}
	grpcSrv.Stop()
	fmt.Fprintln(stdout, "lbauthz-demo: stopped")
	return code
}

// writeDemoDirectory writes demoDirectory into a new private folder, for the
// config's directory.file, and returns its path and a function that removes
// the folder.
func writeDemoDirectory() (string, func(), error) {
	dir, err := os.MkdirTemp("", "lbauthz-demo-")
	if err != nil {
		return "", nil, fmt.Errorf("the demo's directory: %w", err)
	}
	remove := func() { _ = os.RemoveAll(dir) }
	file := filepath.Join(dir, "directory.json")
	if err := os.WriteFile(file, demoDirectory, 0o600); err != nil {
		remove()
		return "", nil, fmt.Errorf("the demo's directory: %w", err)
	}
	return file, remove, nil
}
