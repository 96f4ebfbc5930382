package authz

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/lbauthz/lbauthz/authz/session"
)

// observedStore counts and traces the lookups of a session store (the cache
// misses of the resolver in front of it).
type observedStore struct {
	store session.Store
	kind  string // jwt, redis, sql, introspection

	valid, invalid, unavailable prometheus.Counter // nil without metrics
	latency                     prometheus.Observer
	tracer                      trace.Tracer // nil without tracing
}

// ObserveStore wraps a session store so that its lookups are counted in m
// and traced with tracer; either may be nil, and with both nil it returns
// store itself.
func ObserveStore(store session.Store, kind string, m *Metrics, tracer trace.Tracer) session.Store {
	if m == nil && tracer == nil {
		return store
	}
	o := &observedStore{store: store, kind: kind, tracer: tracer}
	if m != nil {
		o.valid = m.storeLookups.WithLabelValues(kind, "valid")
		o.invalid = m.storeLookups.WithLabelValues(kind, "invalid")
		o.unavailable = m.storeLookups.WithLabelValues(kind, "unavailable")
		o.latency = m.storeLatency.WithLabelValues(kind)
	}
	return o
}

func (o *observedStore) Lookup(ctx context.Context, value string) (session.Data, error) {
	var span trace.Span
	if o.tracer != nil {
		ctx, span = o.tracer.Start(ctx, "session.lookup",
			trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(attribute.String("lbauthz.store", o.kind)))
	}
	start := time.Now()
	d, err := o.store.Lookup(ctx, value)
	result := "valid"
	switch {
	case err == nil:
	case session.IsInvalid(err):
		result = "invalid"
	default:
		result = "unavailable"
	}
	if o.latency != nil {
		o.latency.Observe(time.Since(start).Seconds())
		switch result {
		case "valid":
			o.valid.Inc()
		case "invalid":
			o.invalid.Inc()
		default:
			o.unavailable.Inc()
		}
	}
	if span != nil {
		span.SetAttributes(attribute.String("lbauthz.session", result))
		if result == "unavailable" {
			span.SetStatus(codes.Error, "session store unavailable")
		}
		span.End()
	}
	return d, err
}

// Close closes the store when it holds resources.
func (o *observedStore) Close() error {
	if c, ok := o.store.(interface{ Close() error }); ok {
		return c.Close()
	}
	return nil
}
