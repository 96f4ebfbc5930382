package main

import (
	"context"
	"strings"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.uber.org/zap"
)

// tracing is the OpenTelemetry tracing of the process: off (nil provider)
// unless the standard OTEL_* variables ask for it.
type tracing struct {
	provider *sdktrace.TracerProvider
}

// setupTracing reads the standard OpenTelemetry variables. Tracing is on
// when OTEL_TRACES_EXPORTER is "otlp", or when it is unset and an OTLP
// endpoint is (OTEL_EXPORTER_OTLP_ENDPOINT or
// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT); OTEL_SDK_DISABLED=true turns it off.
// The exporter reads its own variables (endpoint, headers, TLS, timeout),
// the protocol is OTEL_EXPORTER_OTLP_TRACES_PROTOCOL or
// OTEL_EXPORTER_OTLP_PROTOCOL ("http/protobuf", the default, or "grpc"),
// the sampler OTEL_TRACES_SAMPLER (default: parentbased_always_on), and the
// resource OTEL_SERVICE_NAME (default "lbauthz") and
// OTEL_RESOURCE_ATTRIBUTES. A value it cannot use is logged and leaves
// tracing off: the sidecar still serves.
func setupTracing(ctx context.Context, getenv func(string) string, log *zap.Logger) *tracing {
	if !tracingWanted(getenv, log) {
		return &tracing{}
	}
	protocol := getenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
	if protocol == "" {
		protocol = getenv("OTEL_EXPORTER_OTLP_PROTOCOL")
	}
	var exp sdktrace.SpanExporter
	var err error
	switch protocol {
	case "", "http/protobuf":
		exp, err = otlptracehttp.New(ctx)
	case "grpc":
		exp, err = otlptracegrpc.New(ctx)
	default:
		log.Warn("tracing off: OTEL_EXPORTER_OTLP_PROTOCOL must be http/protobuf or grpc", zap.String("protocol", protocol))
		return &tracing{}
	}
	if err != nil {
		log.Warn("tracing off: the OTLP exporter could not be set up", zap.Error(err))
		return &tracing{}
	}
	res, err := resource.New(ctx,
		resource.WithAttributes(attribute.String("service.name", "lbauthz"), attribute.String("service.version", version)),
		resource.WithFromEnv(), resource.WithTelemetrySDK())
	if err != nil {
		log.Warn("tracing: resource attributes", zap.Error(err))
	}
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) {
		log.Warn("tracing: exporting spans failed", zap.Error(err))
	}))
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res))
	log.Info("tracing on", zap.String("exporter", "otlp"), zap.String("protocol", protocolName(protocol)))
	return &tracing{provider: tp}
}

func tracingWanted(getenv func(string) string, log *zap.Logger) bool {
	if strings.EqualFold(strings.TrimSpace(getenv("OTEL_SDK_DISABLED")), "true") {
		return false
	}
	switch exporters := strings.TrimSpace(getenv("OTEL_TRACES_EXPORTER")); exporters {
	case "":
		return getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != "" || getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != ""
	case "none":
		return false
	case "otlp":
		return true
	default:
		log.Warn(`tracing off: OTEL_TRACES_EXPORTER must be "otlp" or "none"`, zap.String("OTEL_TRACES_EXPORTER", exporters))
		return false
	}
}

func protocolName(p string) string {
	if p == "" {
		return "http/protobuf"
	}
	return p
}

// on reports whether spans are recorded.
func (t *tracing) on() bool { return t.provider != nil }

// shutdown sends the spans still buffered.
func (t *tracing) shutdown(log *zap.Logger) {
	if t.provider == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := t.provider.Shutdown(ctx); err != nil {
		log.Warn("tracing: flushing spans at shutdown", zap.Error(err))
	}
}
