package authz

import (
	"context"
	"net/http"
	"time"

	"github.com/lbauthz/lbauthz/authz/directory"
	"github.com/lbauthz/lbauthz/authz/session"
)

// pathKind says which of its paths the engine answers a request on.
type pathKind uint8

const (
	passThroughPath pathKind = iota // the app answers
	authPath                        // the token
	directoryPath                   // the directory's endpoints
	numPathKinds
)

// pathKind is the kind of a request path (with or without a query string).
func (e *Engine) pathKind(path string) pathKind {
	p := stripQuery(path)
	switch {
	case p == e.opts.AuthPath:
		return authPath
	case e.opts.Directory != nil && e.opts.Directory.Serves(p):
		return directoryPath
	}
	return passThroughPath
}

// IsDirectoryPath reports whether a request path (with or without a query
// string) is one of the directory's endpoints (Options.Directory): an exact,
// case-sensitive match on the raw path, as for the auth path. Always false
// without a directory. It does not allocate.
func (e *Engine) IsDirectoryPath(path string) bool {
	return e.opts.Directory != nil && e.opts.Directory.Serves(stripQuery(path))
}

// DirectoryPaths returns the paths of the directory's endpoints; nil
// without a directory.
func (e *Engine) DirectoryPaths() []string {
	if e.opts.Directory == nil {
		return nil
	}
	p := e.opts.Directory.Paths().All()
	return p[:]
}

// decideDirectory answers a request of the directory's endpoints (the
// client's resolveUsers and friends) for the request's session, as the auth
// path answers a token request: the same session sources, revocations,
// origin check and budget of requests without a valid session per address,
// and the same 401s. The user's own budget (auth_limits.per_user) is that
// of token requests and is not spent here: the resolvers ask at every key
// typed after "@".
func (e *Engine) decideDirectory(ctx context.Context, r *Request, x recorder) Decision {
	cors, d, refused := e.checkOrigin(r) // origin.go
	if refused {
		return d
	}
	id, d, ok := e.signedIn(ctx, r, x, time.Now())
	if !ok {
		return d
	}
	if id.Problem != "" {
		d = deny(Forbidden, http.StatusForbidden, "forbidden", id.Problem)
		d.Identity = id
		return d
	}
	if x.dryRun() {
		d = Decision{Outcome: DirectoryAnswered, Status: http.StatusOK, ContentType: directory.ContentType,
			Reason: "the directory is not asked without a call to Liveblocks"}
	} else {
		who := directory.Who{UserID: id.UserID, GroupIDs: id.GroupIDs, OrganizationID: id.OrganizationID}
		d = directoryDecision(e.opts.Directory.Answer(ctx, r.Method, r.Path, who))
	}
	d.Identity = id
	d.Header = append(d.Header, cors...)
	return d
}

// directoryDecision is the decision that sends a directory answer.
func directoryDecision(a directory.Answer) Decision {
	d := Decision{Status: a.Status, ContentType: directory.ContentType, Body: a.Body,
		Header: [][2]string{{"cache-control", directory.CacheControl}}}
	switch a.Status {
	case http.StatusOK:
		d.Outcome = DirectoryAnswered
	case http.StatusForbidden:
		d.Outcome, d.Reason = Forbidden, "directory: no access to the room"
	case http.StatusServiceUnavailable:
		d.Outcome, d.Reason = Unavailable, "directory unavailable"
	default:
		d.Outcome, d.Reason = BadRequest, "directory: "+http.StatusText(a.Status)
	}
	if a.Allow != "" {
		d.Header = append(d.Header, [2]string{"allow", a.Allow})
	}
	return d
}

// signedIn resolves the session of a request the sidecar answers only for a
// signed-in user (a token request, a directory request). It returns the
// identity, or the refusal: 503 when a session store is unavailable, 401
// with a short public reason when there is no valid session (spending the
// client address's budget), 429 when that budget is already spent and the
// request's session is not one already known to be valid.
//
// Explain neither checks nor spends the budgets (limits.go).
func (e *Engine) signedIn(ctx context.Context, r *Request, x recorder, now time.Time) (*session.Identity, Decision, bool) {
	var (
		id  *session.Identity
		err error
	)
	if d, limited := e.addressLimited(ctx, r, now); limited && !x.recording() {
		// The address has spent its budget of requests without a valid
		// session. It may be shared (an office's NAT, a proxy missing from
		// trusted_peers): a session already known to be valid still gets
		// through, and anything else is refused without asking the store.
		var ok bool
		if id, ok = e.cachedIdentity(r); !ok {
			return nil, d, false
		}
		if v, _ := e.matchedCredential(r); e.revoked(v, id) {
			return nil, d, false
		}
		return id, Decision{}, true
	}
	id, err = e.identify(ctx, r, x)
	if err == nil {
		return id, Decision{}, true
	}
	if session.IsUnavailable(err) {
		// Never 401 here: the client would stop retrying and the user
		// would be locked out until a reload.
		return nil, deny(Unavailable, http.StatusServiceUnavailable, "unavailable", reasonOf(err)), false
	}
	if !x.recording() {
		e.spendAddress(ctx, r, now)
	}
	// The client gets a short reason from a fixed set; the store's own
	// (which may name a config path or a database error) is for logs.
	d := deny(Unauthorized, http.StatusUnauthorized, "unauthorized", publicReason(err))
	d.Reason = reasonOf(err)
	return nil, d, false
}
