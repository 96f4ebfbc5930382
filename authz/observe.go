package authz

import (
	"time"

	"go.opentelemetry.io/otel/trace"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// finish records a decision: its metrics, its access line and its span.
// Without metrics, tracing or an enabled access line it costs a few
// comparisons, and it never allocates for the metrics.
func (e *Engine) finish(r *Request, d *Decision, kind pathKind, start time.Time, span trace.Span) {
	var elapsed time.Duration
	if e.timed {
		elapsed = time.Since(start)
	}
	if m := e.opts.Metrics; m != nil {
		m.decision(r.Door, d.Outcome, kind, elapsed)
	}
	level := e.opts.AccessLevel
	if d.Outcome == Unavailable && level < zapcore.WarnLevel {
		// Whoever is locked out by a store or Liveblocks outage shows up
		// in the logs at the default level.
		level = zapcore.WarnLevel
	}
	if ce := e.log.Check(level, "decision"); ce != nil {
		e.writeAccess(ce, r, d, elapsed, span)
	}
	if kind == authPath {
		e.recordAudit(r, d, span) // replicas.go
	}
	if span != nil {
		endSpan(span, d, kind == authPath)
	}
}

// writeAccess writes the access line of a decision. It names the user but
// never holds the cookie, the session, a token or the request's query
// string (which may carry secrets of the app's).
func (e *Engine) writeAccess(ce *zapcore.CheckedEntry, r *Request, d *Decision, elapsed time.Duration, span trace.Span) {
	fields := make([]zap.Field, 0, 10)
	fields = append(fields, zap.String("door", r.Door), zap.String("method", r.Method),
		zap.String("path", stripQuery(r.Path)), zap.Stringer("outcome", d.Outcome),
		zap.Int("status", statusOf(d)))
	if d.Reason != "" {
		fields = append(fields, zap.String("reason", d.Reason))
	}
	if d.Identity != nil {
		fields = append(fields, zap.String("user", d.Identity.UserID))
	}
	if r.ClientAddr.IsValid() {
		fields = append(fields, zap.String("client", r.ClientAddr.String()))
	}
	if e.timed {
		fields = append(fields, zap.Duration("duration", elapsed))
	}
	if span != nil {
		if sc := span.SpanContext(); sc.IsValid() {
			fields = append(fields, zap.String("trace_id", sc.TraceID().String()))
		}
	}
	ce.Write(fields...)
}

// CountRefusal counts, in the decision metrics, a refusal a door gives
// without asking the engine (an untrusted peer, a body over the limit, a
// check request that does not say what it checks).
func (e *Engine) CountRefusal(door string, d *Decision) {
	if m := e.opts.Metrics; m != nil {
		if o := int(d.Outcome); o > 0 && o < numOutcomes {
			m.decisions[doorIndex(door)][o].Inc()
		}
	}
}
