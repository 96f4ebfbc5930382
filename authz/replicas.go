package authz

import (
	"context"
	"net/http"
	"net/netip"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/lbauthz/lbauthz/authz/audit"
	"github.com/lbauthz/lbauthz/authz/session"
	"github.com/lbauthz/lbauthz/authz/shared"
)

// Replicas are what an engine shares with the other replicas of lbauthz
// (authz/shared) and its audit trail (authz/audit). The zero value shares
// nothing: per-process limits, no revocations, no audit trail.
type Replicas struct {
	// UserBudget and AddressBudget, if set, replace the per-process budgets
	// of auth_limits.per_user and per_address (a limit turned off stays
	// off).
	UserBudget, AddressBudget SharedBudget
	// Revocations, if set, refuse revoked users and sessions, on every path.
	Revocations Revocations
	// Audit, if set, receives one record per token request.
	Audit AuditTrail
	// CacheStore, if set, puts a shared cache in front of the session store
	// (shared.Redis.NewCachedStore), under the local cache. keep are the
	// paths of the session document the identity is made of.
	CacheStore func(store session.Store, keep []string) session.Store
}

// SharedBudget is a rate limit whose budgets all replicas share
// (*shared.Limiter). It never fails: it falls back to local budgets.
type SharedBudget interface {
	Take(ctx context.Context, key string) (time.Duration, bool)
	Spent(ctx context.Context, key string) (time.Duration, bool)
}

// Revocations say whether a user or a session is revoked
// (*shared.Revocations), from memory.
type Revocations interface {
	UserRevoked(userID string) bool
	SessionRevoked(cookieValue string) bool
}

// AuditTrail takes the records of the auth path (*audit.Log) without
// blocking.
type AuditTrail interface {
	Record(audit.Record)
}

var (
	_ SharedBudget = (*shared.Limiter)(nil)
	_ Revocations  = (*shared.Revocations)(nil)
	_ AuditTrail   = (*audit.Log)(nil)
)

// errRevoked is the reason of a revoked session: for the client, a session
// that is no longer valid.
var errRevoked = session.Invalid("revoked")

// revoked reports whether the session of cookie value v, or its user, is
// revoked.
func (e *Engine) revoked(v string, id *session.Identity) bool {
	rv := e.opts.Replicas.Revocations
	return rv != nil && (rv.SessionRevoked(v) || rv.UserRevoked(id.UserID))
}

// addressBudgetKey is the key of a client address in a shared budget: IPv6
// addresses count per /64, as in the local budgets.
func addressBudgetKey(a netip.Addr) string {
	a = a.Unmap().WithZone("")
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.String()
}

// recordAudit writes the audit record of a token request: issued or
// refused, by whom, for which room. CORS preflights ask for no token and
// are not recorded.
func (e *Engine) recordAudit(r *Request, d *Decision, span trace.Span) {
	a := e.opts.Replicas.Audit
	if a == nil || r.Method == http.MethodOptions {
		return
	}
	rec := audit.Record{Outcome: audit.Refused, Status: statusOf(d), Door: r.Door, Mode: "id_token"}
	if d.Outcome == TokenIssued {
		rec.Outcome = audit.Issued
	} else {
		rec.Reason = d.Reason
	}
	if e.opts.AccessPolicy != nil {
		rec.Mode = "access_token"
	}
	if id := d.Identity; id != nil {
		rec.User, rec.Groups = id.UserID, id.GroupIDs
	}
	rec.Room, _ = roomOf(r)
	if r.ClientAddr.IsValid() {
		rec.ClientAddr = r.ClientAddr.String()
	}
	if v, ok := e.matchedCredential(r); ok {
		rec.Session = shared.SessionHash(v)
	}
	if span != nil {
		if sc := span.SpanContext(); sc.IsValid() {
			rec.TraceID = sc.TraceID().String()
		}
	}
	a.Record(rec)
}
