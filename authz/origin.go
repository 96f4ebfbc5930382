package authz

import (
	"net/http"
	"strings"
)

// originPolicy is the auth path's origin check (auth_limits.origins): a web
// page of another site must not get a token with the user's cookie.
type originPolicy struct {
	allowed       map[string]bool // origins as browsers send them
	refuseMissing bool
	// disabled refuses nothing; the allowed origins still get CORS answers.
	disabled bool
}

// newOriginPolicy allows the origins given (validated and normalized by
// the config's loader: config.ParseOrigin).
func newOriginPolicy(allowed []string, refuseMissing, disabled bool) *originPolicy {
	p := &originPolicy{allowed: make(map[string]bool, len(allowed)), refuseMissing: refuseMissing, disabled: disabled}
	for _, o := range allowed {
		p.allowed[strings.ToLower(o)] = true
	}
	return p
}

// check decides whether a token request may come from where its headers say
// it comes from. listed reports an allowed other origin, whose answers carry
// CORS headers. reason says why a refused request is refused.
//
// Sec-Fetch-Site, set by the browser and beyond a page's reach, is trusted
// first; without it (older browsers) the Origin's host must be the request's
// own Host. A request with neither comes from a program, not a web page.
func (p *originPolicy) check(r *Request) (listed bool, reason string) {
	if p.disabled {
		return r.Origin != "" && p.allowed[strings.ToLower(r.Origin)], ""
	}
	if r.Origin == "" && r.SecFetchSite == "" {
		if p.refuseMissing {
			return false, "the request has neither an Origin nor a Sec-Fetch-Site header (auth_limits.origins.refuse_without_origin)"
		}
		return false, ""
	}
	listed = r.Origin != "" && p.allowed[strings.ToLower(r.Origin)]
	switch strings.ToLower(r.SecFetchSite) {
	case "same-origin", "none":
		return listed, ""
	case "":
		if sameOrigin(r.Origin, r.Host, r.Scheme) {
			return listed, ""
		}
	}
	if listed {
		return true, ""
	}
	from := r.Origin
	switch {
	case from == "":
		from = "a " + strings.ToLower(r.SecFetchSite) + " page"
	case len(from) > 100:
		from = from[:100] + "..."
	}
	return false, "token requests from " + from + " are not allowed (auth_limits.origins.allowed)"
}

// sameOrigin reports whether an Origin header names the scheme and host
// (and port) a request was sent to. The Origin's scheme must be http or
// https (a page of ftp://, file:// or an extension is never the app's), and
// an http:// page is never the origin of a request that arrived over https.
// An https:// page may be the origin of a request the door saw as http:
// TLS often ends at a proxy or load balancer before the door. requestScheme
// is "" when the door does not know it.
func sameOrigin(origin, host, requestScheme string) bool {
	scheme, hostport, ok := strings.Cut(origin, "://")
	if !ok || host == "" {
		return false
	}
	switch {
	case strings.EqualFold(scheme, "https"):
	case strings.EqualFold(scheme, "http"):
		if strings.EqualFold(requestScheme, "https") {
			return false
		}
	default:
		return false
	}
	return strings.EqualFold(withoutDefaultPort(scheme, hostport), withoutDefaultPort(scheme, host))
}

func withoutDefaultPort(scheme, hostport string) string {
	switch {
	case strings.EqualFold(scheme, "https"):
		return strings.TrimSuffix(hostport, ":443")
	case strings.EqualFold(scheme, "http"):
		return strings.TrimSuffix(hostport, ":80")
	}
	return hostport
}

// checkOrigin applies the origin check to a token request. It returns the
// CORS headers of the answer (for an allowed other origin), or the refusal.
func (e *Engine) checkOrigin(r *Request) (cors [][2]string, refusal Decision, refused bool) {
	l := e.limits()
	if l == nil || l.origins == nil {
		return nil, Decision{}, false
	}
	listed, reason := l.origins.check(r)
	if reason != "" {
		return nil, deny(CrossOrigin, http.StatusForbidden, "cross_origin", reason), true
	}
	if listed {
		cors = corsHeaders(r.Origin)
	}
	return cors, Decision{}, false
}

// preflight answers a CORS preflight on the auth path: an OPTIONS request
// with an Origin. It reports false for any other request.
func (e *Engine) preflight(r *Request) (Decision, bool) {
	if r.Method != http.MethodOptions || r.Origin == "" {
		return Decision{}, false
	}
	l := e.limits()
	if l == nil || l.origins == nil || !l.origins.allowed[strings.ToLower(r.Origin)] {
		return deny(CrossOrigin, http.StatusForbidden, "cross_origin",
			"token requests from this origin are not allowed (auth_limits.origins.allowed)"), true
	}
	// The Liveblocks client sends its JSON body with a Content-Type, the one
	// header it needs a preflight for.
	h := append(corsHeaders(r.Origin),
		[2]string{"access-control-allow-methods", "POST"},
		[2]string{"access-control-allow-headers", "content-type"},
		[2]string{"access-control-max-age", "600"})
	return Decision{Outcome: Preflight, Status: http.StatusNoContent, Header: h}, true
}

func corsHeaders(origin string) [][2]string {
	return [][2]string{
		{"access-control-allow-origin", origin},
		{"access-control-allow-credentials", "true"},
		{"vary", "Origin"},
	}
}
