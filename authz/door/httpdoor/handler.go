// Package httpdoor is the HTTP doors of the sidecar: the direct auth endpoint
// (the Liveblocks client posts to it through any proxy), and the check
// endpoints of nginx auth_request, Traefik/Caddy forward-auth and Envoy's
// ext_authz HTTP mode. Each turns its request into one authz.Request, asks
// the engine in use, and writes the Decision back. It decides nothing itself.
package httpdoor

import (
	"net/http"
	"net/netip"
	"strings"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/lbauthz/lbauthz/authz"
	"github.com/lbauthz/lbauthz/authz/config"
)

// The paths of the check doors on the HTTP listener. The direct auth
// endpoint is at the engine's auth path.
const (
	pathCheckNginx   = "/check/nginx"
	pathCheckForward = "/check/forward"
	pathCheckEnvoy   = "/check/envoy"
)

// Settings are the HTTP doors' own settings (http_doors in the config). The
// zero value works: loopback peers are trusted and bodies are capped at
// config.DefaultMaxBodyBytes.
type Settings struct {
	// TrustedPeers are the peers whose check requests and forwarded headers
	// are believed (http_doors.trusted_peers); empty: loopback.
	TrustedPeers []netip.Prefix
	// MaxBodyBytes caps the body the direct auth endpoint reads
	// (http_doors.max_body_bytes); 0: config.DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// TrustedHops is how many X-Forwarded-For entries, counted from the
	// end, the trusted proxies wrote (http_doors.trusted_hops); the client
	// is the earliest of them. 0: config.DefaultTrustedHops.
	TrustedHops int
}

// Options configures the HTTP doors.
type Options struct {
	// Settings are the settings at start; SetSettings changes them (a
	// reload).
	Settings Settings
	// Next serves the requests for paths that are not doors (/healthz,
	// /readyz). It only gets clean paths: a path that net/http's ServeMux
	// would redirect is answered 404 here, so the listener never answers 3xx.
	// Nil answers 404.
	Next http.Handler
	// Logger receives a warning per check that shows a misconfigured proxy
	// (an untrusted peer, the auth path sent to a check); nil logs nothing.
	// Decisions are logged by the engine.
	Logger *zap.Logger
	// ReadTimeout is the listener's own (http.Server.ReadTimeout; 0: none).
	// The direct endpoint reads its body within bodyReadTimeout, or this
	// when shorter, and then puts this deadline back.
	ReadTimeout time.Duration
}

// Handler is the HTTP doors over the engine in use. It is safe for
// concurrent use.
type Handler struct {
	engines  authz.EngineSource
	opts     Options
	settings atomic.Pointer[settings]
	// names holds the identity header names of the engine last seen, in the
	// forms the doors write; rebuilt when a reload swaps the engine.
	names atomic.Pointer[headerForms]
}

var _ http.Handler = (*Handler)(nil)

// New returns the HTTP doors over the engines:
//
//	<auth path>          the direct auth endpoint (direct.go)
//	<directory paths>    the directory's endpoints, answered the same way
//	/check/nginx         nginx auth_request (check.go)
//	/check/forward       Traefik forwardAuth, Caddy forward_auth
//	/check/envoy/<path>  Envoy ext_authz, HTTP-service mode
//
// It dispatches on the raw request target itself, never through
// http.ServeMux: ServeMux answers an unclean path (//x, /a/../x) with a
// redirect, and nginx's auth_request turns any 3xx into a 500. Every other
// clean path goes to opts.Next.
func New(engines authz.EngineSource, opts Options) *Handler {
	if opts.Logger == nil {
		opts.Logger = zap.NewNop()
	}
	h := &Handler{engines: engines, opts: opts}
	h.SetSettings(opts.Settings)
	return h
}

// SetSettings puts new settings in use, for the requests that start from
// now on.
func (h *Handler) SetSettings(s Settings) {
	if len(s.TrustedPeers) == 0 {
		s.TrustedPeers = defaultTrustedPeers
	}
	if s.MaxBodyBytes <= 0 {
		s.MaxBodyBytes = config.DefaultMaxBodyBytes
	}
	if s.TrustedHops <= 0 {
		s.TrustedHops = config.DefaultTrustedHops
	}
	h.settings.Store(&settings{trustedPeers: s.TrustedPeers, maxBodyBytes: s.MaxBodyBytes, trustedHops: s.TrustedHops})
}

// settings are Settings with the defaults applied.
type settings struct {
	trustedPeers []netip.Prefix
	maxBodyBytes int64
	trustedHops  int
}

// defaultTrustedPeers are trusted when the settings do not say which peers
// are.
var defaultTrustedPeers = func() []netip.Prefix {
	var out []netip.Prefix
	for _, p := range config.DefaultTrustedPeers {
		prefix, _ := config.ParsePeer(p)
		out = append(out, prefix)
	}
	return out
}()

// ServeHTTP answers one request to the HTTP listener.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	e := h.engines.Engine()
	st := h.settings.Load()
	// RequestURI is the request target as received: raw, undecoded, with the
	// query. The origin form is the only one a proxy sends to an upstream.
	target := r.RequestURI
	if !strings.HasPrefix(target, "/") {
		d := authz.Deny(authz.BadRequest, http.StatusBadRequest, "bad_request", "the request target must be a path")
		writeDecision(w, r, &d)
		return
	}
	rawPath := authz.StripQuery(target)
	if r.ContentLength != 0 && r.ProtoMajor == 1 && (rawPath != e.AuthPath() || r.Method != http.MethodPost) {
		// Only the direct endpoint reads a body. Any other is left unread,
		// and net/http would read on to the end of it after the answer, to
		// keep the connection: a client trickling a declared body would hold
		// the connection for as long as it likes.
		w.Header()["Connection"] = connectionClose
		defer stopReading(w)
	}
	switch {
	case rawPath == pathCheckNginx:
		h.check(w, r, e, st, nginxDoor, target)
	case rawPath == pathCheckForward:
		h.check(w, r, e, st, forwardDoor, target)
	case rawPath == pathCheckEnvoy || strings.HasPrefix(rawPath, pathCheckEnvoy+"/"):
		h.check(w, r, e, st, envoyHTTPDoor, target)
	case rawPath == e.AuthPath() || e.IsDirectoryPath(rawPath):
		h.direct(w, r, e, st, target)
	case !isCleanPath(rawPath):
		d := authz.Deny(authz.BadRequest, http.StatusNotFound, "not_found",
			"no such path (paths are matched exactly, without cleaning)")
		writeDecision(w, r, &d)
	case h.opts.Next != nil:
		h.opts.Next.ServeHTTP(w, r)
	default:
		d := authz.Deny(authz.BadRequest, http.StatusNotFound, "not_found", "no such path")
		writeDecision(w, r, &d)
	}
}

// isCleanPath reports whether ServeMux would take p as it is: no empty, "."
// or ".." segment, and no escapes (which the mux would decode first).
func isCleanPath(p string) bool {
	if p == "" || p[0] != '/' || strings.Contains(p, "%") {
		return false
	}
	for seg := range strings.SplitSeq(p[1:], "/") {
		if seg == "." || seg == ".." {
			return false
		}
	}
	return !strings.Contains(p, "//")
}

// trusted reports whether the request's TCP peer is a trusted proxy.
func (st *settings) trusted(r *http.Request) (netip.Addr, bool) {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}, false
	}
	a := ap.Addr().Unmap().WithZone("")
	return a, containsAddr(st.trustedPeers, a)
}

// describe fills in what the engine's checks read from the request's
// headers: the client's address, the request's host and scheme (from a
// trusted proxy's forwarded headers), Origin and Sec-Fetch-Site.
func (st *settings) describe(req *authz.Request, r *http.Request) {
	peer, trusted := st.trusted(r)
	st.describeFrom(req, r, peer, trusted)
}

// describeFrom is describe for a request whose peer is known.
func (st *settings) describeFrom(req *authz.Request, r *http.Request, peer netip.Addr, trusted bool) {
	f := forwardedClient(r, peer, trusted, st.trustedHops)
	req.ClientAddr, req.Host, req.Scheme = f.addr, f.host, f.scheme
	req.Origin = firstValue(r.Header, "Origin")
	req.SecFetchSite = firstValue(r.Header, "Sec-Fetch-Site")
}

// credentials puts the request's credentials other than cookies in req:
// the Authorization header, and the header a session source reads.
func credentials(req *authz.Request, h http.Header, e *authz.Engine) {
	if v := h["Authorization"]; len(v) > 0 {
		req.Authorization = authz.HeaderValue{Value: v[0], Lines: len(v)}
	}
	if _, name := e.CredentialHeader(); name != "" {
		if v := h[name]; len(v) > 0 {
			req.CredentialHeader = authz.HeaderValue{Value: v[0], Lines: len(v)}
		}
	}
}

// firstValue is the first value of a header, by its canonical key: unlike
// Header.Get, it does not canonicalize the key on every request.
func firstValue(h http.Header, key string) string {
	if v := h[key]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// writeDecision writes a decision the sidecar answers itself (a refusal, or
// the token), with the headers the gRPC door sets on its denied_response:
// content-type, cache-control: no-store, and the decision's own (allow: POST
// on a 405). A refusal (4xx, 5xx) closes an HTTP/1 connection.
func writeDecision(w http.ResponseWriter, r *http.Request, d *authz.Decision) {
	hdr := w.Header()
	if d.ContentType != "" {
		hdr["Content-Type"] = []string{d.ContentType}
	}
	hdr["Cache-Control"] = noStore
	for _, kv := range d.Header {
		hdr.Set(kv[0], kv[1]) // a decision's own Cache-Control replaces no-store
	}
	status := answerStatus(d.Status)
	if status >= 400 && r.ProtoMajor == 1 {
		// A refused client gets no kept-alive connection to try again on:
		// whatever it left unread is not drained, and a flood of refused
		// requests costs it a connection each. (HTTP/2 refuses a stream,
		// not the connection other streams share.)
		hdr["Connection"] = connectionClose
	}
	w.WriteHeader(status)
	_, _ = w.Write(d.Body)
}

// stopReading ends the reading of a request whose answer closes the
// connection: net/http reads what is left of an unread body before it
// closes, and a deadline already past ends that at once. Called once the
// answer is written, so that the request's context (which a failed read
// cancels) has served its purpose.
func stopReading(w http.ResponseWriter) {
	_ = http.NewResponseController(w).SetReadDeadline(time.Now())
}

var (
	noStore         = []string{"no-store"}
	connectionClose = []string{"close"}
)

// answerStatus keeps an HTTP door's answer out of the 1xx and 3xx ranges: a
// proxy would follow or relay a redirect (nginx's auth_request makes it a
// 500), and a 1xx is no answer at all. Such a status (only Liveblocks could
// give one) becomes a 503, which the Liveblocks client retries.
func answerStatus(s int) int {
	if s < 200 || (s >= 300 && s < 400) || s > 599 {
		return http.StatusServiceUnavailable
	}
	return s
}

// headerForms are an engine's identity header names as the check doors
// write them: canonical keys for net/http's header map, the configured
// (lower-case) names, and the values of Envoy's
// x-envoy-auth-headers-to-remove, indexed by which identity headers the
// answer sets (bit i for names[i]; 0 for a request without identity). Built
// once per engine.
type headerForms struct {
	engine *authz.Engine
	keys   [3]string // user id, groups, user info; "" when not used
	names  [3]string
	remove [8]string
}

func (h *Handler) headerForms(e *authz.Engine) *headerForms {
	if f := h.names.Load(); f != nil && f.engine == e {
		return f
	}
	n := e.Headers()
	f := &headerForms{engine: e, names: [3]string{n.UserID, n.GroupIDs, n.UserInfo}}
	for i, name := range f.names {
		f.keys[i] = http.CanonicalHeaderKey(name)
	}
	for set := range f.remove {
		var remove []string
	names:
		for _, name := range e.HeaderNamesToRemove() {
			for i := range f.names {
				if set&(1<<i) != 0 && strings.EqualFold(f.names[i], name) {
					continue names
				}
			}
			remove = append(remove, name)
		}
		f.remove[set] = strings.Join(remove, ",")
	}
	h.names.Store(f)
	return f
}

func containsAddr(prefixes []netip.Prefix, a netip.Addr) bool {
	a = a.Unmap().WithZone("")
	for _, p := range prefixes {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
