package envoygrpc

import (
	"context"
	"net/netip"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"

	"github.com/lbauthz/lbauthz/authz"
)

// name is this door's name, in the registry and on its decisions
// (authz.Request.Door).
const name = "envoy_grpc"

// partialBodyHeader is the header Envoy adds to a check that carries the
// request body: "true" when it holds only the first max_request_bytes.
const partialBodyHeader = "x-envoy-auth-partial-body"

// Server is the gRPC door: envoy.service.auth.v3.Authorization.
//
// Every decision is a CheckResponse, never a gRPC error: an error would make
// Envoy apply status_on_error (or, with failure_mode_allow, let the request
// through without a check).
type Server struct {
	authv3.UnimplementedAuthorizationServer
	engines authz.EngineSource
	answers answerCache // answers.go
}

var _ authv3.AuthorizationServer = (*Server)(nil)

// NewServer returns the gRPC door over the engines.
func NewServer(engines authz.EngineSource) *Server {
	return &Server{engines: engines}
}

// Check answers one of Envoy's authorization checks.
func (s *Server) Check(ctx context.Context, req *authv3.CheckRequest) (*authv3.CheckResponse, error) {
	e := s.engines.Engine()
	var r authz.Request
	requestOf(req, &r, e)
	d := e.Decide(ctx, &r)
	return s.response(e, &d), nil
}

// requestOf fills r with what the engine e needs of Envoy's check request.
func requestOf(req *authv3.CheckRequest, r *authz.Request, e *authz.Engine) {
	h := req.GetAttributes().GetRequest().GetHttp()
	headers := h.GetHeaders()
	*r = authz.Request{Door: name, Method: h.GetMethod(), Path: h.GetPath(), Host: h.GetHost(), Headers: headers,
		Origin: headers["origin"], SecFetchSite: headers["sec-fetch-site"], Scheme: h.GetScheme(),
		// Envoy sets it itself (a client's copy is never passed on) when it
		// sends a body: "true" when the body was cut at max_request_bytes.
		PartialBody: headers[partialBodyHeader] == "true"}
	if r.Path == "" {
		r.Path = headers[":path"]
	}
	if r.Method == "" {
		r.Method = headers[":method"]
	}
	if r.Host == "" {
		r.Host = headers[":authority"]
	}
	if r.Scheme == "" {
		r.Scheme = headers[":scheme"]
	}
	// The downstream address as Envoy sees it: the client's, when Envoy is
	// the edge or trusts the hops before it (xff_num_trusted_hops).
	if a, err := netip.ParseAddr(req.GetAttributes().GetSource().GetAddress().GetSocketAddress().GetAddress()); err == nil {
		r.ClientAddr = a
	}
	// With encode_raw_headers, Envoy sends header_map, one entry per header
	// line: the Cookie lines are then apart, which the joined "cookie"
	// entry of headers (lines joined by ",") cannot show.
	credHeader, _ := e.CredentialHeader()
	if hm := h.GetHeaderMap(); hm != nil {
		for _, hv := range hm.GetHeaders() {
			switch k := hv.GetKey(); k {
			case "cookie":
				r.Cookies = append(r.Cookies, headerValue(hv))
			case "authorization":
				addLine(&r.Authorization, headerValue(hv))
			case "origin":
				if r.Origin == "" {
					r.Origin = headerValue(hv)
				}
			case "sec-fetch-site":
				if r.SecFetchSite == "" {
					r.SecFetchSite = headerValue(hv)
				}
			case ":authority":
				if r.Host == "" {
					r.Host = headerValue(hv)
				}
			case partialBodyHeader:
				r.PartialBody = r.PartialBody || headerValue(hv) == "true"
			default:
				if k == credHeader && k != "" {
					addLine(&r.CredentialHeader, headerValue(hv))
				}
			}
		}
	}
	// Envoy's headers map holds one entry per name, repeated lines joined
	// with ",": a joined credential is refused as malformed.
	if v, ok := headers["authorization"]; ok && r.Authorization.Lines == 0 {
		r.Authorization = authz.HeaderValue{Value: v, Lines: 1}
	}
	if v, ok := headers[credHeader]; ok && credHeader != "" && r.CredentialHeader.Lines == 0 {
		r.CredentialHeader = authz.HeaderValue{Value: v, Lines: 1}
	}
	if len(r.Cookies) == 0 {
		r.Cookie = headers["cookie"]
	}
	if b := h.GetRawBody(); len(b) > 0 {
		r.Body, r.HasBody = b, true
	} else if b := h.GetBody(); b != "" {
		r.Body, r.HasBody = []byte(b), true
	}
}

// addLine counts one more line of a header, keeping the first value.
func addLine(h *authz.HeaderValue, v string) {
	if h.Lines == 0 {
		h.Value = v
	}
	h.Lines++
}

// headerValue is the value of an entry of Envoy's header_map, which holds
// it in raw_value when encode_raw_headers is on.
func headerValue(hv *corev3.HeaderValue) string {
	if raw := hv.GetRawValue(); raw != nil {
		return string(raw)
	}
	return hv.GetValue()
}
