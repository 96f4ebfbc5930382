package httpdoor

import (
	"net/http"
	"strings"

	"go.uber.org/zap"

	"github.com/lbauthz/lbauthz/authz"
	"github.com/lbauthz/lbauthz/authz/session"
)

// checkDoor is one kind of check request: a proxy asking, before it forwards
// a request to the app, whether to forward it and with which identity. The
// kinds differ only in where the original method and URI travel and in how
// the answer removes identity headers.
type checkDoor struct {
	// name is the Request.Door of its decisions.
	name string
	// methodHeader and uriHeader carry the original method and URI. Empty
	// for Envoy's HTTP mode, which sends the original method as the check's
	// own and the original path after /check/envoy.
	methodHeader, uriHeader string
	// hint says how to fix a proxy that does not send them.
	hint string
	// envoy lists the identity headers a request must not carry to the app
	// in x-envoy-auth-headers-to-remove.
	envoy bool
	// methodKey and uriKey are methodHeader and uriHeader in net/http's
	// canonical form.
	methodKey, uriKey string
}

var (
	// nginx's auth_request: a GET subrequest without a body. 2xx allows, 401
	// and 403 go to the client, anything else becomes a 500.
	nginxDoor = &checkDoor{
		name: "nginx", methodHeader: "X-Original-Method", uriHeader: "X-Original-URI",
		methodKey: http.CanonicalHeaderKey("X-Original-Method"), uriKey: http.CanonicalHeaderKey("X-Original-URI"),
		hint: "proxy_set_header X-Original-URI $request_uri; proxy_set_header X-Original-Method $request_method;",
	}
	// Traefik's forwardAuth and Caddy's forward_auth: a GET without a body,
	// with the client's headers. 2xx allows, anything else goes to the client.
	forwardDoor = &checkDoor{
		name: "forward", methodHeader: "X-Forwarded-Method", uriHeader: "X-Forwarded-Uri",
		methodKey: http.CanonicalHeaderKey("X-Forwarded-Method"), uriKey: http.CanonicalHeaderKey("X-Forwarded-Uri"),
		hint: "the proxy's forward-auth sets X-Forwarded-Method and X-Forwarded-Uri itself",
	}
	// Envoy's ext_authz in HTTP-service mode: the original method, the path
	// prefixed with path_prefix, only the allowed_headers. Exactly 200
	// allows; 5xx is an error (status_on_error); anything else goes to the
	// client.
	envoyHTTPDoor = &checkDoor{
		name:  "envoy_http",
		hint:  "set the ext_authz filter's http_service.path_prefix to /check/envoy",
		envoy: true,
	}
)

// envoyHeadersToRemove is the answer header in which Envoy's HTTP mode takes
// the headers to remove from the request to the app (the counterpart of the
// gRPC OkHttpResponse.headers_to_remove).
const envoyHeadersToRemove = "X-Envoy-Auth-Headers-To-Remove"

// check answers one check request.
func (h *Handler) check(w http.ResponseWriter, r *http.Request, e *authz.Engine, st *settings, door *checkDoor, target string) {
	peer, ok := st.trusted(r)
	if !ok {
		// Whoever can reach the listener could otherwise have any request
		// checked as if it were another one. Nothing else in the request is
		// used instead: the answer is about the peer, not about a URI.
		h.opts.Logger.Warn("check from an untrusted peer refused",
			zap.String("door", door.name), zap.String("peer", peer.String()))
		d := authz.Deny(authz.Forbidden, http.StatusForbidden, "untrusted_peer",
			"peer "+peer.String()+" is not in http_doors.trusted_peers, so the original request it describes is not believed")
		e.CountRefusal(door.name, &d)
		writeDecision(w, r, &d)
		return
	}
	method, uri, problem := door.original(r, target)
	if problem != "" {
		d := authz.Deny(authz.BadRequest, http.StatusBadRequest, "bad_request", problem+" ("+door.hint+")")
		e.CountRefusal(door.name, &d)
		writeDecision(w, r, &d)
		return
	}
	if e.IsAuthPath(uri) {
		// The proxy asks whether to forward the token request to the app.
		// Neither answer works: a check's answer body never reaches the
		// browser (or, in Envoy's HTTP mode, a 200 means "forward"), so the
		// token cannot come back this way, and the app does not serve the
		// path. The proxy must route the path to this listener instead.
		//
		// 403 because it is the one status every HTTP front door passes to
		// the client, and on which the Liveblocks client stops: nginx's
		// auth_request makes anything but 2xx, 401 and 403 a 500, which the
		// Liveblocks client would retry forever, hiding a configuration
		// mistake that no retry can fix. Not 401: the session is not the
		// problem. The body reaches the browser through forward-auth and
		// Envoy; nginx replaces it, so the warning is logged as well.
		h.opts.Logger.Warn("the auth path was sent to a check: route it to the HTTP listener",
			zap.String("door", door.name), zap.String("auth_path", e.AuthPath()))
		d := authz.Deny(authz.Forbidden, http.StatusForbidden, "misrouted",
			"route POST "+e.AuthPath()+" to the sidecar's HTTP listener: the sidecar answers it with the token, "+
				"which the answer to a check cannot carry")
		e.CountRefusal(door.name, &d)
		writeDecision(w, r, &d)
		return
	}
	if e.IsDirectoryPath(uri) {
		// As for the auth path: the directory's JSON answer cannot come
		// back through a check either.
		p := authz.StripQuery(uri)
		h.opts.Logger.Warn("a directory path was sent to a check: route it to the HTTP listener",
			zap.String("door", door.name), zap.String("path", p))
		d := authz.Deny(authz.Forbidden, http.StatusForbidden, "misrouted",
			"route GET "+p+" to the sidecar's HTTP listener: the sidecar answers it with the directory, "+
				"which the answer to a check cannot carry")
		e.CountRefusal(door.name, &d)
		writeDecision(w, r, &d)
		return
	}
	req := authz.Request{Door: door.name, Method: method, Path: uri, Cookies: r.Header["Cookie"]}
	credentials(&req, r.Header, e)
	// Only the client's address: the host, scheme, Origin and
	// Sec-Fetch-Site are for the auth and directory paths' origin check,
	// and those paths never reach Decide from a check (refused above).
	req.ClientAddr = forwardedAddr(r, peer, st.trustedHops)
	d := e.Decide(r.Context(), &req)
	if !d.Allow {
		writeDecision(w, r, &d)
		return
	}
	h.writeAllow(w, e, door, d.Identity)
}

// original returns the method and URI of the request being checked, or why
// the check request does not say them.
func (door *checkDoor) original(r *http.Request, target string) (method, uri, problem string) {
	if door.envoy {
		uri = target[len(pathCheckEnvoy):]
		if !strings.HasPrefix(uri, "/") {
			return "", "", "no original path after " + pathCheckEnvoy
		}
		return r.Method, uri, ""
	}
	// By the canonical keys: Header.Get would make one for X-Original-URI
	// on every request.
	method, uri = firstValue(r.Header, door.methodKey), firstValue(r.Header, door.uriKey)
	switch {
	case method == "":
		return "", "", door.methodHeader + " is missing"
	case !isMethod(method):
		return "", "", door.methodHeader + " is not an HTTP method"
	case uri == "":
		return "", "", door.uriHeader + " is missing"
	case !strings.HasPrefix(uri, "/"):
		return "", "", door.uriHeader + " is not a path"
	}
	return method, uri, ""
}

// writeAllow answers 200 with the identity headers (nginx, forward-auth and
// Envoy copy them onto the request to the app). A header without a value is
// not sent: nginx's proxy_set_header then sends none, and forward-auth
// deletes the client's copy. For Envoy, which copies only what the answer
// has, the answer also names the headers to remove from the request.
//
// The values are those prepared for the identity (allow.go): a session's
// answer allocates nothing once its values are in the table.
func (h *Handler) writeAllow(w http.ResponseWriter, e *authz.Engine, door *checkDoor, id *session.Identity) {
	f := h.allowForms(e)
	hdr := w.Header()
	hdr["Cache-Control"] = noStore
	if id == nil {
		if door.envoy && f.remove[0] != "" {
			hdr[envoyHeadersToRemove] = f.remove[:1:1]
		}
		w.WriteHeader(http.StatusOK)
		return
	}
	v := f.values(id)
	for i := range v.n {
		hdr[v.keys[i]] = v.vals[i][:]
	}
	if door.envoy && v.remove[0] != "" {
		// Every other identity header name, underscore spellings included
		// (authz.Engine.HeaderNamesToRemove).
		hdr[envoyHeadersToRemove] = v.remove[:]
	}
	w.WriteHeader(http.StatusOK)
}

// isMethod reports whether s is an HTTP method: a token (RFC 9110).
func isMethod(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`"(),/:;<=>?@[\]{}`, c) >= 0 {
			return false
		}
	}
	return s != ""
}
