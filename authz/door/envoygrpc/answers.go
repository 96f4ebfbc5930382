package envoygrpc

import (
	"math/bits"
	"strings"
	"sync/atomic"
	"unsafe"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"
	rpcstatus "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc/codes"

	"github.com/lbauthz/lbauthz/authz"
	"github.com/lbauthz/lbauthz/authz/session"
)

// response turns a decision of e into Envoy's CheckResponse.
func (s *Server) response(e *authz.Engine, d *authz.Decision) *authv3.CheckResponse {
	if d.Allow {
		a := s.answers.of(e, s.engines)
		if d.Identity == nil {
			return a.anonymous
		}
		return a.allow(e, d.Identity)
	}
	return denied(d)
}

// denied is the CheckResponse of a decision the sidecar answers itself: a
// refusal, the token on the auth path, or a directory answer (a 200 with its
// JSON body, which Envoy sends to the client as a local reply). It is built
// for each request.
func denied(d *authz.Decision) *authv3.CheckResponse {
	headers := make([]*corev3.HeaderValueOption, 0, 2+len(d.Header))
	if d.ContentType != "" { // a preflight's 204 has no body
		headers = append(headers, setHeader("content-type", d.ContentType))
	}
	headers = append(headers, setHeader("cache-control", d.CacheControl()))
	for _, kv := range d.Header {
		if !strings.EqualFold(kv[0], "cache-control") {
			headers = append(headers, setHeader(kv[0], kv[1]))
		}
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

// answerCache holds the prepared answers of the engine in use.
type answerCache struct{ p atomic.Pointer[answers] }

// answers are the allowing answers of one engine, shared by every request
// they fit (protobuf messages are safe to marshal concurrently): the
// anonymous one, built once, and those of the sessions in use.
//
// The answers of identities sit in a small two-way set-associative table
// indexed by the identity's address: a session that sends requests finds its
// answer there without allocating, while the memory of the table stays
// bounded whatever the number of cached sessions. A session whose answer was
// displaced gets a new one, built in one allocation, at its next request.
type answers struct {
	engine    *authz.Engine
	anonymous *authv3.CheckResponse
	slots     []atomic.Pointer[preparedAllow]
	shift     uint // 64 - log2(len(slots))
}

// Bounds of the table of answers, in slots: twice the session cache's
// entries, between these. At about 0.9 KB an answer, the table holds at most
// a few megabytes.
const (
	minSlots = 64
	maxSlots = 4096
)

// of returns the answers of e. Those of the engine in use are kept; an engine
// that a reload swapped out gets answers of its own for its last requests.
func (c *answerCache) of(e *authz.Engine, src authz.EngineSource) *answers {
	if a := c.p.Load(); a != nil && a.engine == e {
		return a
	}
	a := newAnswers(e)
	if src.Engine() == e {
		c.p.Store(a)
	}
	return a
}

func newAnswers(e *authz.Engine) *answers {
	n := minSlots
	if want := 2 * e.Sessions().MaxEntries(); want > n {
		n = min(1<<bits.Len(uint(want-1)), maxSlots)
	}
	return &answers{
		engine: e,
		anonymous: &authv3.CheckResponse{
			Status: &rpcstatus.Status{Code: int32(codes.OK)},
			HttpResponse: &authv3.CheckResponse_OkResponse{OkResponse: &authv3.OkHttpResponse{
				HeadersToRemove: e.HeaderNamesToRemove(),
			}},
		},
		slots: make([]atomic.Pointer[preparedAllow], n),
		shift: uint(64 - bits.TrailingZeros(uint(n))),
	}
}

// allow returns the OK answer for an identity.
func (a *answers) allow(e *authz.Engine, id *session.Identity) *authv3.CheckResponse {
	// Fibonacci hashing of the address, rounded down to the first slot of
	// its set of two. The address is only hashed, never turned back into a
	// pointer: the slot holds the identity itself.
	i := int(uint64(uintptr(unsafe.Pointer(id)))*0x9E3779B97F4A7C15>>a.shift) &^ 1
	for j := i; j < i+2; j++ {
		if p := a.slots[j].Load(); p != nil && p.id == id {
			return &p.resp
		}
	}
	p := prepare(e.Headers(), e.HeaderNamesToRemove(), id)
	// An empty slot of the set, else the one the address picks: two busy
	// sessions sharing a set then usually keep one each.
	j := i + int(uintptr(unsafe.Pointer(id))>>4&1)
	if a.slots[i].Load() == nil {
		j = i
	} else if a.slots[i+1].Load() == nil {
		j = i + 1
	}
	a.slots[j].Store(p)
	return &p.resp
}

// preparedAllow is the OK answer of one identity in a single allocation.
type preparedAllow struct {
	id      *session.Identity
	resp    authv3.CheckResponse
	wrap    authv3.CheckResponse_OkResponse
	ok      authv3.OkHttpResponse
	headers [3]*corev3.HeaderValueOption
	options [3]corev3.HeaderValueOption
	values  [3]corev3.HeaderValue
}

// prepare builds the OK answer of an identity: its identity headers set,
// every other identity header name of remove removed.
func prepare(h authz.HeaderNames, remove []string, id *session.Identity) *preparedAllow {
	p := &preparedAllow{id: id}
	ok := &p.ok
	set := map[string]bool{}
	add := func(name, value string) {
		if name == "" || value == "" {
			return
		}
		set[strings.ToLower(name)] = true
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
	for _, name := range remove {
		if !set[name] {
			ok.HeadersToRemove = append(ok.HeadersToRemove, name)
		}
	}
	p.wrap.OkResponse = ok
	p.resp.Status = statusOK
	p.resp.HttpResponse = &p.wrap
	return p
}

// statusOK is the OK status every allowing answer shares.
var statusOK = &rpcstatus.Status{Code: int32(codes.OK)}

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
