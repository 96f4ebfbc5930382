package authz

import (
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/trace"
)

// endpoint is a Liveblocks REST endpoint, as the metrics and spans name it:
// never with the room id that is in its path.
type endpoint uint8

const (
	epOther endpoint = iota
	epIdentifyUser
	epAuthorizeUser
	epCreateRoom
	epListRooms
	epGetRoom
	epUpdateRoom
	epDeleteRoom
	epUpsertRoom
	numEndpoints
)

var endpointNames = [numEndpoints]string{
	epOther:         "other",
	epIdentifyUser:  "identify_user",
	epAuthorizeUser: "authorize_user",
	epCreateRoom:    "create_room",
	epListRooms:     "list_rooms",
	epGetRoom:       "get_room",
	epUpdateRoom:    "update_room",
	epDeleteRoom:    "delete_room",
	epUpsertRoom:    "upsert_room",
}

// endpointOf names the endpoint of a request to the Liveblocks REST API.
func endpointOf(method, path string) endpoint {
	switch path {
	case "/v2/identify-user":
		return epIdentifyUser
	case "/v2/authorize-user":
		return epAuthorizeUser
	case "/v2/rooms":
		if method == http.MethodGet {
			return epListRooms
		}
		return epCreateRoom
	}
	rest, ok := strings.CutPrefix(path, "/v2/rooms/")
	if !ok || rest == "" {
		return epOther
	}
	id, sub, _ := strings.Cut(rest, "/")
	switch {
	case id == "":
		return epOther
	case sub == "upsert" && method == http.MethodPost:
		return epUpsertRoom
	case sub != "":
		return epOther
	case method == http.MethodGet:
		return epGetRoom
	case method == http.MethodPost:
		return epUpdateRoom
	case method == http.MethodDelete:
		return epDeleteRoom
	}
	return epOther
}

// LiveblocksHTTPClient returns the HTTP client of the Liveblocks client:
// nil (the liveblocks package's shared default) when there is nothing to
// observe, else a client over one transport shared by every engine, whose
// calls are counted and, with tracing on, traced.
func LiveblocksHTTPClient(m *Metrics, tp trace.TracerProvider) *http.Client {
	if m == nil && tp == nil {
		return nil
	}
	var rt http.RoundTripper = sharedLiveblocksTransport()
	if m != nil {
		rt = &countingTransport{base: rt, m: m}
	}
	if tp != nil {
		rt = otelhttp.NewTransport(rt,
			otelhttp.WithTracerProvider(tp),
			otelhttp.WithPropagators(propagator),
			otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string {
				return "liveblocks " + endpointNames[endpointOf(r.Method, r.URL.Path)]
			}))
	}
	return &http.Client{Transport: rt}
}

// sharedLiveblocksTransport is one connection pool for every engine, kept
// across reloads; its settings are those of the liveblocks package's
// default client.
var sharedLiveblocksTransport = sync.OnceValue(func() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.DialContext = (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	t.MaxIdleConns = 256
	t.MaxIdleConnsPerHost = 64
	t.TLSHandshakeTimeout = 5 * time.Second
	t.ResponseHeaderTimeout = 30 * time.Second
	return t
})

// countingTransport counts each call to Liveblocks by endpoint and status.
type countingTransport struct {
	base http.RoundTripper
	m    *Metrics
}

func (t *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	start := time.Now()
	resp, err := t.base.RoundTrip(r)
	status := 0
	if err == nil {
		status = resp.StatusCode
	}
	t.m.liveblocksCall(endpointOf(r.Method, r.URL.Path), status, time.Since(start))
	return resp, err
}
