package authz

import (
	"fmt"
	"net/http"
	"net/netip"
	"strings"
	"sync/atomic"

	"go.uber.org/zap"

	"github.com/lbauthz/lbauthz/authz/config"
	configv1 "github.com/lbauthz/lbauthz/proto/lbauthz/config/v1"
)

// The paths of the check doors on the HTTP listener. The direct auth
// endpoint is at the engine's auth path.
const (
	pathCheckNginx   = "/check/nginx"
	pathCheckForward = "/check/forward"
	pathCheckEnvoy   = "/check/envoy"
)

// HTTPDoorOptions configures the HTTP doors. The zero value works: the
// engine in use says which peers are trusted and how large a body may be
// (http_doors in its config, so a reload changes them), and an engine that
// does not say trusts loopback peers and caps bodies at 4096 bytes.
type HTTPDoorOptions struct {
	// TrustedPeers, if set, are the peers whose check requests and
	// forwarded headers are believed, whatever the engine says (see
	// http_doors.trusted_peers).
	TrustedPeers []netip.Prefix
	// MaxBodyBytes, if set, caps the body the direct auth endpoint reads,
	// whatever the engine says.
	MaxBodyBytes int64
	// Next serves the requests for paths that are not doors (/healthz,
	// /readyz). It only gets clean paths: a path that net/http's ServeMux
	// would redirect is answered 404 here, so the listener never answers 3xx.
	// Nil answers 404.
	Next http.Handler
	// Logger receives a warning per check that shows a misconfigured proxy
	// (an untrusted peer, the auth path sent to a check); nil logs nothing.
	// Decisions are logged by the engine.
	Logger *zap.Logger
}

// HTTPDoorOptionsFromConfig turns the http_doors section of a validated
// config into options (nil gives the defaults).
func HTTPDoorOptionsFromConfig(c *configv1.HTTPDoors) (HTTPDoorOptions, error) {
	var opts HTTPDoorOptions
	for i, p := range c.GetTrustedPeers() {
		prefix, err := config.ParsePeer(p)
		if err != nil {
			return opts, fmt.Errorf("http_doors.trusted_peers[%d]: %q is not a CIDR prefix or an IP address", i, p)
		}
		opts.TrustedPeers = append(opts.TrustedPeers, prefix)
	}
	opts.MaxBodyBytes = int64(c.GetMaxBodyBytes())
	return opts, nil
}

// NewHTTPHandler returns the HTTP doors over the engines:
//
//	<auth path>          the direct auth endpoint (door_direct.go)
//	/check/nginx         nginx auth_request (door_check.go)
//	/check/forward       Traefik forwardAuth, Caddy forward_auth
//	/check/envoy/<path>  Envoy ext_authz, HTTP-service mode
//
// It dispatches on the raw request target itself, never through
// http.ServeMux: ServeMux answers an unclean path (//x, /a/../x) with a
// redirect, and nginx's auth_request turns any 3xx into a 500. Every other
// clean path goes to opts.Next.
func NewHTTPHandler(engines EngineSource, opts HTTPDoorOptions) http.Handler {
	if opts.Logger == nil {
		opts.Logger = zap.NewNop()
	}
	return &httpDoors{engines: engines, opts: opts}
}

// defaultTrustedPeers are trusted when neither the options nor the engine
// say which peers are.
var defaultTrustedPeers = func() []netip.Prefix {
	var out []netip.Prefix
	for _, p := range config.DefaultTrustedPeers {
		prefix, _ := config.ParsePeer(p)
		out = append(out, prefix)
	}
	return out
}()

// trustedPeers are the peers trusted for a request decided by e.
func (h *httpDoors) trustedPeers(e *Engine) []netip.Prefix {
	switch {
	case len(h.opts.TrustedPeers) > 0:
		return h.opts.TrustedPeers
	case len(e.opts.TrustedPeers) > 0:
		return e.opts.TrustedPeers
	}
	return defaultTrustedPeers
}

// maxBodyBytes is the body limit of the direct endpoint for e.
func (h *httpDoors) maxBodyBytes(e *Engine) int64 {
	switch {
	case h.opts.MaxBodyBytes > 0:
		return h.opts.MaxBodyBytes
	case e.opts.MaxBodyBytes > 0:
		return e.opts.MaxBodyBytes
	}
	return config.DefaultMaxBodyBytes
}

type httpDoors struct {
	engines EngineSource
	opts    HTTPDoorOptions
	// names holds the identity header names of the engine last seen, in the
	// forms the doors write; rebuilt when a reload swaps the engine.
	names atomic.Pointer[headerForms]
}

func (h *httpDoors) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	e := h.engines.Engine()
	// RequestURI is the request target as received: raw, undecoded, with the
	// query. The origin form is the only one a proxy sends to an upstream.
	target := r.RequestURI
	if !strings.HasPrefix(target, "/") {
		d := deny(BadRequest, http.StatusBadRequest, "bad_request", "the request target must be a path")
		writeDecision(w, &d)
		return
	}
	rawPath := stripQuery(target)
	switch {
	case rawPath == pathCheckNginx:
		h.check(w, r, e, nginxDoor, target)
	case rawPath == pathCheckForward:
		h.check(w, r, e, forwardDoor, target)
	case rawPath == pathCheckEnvoy || strings.HasPrefix(rawPath, pathCheckEnvoy+"/"):
		h.check(w, r, e, envoyHTTPDoor, target)
	case rawPath == e.AuthPath():
		h.direct(w, r, e, target)
	case !isCleanPath(rawPath):
		d := deny(BadRequest, http.StatusNotFound, "not_found",
			"no such path (paths are matched exactly, without cleaning)")
		writeDecision(w, &d)
	case h.opts.Next != nil:
		h.opts.Next.ServeHTTP(w, r)
	default:
		d := deny(BadRequest, http.StatusNotFound, "not_found", "no such path")
		writeDecision(w, &d)
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
func (h *httpDoors) trusted(r *http.Request, e *Engine) (netip.Addr, bool) {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}, false
	}
	a := ap.Addr().Unmap().WithZone("")
	return a, containsAddr(h.trustedPeers(e), a)
}

// describe fills in what the engine's checks read from the request's
// headers: the client's address and the request's host (from a trusted
// proxy's forwarded headers), Origin and Sec-Fetch-Site.
func (h *httpDoors) describe(req *Request, r *http.Request, e *Engine) {
	peer, trusted := h.trusted(r, e)
	req.ClientAddr, req.Host = forwardedClient(r, peer, trusted, h.trustedPeers(e))
	req.Origin = r.Header.Get("Origin")
	req.SecFetchSite = r.Header.Get("Sec-Fetch-Site")
}

// writeDecision writes a decision the sidecar answers itself (a refusal, or
// the token), with the headers the gRPC door sets on its denied_response:
// content-type, cache-control: no-store, and the decision's own (allow: POST
// on a 405).
func writeDecision(w http.ResponseWriter, d *Decision) {
	hdr := w.Header()
	if d.ContentType != "" {
		hdr["Content-Type"] = []string{d.ContentType}
	}
	hdr["Cache-Control"] = noStore
	for _, kv := range d.Header {
		hdr.Set(kv[0], kv[1])
	}
	w.WriteHeader(answerStatus(d.Status))
	_, _ = w.Write(d.Body)
}

var noStore = []string{"no-store"}

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
// (lower-case) names, and the value of Envoy's x-envoy-auth-headers-to-remove
// for a request without identity. Built once per engine.
type headerForms struct {
	engine    *Engine
	keys      [3]string // user id, groups, user info; "" when not used
	names     [3]string
	removeAll string
}

func (h *httpDoors) headerForms(e *Engine) *headerForms {
	if f := h.names.Load(); f != nil && f.engine == e {
		return f
	}
	n := e.Headers()
	f := &headerForms{
		engine:    e,
		names:     [3]string{n.UserID, n.GroupIDs, n.UserInfo},
		removeAll: strings.Join(e.HeaderNamesToRemove(), ","),
	}
	for i, name := range f.names {
		f.keys[i] = http.CanonicalHeaderKey(name)
	}
	h.names.Store(f)
	return f
}
