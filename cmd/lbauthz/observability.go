package main

import (
	"context"
	"net/http"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc/filters"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.uber.org/zap"
	"google.golang.org/grpc"

	"github.com/lbauthz/lbauthz/authz"
	"github.com/lbauthz/lbauthz/internal/assemble"
)

// observability is what the process keeps across reloads to be watched:
// the Prometheus metrics (served at /metrics on the HTTP listener) and the
// OpenTelemetry tracing (off unless the OTEL_* variables ask for it).
type observability struct {
	registry *prometheus.Registry
	metrics  *authz.Metrics
	tracing  *tracing
	// build gives every engine the metrics and the tracing.
	build []assemble.Option
}

func newObservability(ctx context.Context, getenv func(string) string, log *zap.Logger) *observability {
	o := &observability{registry: prometheus.NewRegistry()}
	o.metrics = authz.NewMetrics(o.registry, version)
	o.tracing = setupTracing(ctx, getenv, log)
	o.build = []assemble.Option{assemble.WithMetrics(o.metrics)}
	if o.tracing.on() {
		o.build = append(o.build, assemble.WithTracerProvider(o.tracing.provider))
	}
	return o
}

func (o *observability) shutdown(log *zap.Logger) { o.tracing.shutdown(log) }

func (o *observability) metricsHandler() http.Handler {
	return promhttp.HandlerFor(o.registry, promhttp.HandlerOpts{})
}

// grpcServerOptions trace each Check, continuing the trace context Envoy
// puts in the call's metadata (health checks are not traced).
func (o *observability) grpcServerOptions() []grpc.ServerOption {
	if !o.tracing.on() {
		return nil
	}
	return []grpc.ServerOption{grpc.StatsHandler(otelgrpc.NewServerHandler(
		otelgrpc.WithTracerProvider(o.tracing.provider),
		otelgrpc.WithPropagators(authz.Propagator()),
		otelgrpc.WithFilter(filters.Not(filters.HealthCheck())),
	))}
}

// httpHandler traces the HTTP doors' requests, continuing the trace context
// of their headers; /metrics, /healthz and /readyz are not traced.
func (o *observability) httpHandler(h http.Handler) http.Handler {
	if !o.tracing.on() {
		return h
	}
	return otelhttp.NewHandler(h, "lbauthz.http",
		otelhttp.WithTracerProvider(o.tracing.provider),
		otelhttp.WithPropagators(authz.Propagator()),
		otelhttp.WithFilter(func(r *http.Request) bool {
			switch r.URL.Path {
			case "/metrics", "/healthz", "/readyz":
				return false
			}
			return true
		}),
		otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string {
			return r.Method + " " + spanRoute(r.URL.Path)
		}))
}

// spanRoute names a path of the HTTP listener without the part that comes
// from the app (the original path after /check/envoy).
func spanRoute(p string) string {
	for _, door := range []string{"/check/nginx", "/check/forward", "/check/envoy"} {
		if p == door || strings.HasPrefix(p, door+"/") {
			return door
		}
	}
	return "auth"
}
