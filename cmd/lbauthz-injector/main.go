// Command lbauthz-injector is the Kubernetes sidecar injector: a mutating
// admission webhook (internal/inject) that adds lbauthz as a native sidecar
// to the pods that ask for it. It runs in the cluster's control plane, a few
// replicas per cluster, and is a binary of its own so that the sidecar in
// every pod does not carry the Kubernetes API types it needs.
//
// Usage:
//
//	lbauthz-injector [--listen ADDR] [--tls-cert FILE] [--tls-key FILE] [flags]
//	lbauthz-injector version
package main

import (
	"context"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/lbauthz/lbauthz/internal/buildinfo"
	"github.com/lbauthz/lbauthz/internal/certwatch"
	"github.com/lbauthz/lbauthz/internal/inject"
)

// version is set at build time (see internal/buildinfo).
var version = buildinfo.Version()

// Exit codes.
const (
	exitOK    = 0
	exitError = 1
	exitUsage = 2
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run serves the injector over HTTPS until SIGTERM or SIGINT, or prints the
// version when args is "version".
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 1 && (args[0] == "version" || args[0] == "--version") {
		fmt.Fprintln(stdout, "lbauthz-injector", version)
		return exitOK
	}
	def := inject.DefaultOptions(version)
	opts := def
	fs := flag.NewFlagSet("lbauthz-injector", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", ":8443", "HTTPS address to serve AdmissionReviews on")
	certFile := fs.String("tls-cert", "/etc/lbauthz-webhook/tls/tls.crt", "TLS certificate (PEM), reloaded when the file changes")
	keyFile := fs.String("tls-key", "/etc/lbauthz-webhook/tls/tls.key", "TLS key (PEM), reloaded when the file changes")
	debug := fs.Bool("debug", false, "log every decision, also pods left unchanged")
	fs.StringVar(&opts.Image, "image", def.Image, "lbauthz image of the sidecar")
	fs.StringVar(&opts.NginxImage, "nginx-image", def.NginxImage, "nginx image of the nginx front door (runs as non-root)")
	fs.StringVar(&opts.ConfigMap, "config-map", def.ConfigMap, "default ConfigMap with config.yaml ("+inject.AnnotationConfig+")")
	fs.StringVar(&opts.Secret, "secret", def.Secret, "default Secret with the files the config reads ("+inject.AnnotationSecret+")")
	fs.StringVar(&opts.NginxConfigMap, "nginx-config-map", def.NginxConfigMap, "default ConfigMap with nginx.conf ("+inject.AnnotationNginxConfig+")")
	fs.StringVar(&opts.FrontDoor, "front-door", def.FrontDoor, "default front door, istio or nginx ("+inject.AnnotationFrontDoor+")")
	quantity := func(name string, q *resource.Quantity, usage string) {
		fs.Func(name, fmt.Sprintf("%s (default %s)", usage, q.String()), func(s string) error {
			v, err := resource.ParseQuantity(s)
			if err == nil {
				*q = v
			}
			return err
		})
	}
	quantity("cpu-request", &opts.CPURequest, "sidecar CPU request")
	quantity("cpu-limit", &opts.CPULimit, "sidecar CPU limit")
	quantity("memory-request", &opts.MemoryRequest, "sidecar memory request")
	quantity("memory-limit", &opts.MemoryLimit, "sidecar memory limit (GOMEMLIMIT is 90% of it)")
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "lbauthz-injector: unexpected argument %q\n", fs.Arg(0))
		return exitUsage
	}
	injector, err := inject.New(opts)
	if err != nil {
		fmt.Fprintf(stderr, "lbauthz-injector: %v\n", err)
		return exitUsage
	}
	cert, err := certwatch.Load(*certFile, *keyFile)
	if err != nil {
		fmt.Fprintf(stderr, "lbauthz-injector: %v\n", err)
		return exitError
	}
	level := zap.InfoLevel
	if *debug {
		level = zap.DebugLevel
	}
	ec := zap.NewProductionEncoderConfig()
	ec.EncodeTime = zapcore.ISO8601TimeEncoder
	log := zap.New(zapcore.NewCore(zapcore.NewJSONEncoder(ec), zapcore.Lock(zapcore.AddSync(stderr)), level))
	defer func() { _ = log.Sync() }()
	cert.OnReload = func(leaf *x509.Certificate) {
		log.Info("TLS certificate reloaded", zap.Time("not_after", leaf.NotAfter))
	}
	cert.OnError = func(err error) { log.Warn("TLS certificate not reloaded, keeping the previous one", zap.Error(err)) }

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	l, err := net.Listen("tcp", *listen)
	if err != nil {
		fmt.Fprintf(stderr, "lbauthz-injector: %v\n", err)
		return exitError
	}
	srv := &http.Server{
		Handler:           inject.NewHandler(injector, log),
		TLSConfig:         cert.ServerConfig(),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      10 * time.Second,
		IdleTimeout:       90 * time.Second,
		ErrorLog:          zap.NewStdLog(log.Named("http")),
	}
	log.Info("webhook serving", zap.String("addr", l.Addr().String()), zap.String("version", version),
		zap.String("image", opts.Image))
	errc := make(chan error, 1)
	go func() { errc <- srv.ServeTLS(l, "", "") }()
	select {
	case err = <-errc:
	case <-ctx.Done():
		shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		err = srv.Shutdown(shutdown)
	}
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Error("webhook stopped", zap.Error(err))
		return exitError
	}
	log.Info("webhook stopped")
	return exitOK
}
