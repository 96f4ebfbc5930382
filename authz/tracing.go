package authz

import (
	"context"

	"go.opentelemetry.io/contrib/propagators/b3"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// TracerName names the spans' instrumentation scope.
const TracerName = "github.com/lbauthz/lbauthz/authz"

// propagator reads and writes the trace context in the forms Envoy sends
// it: W3C traceparent (Envoy's OpenTelemetry tracer) and B3, single or
// multi-header (its Zipkin tracer).
var propagator propagation.TextMapPropagator = propagation.NewCompositeTextMapPropagator(
	propagation.TraceContext{}, propagation.Baggage{}, b3.New())

// Propagator returns the propagator the sidecar uses for incoming and
// outgoing trace context (W3C trace context and baggage, B3), for the gRPC
// and HTTP server instrumentation.
func Propagator() propagation.TextMapPropagator { return propagator }

// startSpan starts the span of one decision. With tracing off it returns
// ctx and a nil span, at no cost.
//
// Its parent is the span in ctx (the gRPC or HTTP server's, itself a child
// of the trace context the proxy put in the check call) or, when the request
// carries another trace in its own headers (Envoy passes the traceparent or
// b3 headers of the request it checks in attributes.request.http.headers),
// that trace: the decision then belongs to the user's request, and links to
// the server span.
func (e *Engine) startSpan(ctx context.Context, r *Request) (context.Context, trace.Span) {
	if e.tracer == nil {
		return ctx, nil
	}
	opts := []trace.SpanStartOption{
		trace.WithSpanKind(trace.SpanKindInternal),
		trace.WithAttributes(attribute.String("lbauthz.door", r.Door), attribute.String("http.request.method", r.Method)),
	}
	if r.Headers != nil {
		remote := trace.SpanContextFromContext(propagator.Extract(context.Background(), propagation.MapCarrier(r.Headers)))
		current := trace.SpanContextFromContext(ctx)
		if remote.IsValid() && remote.TraceID() != current.TraceID() {
			if current.IsValid() {
				opts = append(opts, trace.WithLinks(trace.Link{SpanContext: current}))
			}
			ctx = trace.ContextWithRemoteSpanContext(ctx, remote)
		}
	}
	return e.tracer.Start(ctx, "lbauthz.decide", opts...)
}

// endSpan records the decision on its span and ends it.
func endSpan(span trace.Span, d *Decision, auth bool) {
	span.SetAttributes(
		attribute.String("lbauthz.outcome", d.Outcome.String()),
		attribute.Int("http.response.status_code", statusOf(d)),
		attribute.Bool("lbauthz.auth_path", auth))
	if d.Reason != "" {
		span.SetAttributes(attribute.String("lbauthz.reason", d.Reason))
	}
	if d.Outcome == Unavailable {
		span.SetStatus(codes.Error, d.Reason)
	}
	span.End()
}

// statusOf is the status the client gets: the sidecar's own answer, or the
// app's (200 here) when the request is let through.
func statusOf(d *Decision) int {
	if d.Allow {
		return 200
	}
	return d.Status
}
