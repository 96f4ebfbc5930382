package envoygrpc_test

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"google.golang.org/grpc/codes"

	"github.com/lbauthz/lbauthz/internal/authztest"
	"github.com/lbauthz/lbauthz/internal/testenv"
)

const authPath = "/api/liveblocks-auth"

func cookie(v string) map[string]string { return map[string]string{"cookie": "session=" + v} }

func TestCheck_AuthPathIssuesTheDevServerToken(t *testing.T) {
	dev, lb := authztest.DevServer(t)
	_ = dev
	c := authztest.GRPC(t, authztest.Engine(t, authztest.Config, lb.URL, testenv.DevSecretKey))

	r := authztest.Check(t, c, authztest.CheckRequest("POST", authPath, cookie(authztest.Session(authztest.Alice())), `{"room":"r1"}`), 2*time.Second)
	if r.GRPCError != nil {
		t.Fatalf("authztest.Check returned a gRPC error: %v", r.GRPCError)
	}
	if r.Allowed || r.Status != 200 {
		t.Fatalf("want a denied_response with HTTP 200, got allowed=%v status=%d body=%s", r.Allowed, r.Status, r.Body)
	}
	if r.GRPCCode == codes.OK {
		t.Fatal("the token reply must carry a non-OK gRPC code, or Envoy forwards the request")
	}
	if r.Headers["content-type"] != "application/json" || r.Headers["cache-control"] != "no-store" {
		t.Fatalf("headers: %v", r.Headers)
	}
	var body struct{ Token string }
	if err := json.Unmarshal([]byte(r.Body), &body); err != nil || body.Token == "" {
		t.Fatalf("body is not {\"token\": ...}: %v", err)
	}
	claims := authztest.TokenClaims(t, body.Token)
	if claims["k"] != "id" || claims["uid"] != "alice" {
		t.Fatalf("claims k=%v uid=%v", claims["k"], claims["uid"])
	}
	if g, _ := json.Marshal(claims["gids"]); string(g) != `["team","eng"]` {
		t.Fatalf("gids = %s", g)
	}
	if ui, _ := json.Marshal(claims["ui"]); string(ui) != `{"avatar":"https://example.test/a.png","name":"Alice"}` {
		t.Fatalf("ui = %s", ui)
	}
	if lb.Calls() != 1 {
		t.Fatalf("Liveblocks calls = %d, want 1", lb.Calls())
	}
}

func TestCheck_Table(t *testing.T) {
	_, lb := authztest.DevServer(t)
	c := authztest.GRPC(t, authztest.Engine(t, authztest.Config, lb.URL, testenv.DevSecretKey))
	now := time.Now()
	with := func(mod func(m map[string]any)) string {
		m := authztest.Alice()
		mod(m)
		return authztest.Session(m)
	}
	valid := authztest.Session(authztest.Alice())
	parts := strings.Split(valid, ".")
	// Alice's header and signature around mallory's claims.
	forged := strings.Split(authztest.Unsigned(map[string]any{}, map[string]any{"sub": "mallory", "exp": now.Add(time.Hour).Unix()}), ".")[1]
	tampered := parts[0] + "." + forged + "." + parts[2]
	none := authztest.Unsigned(map[string]any{"alg": "none", "typ": "JWT"}, authztest.Alice()) + "."
	hs384 := authztest.SignHS(authztest.HMACSecret, "HS384", authztest.Alice())
	wrongKey := authztest.SignHS("another-secret-of-the-right-length-000000000", "HS256", authztest.Alice())

	cases := []struct {
		name       string
		method     string
		path       string
		headers    map[string]string
		wantAllow  bool
		wantStatus int
		wantUser   string // x-user-id set on pass-through
		wantCalls  int64  // Liveblocks calls caused
		wantReason string // substring of the body: a 401 gives one of a few fixed reasons, never the store's
	}{
		{"auth path without cookie is 401", "POST", authPath, nil, false, 401, "", 0, "no session cookie"},
		{"auth path with expired session is 401", "POST", authPath, cookie(with(func(m map[string]any) { m["exp"] = now.Add(-time.Minute).Unix() })), false, 401, "", 0, "\"invalid or expired session\""},
		{"auth path with tampered session is 401", "POST", authPath, cookie(tampered), false, 401, "", 0, "\"invalid or expired session\""},
		{"auth path with alg none is 401", "POST", authPath, cookie(none), false, 401, "", 0, "\"invalid or expired session\""},
		{"auth path with algorithm not allowed is 401", "POST", authPath, cookie(hs384), false, 401, "", 0, "\"invalid or expired session\""},
		{"auth path with a session signed by another key is 401", "POST", authPath, cookie(wrongKey), false, 401, "", 0, "\"invalid or expired session\""},
		{"auth path with garbage is 401", "POST", authPath, cookie("not-a-jwt"), false, 401, "", 0, "\"invalid or expired session\""},
		{"auth path with session lacking user id is 401", "POST", authPath, cookie(with(func(m map[string]any) { delete(m, "sub") })), false, 401, "", 0, "\"invalid or expired session\""},
		{"auth path with over-long user id is 403", "POST", authPath, cookie(with(func(m map[string]any) { m["sub"] = strings.Repeat("u", 129) })), false, 403, "", 0, "userId"},
		{"auth path with non-string name is 403", "POST", authPath, cookie(with(func(m map[string]any) { m["name"] = 42 })), false, 403, "", 0, "name"},
		{"auth path with huge userInfo is 403", "POST", authPath, cookie(with(func(m map[string]any) { m["picture"] = strings.Repeat("p", 1100) })), false, 403, "", 0, "userInfo"},
		{"auth path with GET is 405", "GET", authPath, cookie(valid), false, 405, "", 0, "POST"},
		{"auth path with a query string is the auth path", "POST", authPath + "?x=1", cookie(valid), false, 200, "", 1, "token"},
		{"auth path session before a comma-joined cookie", "POST", authPath, map[string]string{"cookie": "theme=dark; session=" + valid + ", b=2"}, false, 200, "", 1, "token"},
		{"auth path session after a comma is not the session: 401", "POST", authPath, map[string]string{"cookie": "theme=dark; a=1, session=" + valid + ", b=2"}, false, 401, "", 0, "no session cookie"},
		{"two session cookies are ambiguous: 401", "POST", authPath, map[string]string{"cookie": "session=" + valid + "; session=" + valid}, false, 401, "", 0, "more than one"},
		{"other path with session passes with identity", "GET", "/docs/1?q=2", cookie(valid), true, 0, "alice", 0, ""},
		{"other path without session passes anonymous", "GET", "/", nil, true, 0, "", 0, ""},
		{"other path with invalid session passes anonymous", "GET", "/", cookie(tampered), true, 0, "", 0, ""},
		{"POST to another path passes", "POST", "/api/other", cookie(valid), true, 0, "alice", 0, ""},
		{"auth path with trailing slash is another path", "POST", authPath + "/", cookie(valid), true, 0, "alice", 0, ""},
		{"spoofed identity headers without a session are removed", "GET", "/", map[string]string{"x-user-id": "admin", "x-user-groups": "root"}, true, 0, "", 0, ""},
		{"spoofed identity headers with a session are overwritten", "GET", "/", map[string]string{"cookie": "session=" + valid, "x-user-id": "admin"}, true, 0, "alice", 0, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := lb.Calls()
			r := authztest.Check(t, c, authztest.CheckRequest(tc.method, tc.path, tc.headers, ""), 3*time.Second)
			if r.GRPCError != nil {
				t.Fatalf("decisions are never gRPC errors, got %v", r.GRPCError)
			}
			if r.Allowed != tc.wantAllow {
				t.Fatalf("allowed = %v, want %v (status %d, body %s)", r.Allowed, tc.wantAllow, r.Status, r.Body)
			}
			if got := lb.Calls() - before; got != tc.wantCalls {
				t.Fatalf("Liveblocks calls = %d, want %d", got, tc.wantCalls)
			}
			if tc.wantAllow {
				if r.Set["x-user-id"] != tc.wantUser {
					t.Fatalf("x-user-id set to %q, want %q (set %v, removed %v)", r.Set["x-user-id"], tc.wantUser, r.Set, r.Removed)
				}
				if tc.wantUser == "" {
					for _, h := range []string{"x-user-id", "x-user-groups", "x-user-info"} {
						if !contains(r.Removed, h) {
							t.Fatalf("anonymous request must remove %s; removed %v", h, r.Removed)
						}
					}
					if len(r.Set) != 0 {
						t.Fatalf("anonymous request sets headers %v", r.Set)
					}
				} else {
					if r.Set["x-user-groups"] != "team,eng" || r.Set["x-user-info"] != `{"avatar":"https://example.test/a.png","name":"Alice"}` {
						t.Fatalf("identity headers: %v", r.Set)
					}
				}
				return
			}
			if r.Status != tc.wantStatus {
				t.Fatalf("status = %d, want %d (body %s)", r.Status, tc.wantStatus, r.Body)
			}
			if !strings.Contains(r.Body, tc.wantReason) {
				t.Fatalf("body %q does not say %q", r.Body, tc.wantReason)
			}
			if r.Headers["cache-control"] != "no-store" {
				t.Fatalf("cache-control = %q", r.Headers["cache-control"])
			}
			if tc.wantStatus == 405 && r.Headers["allow"] != "POST" {
				t.Fatalf("405 without allow: POST: %v", r.Headers)
			}
			if tc.wantStatus != 200 {
				var e struct{ Error, Reason string }
				if err := json.Unmarshal([]byte(r.Body), &e); err != nil || e.Error == "" {
					t.Fatalf("refusal body is not a short JSON error: %q", r.Body)
				}
			}
		})
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func TestCheck_LiveblocksRefusalPassesThrough(t *testing.T) {
	// The real dev server refuses any secret but sk_localdev with a 403.
	_, lb := authztest.DevServer(t)
	c := authztest.GRPC(t, authztest.Engine(t, authztest.Config, lb.URL, "sk_not_the_dev_key"))
	r := authztest.Check(t, c, authztest.CheckRequest("POST", authPath, cookie(authztest.Session(authztest.Alice())), ""), 2*time.Second)
	if r.Status != 403 || !strings.Contains(r.Body, "Invalid secret key") {
		t.Fatalf("want Liveblocks' 403 with its body, got %d %q", r.Status, r.Body)
	}
	if strings.Contains(r.Body, "sk_not_the_dev_key") {
		t.Fatal("the secret key appears in the body")
	}
}

// The dev server cannot be made to fail with a 500, hang, or refuse
// connections while running, so these cases use an httptest server or a
// closed port in its place.
func TestCheck_LiveblocksFailuresBecome503(t *testing.T) {
	fail := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, `{"error":"internal"}`, http.StatusInternalServerError)
	}))
	defer fail.Close()
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// net/http notices a client leaving only once the body is read.
		_, _ = io.Copy(io.Discard, r.Body)
		<-r.Context().Done()
	}))
	defer hang.Close()
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	closed := "http://" + l.Addr().String()
	l.Close()

	for _, tc := range []struct {
		name, url string
		deadline  time.Duration
	}{
		{"liveblocks 500", fail.URL, 2 * time.Second},
		{"liveblocks hangs past envoy's deadline", hang.URL, 300 * time.Millisecond},
		{"liveblocks unreachable", closed, 2 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := authztest.GRPC(t, authztest.Engine(t, authztest.Config, tc.url, testenv.DevSecretKey))
			start := time.Now()
			// Envoy's ext_authz timeout arrives as the gRPC deadline; the
			// sidecar answers 503 just inside it.
			r := authztest.Check(t, c, authztest.CheckRequest("POST", authPath, cookie(authztest.Session(authztest.Alice())), ""), tc.deadline)
			if r.GRPCError != nil {
				t.Fatalf("gRPC error instead of a 503 answer: %v", r.GRPCError)
			}
			if r.Status != 503 {
				t.Fatalf("status = %d, want 503 (retryable for the client); body %q", r.Status, r.Body)
			}
			if el := time.Since(start); el > tc.deadline {
				t.Fatalf("answered after %s, past the %s deadline", el, tc.deadline)
			}
		})
	}
}

// With allow_partial_message (the Istio recipe), Envoy sends the first
// max_request_bytes of a larger body and marks the check with
// x-envoy-auth-partial-body: true. A token request marked so is refused with
// 413 before its body is read, and neither the store nor Liveblocks is
// asked; other requests (uploads) are checked as ever.
func TestCheck_PartialBodyOnTheAuthPathIs413WithoutAskingLiveblocks(t *testing.T) {
	_, lb := authztest.DevServer(t)
	c := authztest.GRPC(t, authztest.Engine(t, authztest.Config, lb.URL, testenv.DevSecretKey))
	session := authztest.Session(authztest.Alice())
	rawHeaderMap := func(req *authv3.CheckRequest, value string) *authv3.CheckRequest {
		h := req.GetAttributes().GetRequest().GetHttp()
		h.HeaderMap = &corev3.HeaderMap{Headers: []*corev3.HeaderValue{{Key: "x-envoy-auth-partial-body", RawValue: []byte(value)}}}
		return req
	}
	withPartial := func(v string) map[string]string {
		h := cookie(session)
		h["x-envoy-auth-partial-body"] = v
		return h
	}
	cut := `{"room":"r1","padding":"` + strings.Repeat("x", 40)
	for _, tc := range []struct {
		name    string
		req     *authv3.CheckRequest
		allowed bool
		status  int
		calls   int64
	}{
		{"AuthPathMarkedPartialIs413", authztest.CheckRequest("POST", authPath, withPartial("true"), cut), false, 413, 0},
		{"AuthPathMarkedPartialInTheRawHeaderMapIs413", rawHeaderMap(authztest.CheckRequest("POST", authPath, cookie(session), cut), "true"), false, 413, 0},
		{"AuthPathMarkedWholeGetsTheToken", authztest.CheckRequest("POST", authPath, withPartial("false"), `{"room":"r1"}`), false, 200, 1},
		{"UploadMarkedPartialPassesWithIdentity", authztest.CheckRequest("POST", "/upload", withPartial("true"), cut), true, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := lb.Calls()
			r := authztest.Check(t, c, tc.req, 3*time.Second)
			if r.GRPCError != nil || r.Allowed != tc.allowed || !tc.allowed && r.Status != tc.status {
				t.Fatalf("allowed=%v status=%d body=%s err=%v, want allowed=%v status %d", r.Allowed, r.Status, r.Body, r.GRPCError, tc.allowed, tc.status)
			}
			if tc.status == 413 && !strings.Contains(r.Body, `"payload_too_large"`) {
				t.Fatalf("413 body %s does not say payload_too_large", r.Body)
			}
			if tc.allowed && r.Set["x-user-id"] != "alice" {
				t.Fatalf("upload checked without its identity: %v", r.Set)
			}
			if n := lb.Calls() - before; n != tc.calls {
				t.Fatalf("Liveblocks was called %d times, want %d", n, tc.calls)
			}
		})
	}
}
