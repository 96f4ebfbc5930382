package authz

import (
	"context"
	"net/netip"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"
	rpcstatus "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc/codes"

	"github.com/lbauthz/lbauthz/authz/session"
)

// EngineSource gives the engine to use for one request. Hot reload swaps the
// engine behind it; a request keeps the one it started with.
type EngineSource interface {
	Engine() *Engine
}

// EnvoyServer is the gRPC door: envoy.service.auth.v3.Authorization.
//
// Every decision is a CheckResponse, never a gRPC error: an error would make
// Envoy apply status_on_error (or, with failure_mode_allow, let the request
// through without a check).
type EnvoyServer struct {
	authv3.UnimplementedAuthorizationServer
	engines EngineSource
}

// NewEnvoyServer returns the gRPC door over the engines.
func NewEnvoyServer(engines EngineSource) *EnvoyServer {
	return &EnvoyServer{engines: engines}
}

// Check answers one of Envoy's authorization checks.
func (s *EnvoyServer) Check(ctx context.Context, req *authv3.CheckRequest) (*authv3.CheckResponse, error) {
	e := s.engines.Engine()
	h := req.GetAttributes().GetRequest().GetHttp()
	headers := h.GetHeaders()
	r := Request{Door: "envoy_grpc", Method: h.GetMethod(), Path: h.GetPath(), Host: h.GetHost(), Headers: headers,
		Origin: headers["origin"], SecFetchSite: headers["sec-fetch-site"]}
	if r.Path == "" {
		r.Path = headers[":path"]
	}
	if r.Method == "" {
		r.Method = headers[":method"]
	}
	if r.Host == "" {
		r.Host = headers[":authority"]
	}
	// The downstream address as Envoy sees it: the client's, when Envoy is
	// the edge or trusts the hops before it (xff_num_trusted_hops).
	if a, err := netip.ParseAddr(req.GetAttributes().GetSource().GetAddress().GetSocketAddress().GetAddress()); err == nil {
		r.ClientAddr = a
	}
	if c, ok := headers["cookie"]; ok {
		r.Cookie = c
	} else if hm := h.GetHeaderMap(); hm != nil {
		// With encode_raw_headers, Envoy sends header_map instead, one entry
		// per header line.
		for _, hv := range hm.GetHeaders() {
			switch hv.GetKey() {
			case "cookie":
				r.Cookies = append(r.Cookies, headerValue(hv))
			case "origin":
				r.Origin = headerValue(hv)
			case "sec-fetch-site":
				r.SecFetchSite = headerValue(hv)
			case ":authority":
				if r.Host == "" {
					r.Host = headerValue(hv)
				}
			}
		}
	}
	if b := h.GetRawBody(); len(b) > 0 {
		r.Body, r.HasBody = b, true
	} else if b := h.GetBody(); b != "" {
		r.Body, r.HasBody = []byte(b), true
	}
	d := e.Decide(ctx, &r)
	return e.envoyResponse(&d), nil
}

// headerValue is the value of an entry of Envoy's header_map, which holds
// it in raw_value when encode_raw_headers is on.
func headerValue(hv *corev3.HeaderValue) string {
	if raw := hv.GetRawValue(); raw != nil {
		return string(raw)
	}
	return hv.GetValue()
}

// envoyResponse turns a decision into Envoy's CheckResponse.
func (e *Engine) envoyResponse(d *Decision) *authv3.CheckResponse {
	if d.Allow {
		if d.Identity == nil {
			return e.envoyAnonymous
		}
		return e.envoyAllow(d.Identity)
	}
	headers := make([]*corev3.HeaderValueOption, 0, 2+len(d.Header))
	if d.ContentType != "" { // a preflight's 204 has no body
		headers = append(headers, setHeader("content-type", d.ContentType))
	}
	headers = append(headers, setHeader("cache-control", "no-store"))
	for _, kv := range d.Header {
		headers = append(headers, setHeader(kv[0], kv[1]))
	}
	return &authv3.CheckResponse{
		Status: &rpcstatus.Status{Code: int32(grpcCode(d.Status)), Message: d.Outcome.String()},
		HttpResponse: &authv3.CheckResponse_DeniedResponse{DeniedResponse: &authv3.DeniedHttpResponse{
			Status:  &typev3.HttpStatus{Code: typev3.StatusCode(d.Status)},
			Headers: headers,
			Body:    string(d.Body),
		}},
	}
}

// envoyAllow returns the OK answer for an identity, built once per cached
// identity and shared by every request of that session (protobuf messages
// are safe to marshal concurrently).
func (e *Engine) envoyAllow(id *session.Identity) *authv3.CheckResponse {
	if cached, ok := id.Prepared(e).(*authv3.CheckResponse); ok {
		return cached
	}
	h := e.opts.Headers
	p := &preparedAllow{}
	ok := &p.ok
	add := func(name, value string) {
		if name == "" {
			return
		}
		if value == "" {
			ok.HeadersToRemove = append(ok.HeadersToRemove, name)
			return
		}
		i := len(ok.Headers)
		p.values[i] = corev3.HeaderValue{Key: name, Value: value}
		p.options[i] = corev3.HeaderValueOption{
			Header: &p.values[i], AppendAction: corev3.HeaderValueOption_OVERWRITE_IF_EXISTS_OR_ADD,
		}
		ok.Headers = append(ok.Headers, &p.options[i])
	}
	ok.Headers = p.headers[:0]
	add(h.UserID, id.UserID)
	add(h.GroupIDs, id.GroupsHeader)
	add(h.UserInfo, id.UserInfoJSON)
	p.wrap.OkResponse = ok
	p.resp.Status = envoyOK
	p.resp.HttpResponse = &p.wrap
	id.SetPrepared(e, &p.resp)
	return &p.resp
}

// preparedAllow is the OK answer of one identity in a single allocation:
// one is kept per cached session, so its size is most of the memory a
// cached session takes.
type preparedAllow struct {
	resp    authv3.CheckResponse
	wrap    authv3.CheckResponse_OkResponse
	ok      authv3.OkHttpResponse
	headers [3]*corev3.HeaderValueOption
	options [3]corev3.HeaderValueOption
	values  [3]corev3.HeaderValue
}

// envoyOK is the OK status every allowing answer shares.
var envoyOK = &rpcstatus.Status{Code: int32(codes.OK)}

func newEnvoyAnonymous(remove []string) *authv3.CheckResponse {
	return &authv3.CheckResponse{
		Status: &rpcstatus.Status{Code: int32(codes.OK)},
		HttpResponse: &authv3.CheckResponse_OkResponse{OkResponse: &authv3.OkHttpResponse{
			HeadersToRemove: remove,
		}},
	}
}

func setHeader(k, v string) *corev3.HeaderValueOption {
	return &corev3.HeaderValueOption{
		Header:       &corev3.HeaderValue{Key: k, Value: v},
		AppendAction: corev3.HeaderValueOption_OVERWRITE_IF_EXISTS_OR_ADD,
	}
}

// grpcCode is the gRPC status of a denied CheckResponse. Envoy treats any
// non-OK code as "denied" and sends denied_response; the code only tells
// Envoy's logs and traces what kind of denial it was.
func grpcCode(status int) codes.Code {
	switch {
	case status == 401:
		return codes.Unauthenticated
	case status == 429:
		return codes.ResourceExhausted
	case status >= 500:
		return codes.Unavailable
	case status >= 400 && status != 403:
		return codes.InvalidArgument
	}
	// 403, and the 200 that carries a token: the request does not go on to
	// the app.
	return codes.PermissionDenied
}
