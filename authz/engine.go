// Package authz decides, for one HTTP request seen by a proxy, whether it goes
// to the app (and with which identity headers) or is answered by the sidecar
// (the Liveblocks token for the auth path, or a refusal).
//
// The Engine is protocol-neutral: each door (Envoy's gRPC ext_authz, the HTTP
// doors for nginx, Caddy, Traefik and Envoy's HTTP mode) turns its input into
// a Request, asks Decide, and writes the Decision back in its own format.
package authz

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"strings"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/trace"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/lbauthz/lbauthz/authz/directory"
	"github.com/lbauthz/lbauthz/authz/rooms"
	"github.com/lbauthz/lbauthz/authz/session"
	"github.com/lbauthz/lbauthz/internal/deadline"
	"github.com/lbauthz/lbauthz/liveblocks"
)

// Request is what the engine needs to know of an HTTP request.
type Request struct {
	// Door names the door that asks ("envoy_grpc", "nginx", ...).
	Door string
	// Method is the original request's method.
	Method string
	// Path is the original request's path, with or without its query string.
	Path string
	// Cookie is the value of the request's Cookie header, and Cookies the
	// values of any further Cookie headers (a door that has them as a slice
	// may put them all in Cookies).
	Cookie  string
	Cookies []string
	// Authorization is the request's Authorization header, and
	// CredentialHeader the header Engine.CredentialHeader names (when a
	// session source reads one): the credentials other than a cookie.
	Authorization    HeaderValue
	CredentialHeader HeaderValue
	// Body is the request body when the door has it (the auth path's
	// {"room": ...}); HasBody says whether it does.
	Body    []byte
	HasBody bool
	// PartialBody says the proxy sent only the start of the body (Envoy's
	// x-envoy-auth-partial-body: true, with allow_partial_message): a token
	// request with such a body is refused, never parsed.
	PartialBody bool

	// Origin, SecFetchSite and Host are the request's Origin, Sec-Fetch-Site
	// and Host (:authority) headers, for the auth path's origin check
	// (origin.go).
	Origin, SecFetchSite, Host string
	// Scheme is the scheme the client used ("http" or "https"), when the
	// door knows it; "" when it does not (origin.go).
	Scheme string
	// ClientAddr is the client's address as far as the door can tell (see
	// auth_limits.per_address); the zero Addr when it cannot.
	ClientAddr netip.Addr
	// Headers are the request's headers, when the door has them as a map of
	// lower-case names (Envoy's gRPC door): the trace context of the request
	// is read from them (tracing.go).
	Headers map[string]string
}

// HeaderNames are the headers that carry the identity to the app. Empty
// names are not used.
type HeaderNames struct {
	UserID   string
	GroupIDs string
	UserInfo string
}

// All returns the names in use.
func (h HeaderNames) All() []string {
	var out []string
	for _, n := range []string{h.UserID, h.GroupIDs, h.UserInfo} {
		if n != "" {
			out = append(out, n)
		}
	}
	return out
}

// DefaultHeaderNames are the identity header names of the shipped configs.
// Every answer removes them from a request, whatever the config names.
var DefaultHeaderNames = HeaderNames{UserID: "x-user-id", GroupIDs: "x-user-groups", UserInfo: "x-user-info"}

// headerNamesToRemove lists, once each, the configured identity header names
// and the default ones, each also spelt with "_" for "-": a CGI-style app
// (PHP, WSGI, Rack) reads x_user_id as x-user-id.
func headerNamesToRemove(h HeaderNames) []string {
	var out []string
	seen := map[string]bool{}
	for _, n := range append(h.All(), DefaultHeaderNames.All()...) {
		n = strings.ToLower(n)
		for _, v := range []string{n, strings.ReplaceAll(n, "-", "_")} {
			if !seen[v] {
				seen[v] = true
				out = append(out, v)
			}
		}
	}
	return out
}

// Options configures an Engine.
type Options struct {
	// AuthPath is the path the Liveblocks client posts to, matched exactly.
	AuthPath string
	// CookieName is the app's session cookie; or Bearer, the token of an
	// "Authorization: Bearer" header; or Header, the value of that request
	// header: where the first session source reads its credential.
	CookieName string
	Bearer     bool
	Header     string
	// MaxCookieBytes refuses longer credentials before any lookup.
	MaxCookieBytes int
	// Sessions resolves the credentials into identities.
	Sessions *session.Resolver
	// MoreSources are the other session sources (more_sessions), each
	// with its store (credentials.go).
	MoreSources []Source
	// Liveblocks issues the tokens (a *liveblocks.Client).
	Liveblocks TokenIssuer
	// LiveblocksTimeout bounds one call to Liveblocks (the request's own
	// deadline applies when shorter).
	LiveblocksTimeout time.Duration
	// Headers names the identity headers.
	Headers HeaderNames
	// UnavailableOnStoreError decides pass-through requests when the session
	// store is unavailable: false (the default) forwards them as anonymous,
	// true answers 503.
	UnavailableOnStoreError bool
	// Provisioner, if set, creates the room a token request is for before
	// the ID token is issued (rooms.provision).
	Provisioner *rooms.Provisioner
	// AccessPolicy, if set, makes the auth path hand out access tokens with
	// the room patterns it gives (liveblocks.mode access_token) instead of
	// ID tokens.
	AccessPolicy *rooms.Policy
	// Limits are the auth path's rate limits and origin check
	// (auth_limits); nil limits nothing.
	Limits *Limits
	// UnlimitedPeers are addresses never rate limited: the proxies trusted
	// to say the client's address (http_doors.trusted_peers), whose own
	// address stands for many clients.
	UnlimitedPeers []netip.Prefix
	// StoreKind names the session store (jwt, redis, sql, introspection),
	// for explain.
	StoreKind string

	// Logger receives one access line per decision, at AccessLevel (zero:
	// info; log.access_level defaults to debug), and at warn at least for
	// a 503; nil logs nothing.
	Logger      *zap.Logger
	AccessLevel zapcore.Level
	// Metrics, if set, count the decisions (metrics.go).
	Metrics *Metrics
	// TracerProvider, if set, traces the decisions (tracing.go).
	TracerProvider trace.TracerProvider
	// Replicas are the shared limits, the revocations and the audit trail
	// (replicas.go).
	Replicas Replicas
	// Directory, if set, answers the client's resolvers at its paths for
	// signed-in users (directory_path.go); the engine closes it.
	Directory *directory.Handler
}

// Engine makes the decisions. It is safe for concurrent use.
type Engine struct {
	opts    Options
	log     *zap.Logger
	headers []string // identity header names, for removal

	tracer trace.Tracer // nil: tracing off
	timed  bool         // whether decisions are timed (for metrics or logs)

	warnedNoBody atomic.Bool // see warnNoBody

	// sources are where the session credential is read: the first from
	// Options' CookieName (or Bearer, or Header), then MoreSources.
	sources []Source
	// credHeader is the header a source reads, lower-case and canonical.
	credHeader, credHeaderCanonical string
}

// New returns an engine. Sessions, Liveblocks, AuthPath, CookieName,
// MaxCookieBytes and LiveblocksTimeout are required (their defaults are the
// config's, applied by its loader).
func New(opts Options) (*Engine, error) {
	if opts.Sessions == nil || opts.Liveblocks == nil {
		return nil, errors.New("authz: Sessions and Liveblocks are required")
	}
	if opts.AuthPath == "" || (opts.CookieName == "" && !opts.Bearer && opts.Header == "") {
		return nil, errors.New("authz: AuthPath and CookieName (or Bearer, or Header) are required")
	}
	if opts.MaxCookieBytes <= 0 || opts.LiveblocksTimeout <= 0 {
		return nil, errors.New("authz: MaxCookieBytes and LiveblocksTimeout are required")
	}
	log := opts.Logger
	if log == nil {
		log = zap.NewNop()
	}
	e := &Engine{opts: opts, log: log, headers: headerNamesToRemove(opts.Headers)}
	e.sources = append([]Source{{Cookie: opts.CookieName, Bearer: opts.Bearer, Header: opts.Header,
		MaxBytes: opts.MaxCookieBytes, Sessions: opts.Sessions, StoreKind: opts.StoreKind}}, opts.MoreSources...)
	for i, s := range e.sources {
		if s.Sessions == nil || s.MaxBytes <= 0 {
			return nil, fmt.Errorf("authz: session source %d has no Sessions or MaxBytes", i)
		}
		if s.Header == "" {
			continue
		}
		if e.credHeader != "" && !strings.EqualFold(e.credHeader, s.Header) {
			return nil, errors.New("authz: the session sources read more than one header")
		}
		e.credHeader, e.credHeaderCanonical = strings.ToLower(s.Header), http.CanonicalHeaderKey(s.Header)
	}
	if opts.TracerProvider != nil {
		e.tracer = opts.TracerProvider.Tracer(TracerName)
	}
	e.timed = opts.Metrics != nil || log.Core().Enabled(min(opts.AccessLevel, zapcore.WarnLevel))
	return e, nil
}

// Headers returns the names of the identity headers.
func (e *Engine) Headers() HeaderNames { return e.opts.Headers }

// HeaderNamesToRemove lists the identity headers a request must not carry to
// the app unless the answer sets them: the configured names and
// DefaultHeaderNames, each also spelt with "_" for "-", in lower case. The
// slice must not be changed.
func (e *Engine) HeaderNamesToRemove() []string { return e.headers }

// Sessions returns the resolver of the engine's sessions.
func (e *Engine) Sessions() *session.Resolver { return e.opts.Sessions }

// AuthPath returns the path the engine answers itself.
func (e *Engine) AuthPath() string { return e.opts.AuthPath }

// StripQuery returns a request target without its query string.
func StripQuery(target string) string { return stripQuery(target) }

// IsAuthPath reports whether a request path (with or without a query string)
// is the auth path. The match is exact and case-sensitive, on the raw path.
func (e *Engine) IsAuthPath(path string) bool { return stripQuery(path) == e.opts.AuthPath }

// Decide decides one request. It never fails: every problem is a Decision.
func (e *Engine) Decide(ctx context.Context, r *Request) Decision {
	var start time.Time
	if e.timed {
		start = time.Now()
	}
	ctx, span := e.startSpan(ctx, r) // tracing.go
	var d Decision
	kind := e.pathKind(r.Path) // directory_path.go
	switch kind {
	case authPath:
		d = e.decideAuth(ctx, r, noRecord{})
	case directoryPath:
		d = e.decideDirectory(ctx, r, noRecord{})
	default:
		d = e.decidePassThrough(ctx, r, noRecord{})
	}
	e.finish(r, &d, kind, start, span) // observe.go
	return d
}

// The decide functions take the recorder of the steps (recorder.go): Explain
// passes an *explainer, Decide noRecord.

func (e *Engine) decidePassThrough(ctx context.Context, r *Request, x recorder) Decision {
	id, err := e.identify(ctx, r, x)
	switch {
	case err == nil:
		return Decision{Outcome: AllowIdentity, Allow: true, Identity: id}
	case session.IsUnavailable(err) && e.opts.UnavailableOnStoreError:
		return deny(Unavailable, http.StatusServiceUnavailable, "unavailable", "session store unavailable")
	}
	return Decision{Outcome: AllowAnonymous, Allow: true, Reason: reasonOf(err)}
}

func (e *Engine) decideAuth(ctx context.Context, r *Request, x recorder) Decision {
	if d, ok := e.preflight(r); ok { // origin.go
		return d
	}
	if r.Method != http.MethodPost {
		d := deny(BadRequest, http.StatusMethodNotAllowed, "method_not_allowed", "the auth path takes POST")
		d.Header = [][2]string{{"allow", "POST"}}
		return d
	}
	if r.PartialBody {
		// Envoy held only the first max_request_bytes of the body: the room
		// it names cannot be read, so neither the store nor Liveblocks is
		// asked. 413, as the direct endpoint answers a body over its limit.
		return deny(BadRequest, http.StatusRequestEntityTooLarge, "payload_too_large",
			"the request body is over the proxy's limit and arrived partial")
	}
	cors, d, refused := e.checkOrigin(r) // origin.go
	if refused {
		return d
	}
	d = e.issue(ctx, r, x)
	if len(cors) > 0 {
		d.Header = append(d.Header, cors...)
	}
	return d
}

// issue answers a token request that passed the origin check.
func (e *Engine) issue(ctx context.Context, r *Request, x recorder) Decision {
	// Explain neither checks nor spends the rate limits' budgets (limits.go).
	now := time.Now()
	id, d, ok := e.signedIn(ctx, r, x, now) // directory_path.go
	if !ok {
		return d
	}
	if id.Problem != "" {
		return deny(Forbidden, http.StatusForbidden, "forbidden", id.Problem)
	}
	if !x.recording() {
		if d, limited := e.userLimited(ctx, id.UserID, now); limited {
			d.Identity = id
			return d
		}
	}
	d = e.token(ctx, r, id, x)
	d.Identity = id
	return d
}

// token gets the token of an identity from Liveblocks, after provisioning
// the room it is for.
func (e *Engine) token(ctx context.Context, r *Request, id *session.Identity, x recorder) Decision {
	room, reason := roomOf(r)
	if reason != "" {
		return deny(BadRequest, http.StatusBadRequest, "bad_request", reason)
	}
	x.forRoom(room)
	lctx, cancel := context.WithTimeout(ctx, e.liveblocksBudget(ctx))
	defer cancel()
	if e.opts.AccessPolicy != nil {
		return e.accessToken(lctx, id, room, x)
	}
	if !r.HasBody && e.opts.Provisioner != nil {
		e.warnNoBody(r.Door)
	}
	if room != "" && e.opts.Provisioner != nil {
		if d, ok := e.provision(lctx, room, id.OrganizationID, x); !ok {
			return d
		}
	}
	req := liveblocks.IdentifyUserRequest{UserID: id.UserID, GroupIDs: id.GroupIDs, UserInfo: id.UserInfo(), OrganizationID: id.OrganizationID}
	x.call("POST /v2/identify-user", req)
	if x.dryRun() {
		return x.notSent()
	}
	return liveblocksDecision(e.opts.Liveblocks.IdentifyUser(lctx, req))
}

// liveblocksBudget is how long a Liveblocks call may take: the configured
// timeout, but ending before the caller's own deadline (Envoy's ext_authz
// timeout) with a margin, so the answer is our 503 (which the browser's
// client retries) and not the proxy's own timeout error.
func (e *Engine) liveblocksBudget(ctx context.Context) time.Duration {
	return deadline.Budget(ctx, e.opts.LiveblocksTimeout)
}

// liveblocksDecision answers the browser with what Liveblocks answered, with
// the status mapping of Liveblocks' own SDK (already applied by the client).
func liveblocksDecision(resp liveblocks.AuthResponse) Decision {
	d := Decision{Status: resp.Status, Body: resp.Body, ContentType: resp.ContentType}
	if d.ContentType == "" {
		d.ContentType = contentTypeJSON
	}
	switch {
	case resp.Status == http.StatusOK:
		d.Outcome, d.ContentType = TokenIssued, contentTypeJSON
	case resp.Status == http.StatusServiceUnavailable:
		d.Outcome, d.Reason = Unavailable, "liveblocks unavailable"
	default:
		d.Outcome, d.Reason = Rejected, "liveblocks answered "+http.StatusText(resp.Status)
	}
	return d
}

// errNoCookie and friends are the reasons a request has no session.
var (
	errNoCookie        = session.Invalid("no session cookie")
	errNoCredential    = session.Invalid("no session credential")
	errAmbiguousCookie = session.Invalid("more than one session cookie")
	errCookieTooLong   = session.Invalid("session cookie over the size limit")
	errCookieMalformed = session.Invalid("malformed session cookie")
)

// publicReason is the reason a 401 gives the client: one of a few fixed
// sentences that say what the client can change (send one cookie, sign in
// again) and nothing of the config or the session store.
func publicReason(err error) string {
	switch err {
	case errNoCookie:
		return "no session cookie"
	case errNoCredential:
		return "no session credential"
	case errDisagree:
		return "session credentials name different users"
	case errAmbiguousCookie:
		return "more than one session cookie"
	case errCookieTooLong, errCookieMalformed:
		return "malformed session cookie"
	}
	return "invalid or expired session"
}

func reasonOf(err error) string {
	if ie, ok := err.(*session.InvalidError); ok {
		return ie.Reason
	}
	var ie *session.InvalidError
	if errors.As(err, &ie) {
		return ie.Reason
	}
	if session.IsUnavailable(err) {
		return "session store unavailable"
	}
	return "no session"
}

func stripQuery(p string) string {
	for i := 0; i < len(p); i++ {
		if p[i] == '?' {
			return p[:i]
		}
	}
	return p
}
