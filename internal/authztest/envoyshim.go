package authztest

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"google.golang.org/grpc/codes"
)

// EnvoyShim plays Envoy in front of the gRPC door, for tests that need a
// real HTTP client (the browser's @liveblocks/client) to reach the sidecar
// when no Envoy binary is available. For each request it sends the
// CheckRequest Envoy would send (CheckRequest: lower-case headers with the
// cookie, the path with its query, and on the auth path the body, as
// deploy/envoy/envoy.yaml's with_request_body does) and turns the
// CheckResponse into the HTTP answer as Envoy does:
//
//   - denied: denied_response's status (403 when unset), headers and body;
//     this is how the auth path answers with its token;
//   - allowed on the auth path: 500, as the direct_response of envoy.yaml's
//     token route (lbauthz should have answered);
//   - allowed elsewhere: 200 with a JSON object of the identity headers the
//     app would receive (ok_response headers set, headers_to_remove gone);
//   - a gRPC error: 403 with an empty body, Envoy's status_on_error.
type EnvoyShim struct {
	// URL is the shim's base URL: http://127.0.0.1:PORT.
	URL string
	// AuthURL is URL + AuthPath, the client's authEndpoint.
	AuthURL string
}

// ShimMaxBody is the body Envoy buffers on the auth route
// (with_request_body.max_request_bytes in envoy.yaml); a larger body gets
// 413 from Envoy without a Check.
const ShimMaxBody = 4096

// StartEnvoyShim serves the shim on a loopback port until the test ends.
// authPath is the route that gets its body sent to the check.
func StartEnvoyShim(t testing.TB, c authv3.AuthorizationClient, authPath string) *EnvoyShim {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: shimHandler(c, authPath), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(func() { _ = srv.Close() })
	base := "http://" + lis.Addr().String()
	return &EnvoyShim{URL: base, AuthURL: base + authPath}
}

func shimHandler(c authv3.AuthorizationClient, authPath string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		isAuth := r.URL.Path == authPath
		var body string
		if isAuth {
			b, err := io.ReadAll(io.LimitReader(r.Body, ShimMaxBody+1))
			if err != nil {
				http.Error(w, "reading the body", http.StatusBadRequest)
				return
			}
			if len(b) > ShimMaxBody {
				http.Error(w, "Payload Too Large", http.StatusRequestEntityTooLarge)
				return
			}
			body = string(b)
		}
		headers := map[string]string{}
		for k, vs := range r.Header {
			// Envoy joins repeated headers with ","; cookies too.
			headers[strings.ToLower(k)] = strings.Join(vs, ",")
		}
		// The token route's timeout in envoy.yaml; Envoy passes it on as
		// the gRPC deadline.
		timeout := 250 * time.Millisecond
		if isAuth {
			timeout = 5 * time.Second
		}
		ctx, cancel := context.WithTimeout(r.Context(), timeout)
		defer cancel()
		resp, err := c.Check(ctx, CheckRequest(r.Method, r.URL.RequestURI(), headers, body))
		if err != nil {
			w.WriteHeader(http.StatusForbidden)
			return
		}
		if codes.Code(resp.GetStatus().GetCode()) != codes.OK {
			d := resp.GetDeniedResponse()
			for _, h := range d.GetHeaders() {
				w.Header().Set(h.GetHeader().GetKey(), h.GetHeader().GetValue())
			}
			status := int(d.GetStatus().GetCode())
			if status == 0 {
				status = http.StatusForbidden
			}
			w.WriteHeader(status)
			_, _ = io.WriteString(w, d.GetBody())
			return
		}
		if isAuth {
			http.Error(w, "lbauthz let the token request through instead of answering it", http.StatusInternalServerError)
			return
		}
		seen := map[string]string{}
		for _, name := range []string{"x-user-id", "x-user-groups", "x-user-info"} {
			if v := r.Header.Get(name); v != "" {
				seen[name] = v
			}
		}
		for _, name := range resp.GetOkResponse().GetHeadersToRemove() {
			delete(seen, strings.ToLower(name))
		}
		for _, h := range resp.GetOkResponse().GetHeaders() {
			seen[strings.ToLower(h.GetHeader().GetKey())] = h.GetHeader().GetValue()
		}
		w.Header().Set("content-type", "application/json")
		_ = json.NewEncoder(w).Encode(seen)
	})
}
