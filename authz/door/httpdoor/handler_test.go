package httpdoor_test

import (
	"bufio"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"

	"github.com/lbauthz/lbauthz/authz"
	"github.com/lbauthz/lbauthz/authz/door/httpdoor"
	"github.com/lbauthz/lbauthz/internal/authztest"
	"github.com/lbauthz/lbauthz/internal/testenv"
)

// serveHTTPDoors serves the HTTP doors over e on a loopback port (a trusted
// peer by default) and returns the base URL.
func serveHTTPDoors(t *testing.T, e *authz.Engine, opts httpdoor.Options) string {
	t.Helper()
	srv := httptest.NewServer(httpdoor.New(authz.NewHolder(e), opts))
	t.Cleanup(srv.Close)
	return srv.URL
}

// clientHeaders are the headers of a case as the client sends them.
func clientHeaders(c authztest.Case) http.Header {
	h := cookieHeaders(c)
	for k, v := range c.Header {
		h.Set(k, v)
	}
	return h
}

// cookieHeaders are the Cookie header lines of a case.
func cookieHeaders(c authztest.Case) http.Header {
	h := http.Header{}
	if c.Cookie != "" {
		h.Set("Cookie", c.Cookie)
	}
	for _, more := range c.MoreCookies {
		h.Add("Cookie", more)
	}
	return h
}

// grpcDoor sends a case as Envoy's gRPC ext_authz does (envoy.yaml: the body
// only on the token route) and applies an OK answer to the request's headers
// as Envoy does.
func grpcDoor(c authv3.AuthorizationClient) authztest.Door {
	return func(t *testing.T, k authztest.Case) authztest.Outcome {
		headers := map[string]string{}
		for name, vs := range clientHeaders(k) {
			headers[strings.ToLower(name)] = strings.Join(vs, ",")
		}
		body := ""
		if authztest.IsAuthPath(k.Path) {
			body = k.Body
		}
		req := authztest.CheckRequest(k.Method, k.Path, headers, body)
		if len(k.MoreCookies) > 0 {
			// Repeated Cookie lines, as Envoy sends them in header_map
			// (encode_raw_headers): the joined string cannot tell a ","
			// that joined two lines from one inside a cookie's value.
			hr := req.GetAttributes().GetRequest().GetHttp()
			delete(hr.Headers, "cookie")
			hr.HeaderMap = &corev3.HeaderMap{}
			for _, v := range cookieHeaders(k)["Cookie"] {
				hr.HeaderMap.Headers = append(hr.HeaderMap.Headers, &corev3.HeaderValue{Key: "cookie", RawValue: []byte(v)})
			}
		}
		r := authztest.Check(t, c, req, 3*time.Second)
		if r.GRPCError != nil {
			t.Fatalf("gRPC error: %v", r.GRPCError)
		}
		if !r.Allowed {
			return authztest.AnswerOutcome(t, r.Status, []byte(r.Body))
		}
		for _, name := range r.Removed {
			delete(headers, name)
		}
		for name, v := range r.Set {
			headers[name] = v
		}
		for name := range headers {
			if strings.HasPrefix(name, "x_user_") {
				t.Fatalf("the answer left %s on the request to the app", name)
			}
		}
		if headers["x-user-id"] == "" && headers["x-user-groups"]+headers["x-user-info"] != "" {
			t.Fatal("the answer left identity headers without a user on the request to the app")
		}
		return authztest.Outcome{Allowed: true, Status: 200, UserID: headers["x-user-id"], Groups: headers["x-user-groups"]}
	}
}

// directCall sends a case to the direct auth endpoint as the deploy/ configs
// proxy the token path: the client's request as it is, with the client's
// identity headers removed (every config does).
func directCall(t *testing.T, base string, c authztest.Case) (int, http.Header, []byte) {
	t.Helper()
	h := clientHeaders(c)
	for name := range authztest.SpoofedIdentity {
		h.Del(name)
	}
	if c.Body != "" {
		h.Set("Content-Type", "application/json")
	}
	return authztest.Send(t, c.Method, base+c.Path, h, c.Body)
}

// nginxDoor calls the doors as deploy/nginx/nginx.conf does: the token path
// proxied, everything else checked by a GET /check/nginx whose 2xx answer's
// identity headers replace the client's.
func nginxDoor(base string) authztest.Door {
	return func(t *testing.T, c authztest.Case) authztest.Outcome {
		if authztest.IsAuthPath(c.Path) {
			status, _, body := directCall(t, base, c)
			return authztest.AnswerOutcome(t, status, body)
		}
		h := cookieHeaders(c)
		h.Set("X-Original-URI", c.Path)
		h.Set("X-Original-Method", c.Method)
		status, hdr, body := authztest.Send(t, "GET", base+"/check/nginx", h, "")
		switch {
		case status/100 == 2:
			// proxy_set_header X-User-Id $lbauthz_user_id: lbauthz's value,
			// or no header at all.
			return authztest.Outcome{Allowed: true, Status: 200, UserID: hdr.Get("X-User-Id"), Groups: hdr.Get("X-User-Groups")}
		case status == 401 || status == 403:
			return authztest.AnswerOutcome(t, status, body)
		}
		// auth_request makes any other status a 500; nginx.conf answers 503.
		return authztest.Outcome{Status: 503}
	}
}

// forwardDoor calls the doors as Traefik's forwardAuth and Caddy's
// forward_auth do: a GET /check/forward with the client's headers (forged
// identity included, to show the door ignores them) and X-Forwarded-*; a 2xx
// answer's identity headers replace the client's.
func forwardDoor(base string) authztest.Door {
	return func(t *testing.T, c authztest.Case) authztest.Outcome {
		if authztest.IsAuthPath(c.Path) {
			status, _, body := directCall(t, base, c)
			return authztest.AnswerOutcome(t, status, body)
		}
		h := clientHeaders(c)
		h.Set("X-Forwarded-Method", c.Method)
		h.Set("X-Forwarded-Uri", c.Path)
		h.Set("X-Forwarded-Host", "app.example.test")
		h.Set("X-Forwarded-Proto", "https")
		status, hdr, body := authztest.Send(t, "GET", base+"/check/forward", h, "")
		if status/100 == 2 {
			if v := hdr.Get("X-User-Id"); v == "mallory" {
				t.Fatalf("the check echoed the client's forged identity")
			}
			return authztest.Outcome{Allowed: true, Status: 200, UserID: hdr.Get("X-User-Id"), Groups: hdr.Get("X-User-Groups")}
		}
		return authztest.AnswerOutcome(t, status, body)
	}
}

// envoyHTTPDoor calls the doors as deploy/envoy/envoy-http.yaml does: the
// original method on /check/envoy + path, only the cookie of the client's
// headers. Exactly 200 allows; the request to the app then loses the
// headers the answer lists in x-envoy-auth-headers-to-remove and gets its
// x-user-* headers (allowed_upstream_headers). The client's forged headers
// are kept on the request up to that point, as if the config's
// strip-identity-headers filter were missing: the answer alone must remove
// them.
func envoyHTTPDoor(base string) authztest.Door {
	return func(t *testing.T, c authztest.Case) authztest.Outcome {
		if authztest.IsAuthPath(c.Path) {
			status, _, body := directCall(t, base, c)
			return authztest.AnswerOutcome(t, status, body)
		}
		h := cookieHeaders(c)
		status, hdr, body := authztest.Send(t, c.Method, base+"/check/envoy"+c.Path, h, "")
		switch {
		case status == 200:
			up := clientHeaders(c)
			for name := range strings.SplitSeq(hdr.Get("X-Envoy-Auth-Headers-To-Remove"), ",") {
				up.Del(strings.TrimSpace(name))
			}
			for _, name := range []string{"X-User-Id", "X-User-Groups", "X-User-Info"} {
				if v := hdr.Get(name); v != "" {
					up.Set(name, v)
				}
			}
			return authztest.Outcome{Allowed: true, Status: 200, UserID: up.Get("X-User-Id"), Groups: up.Get("X-User-Groups")}
		case status >= 500:
			return authztest.Outcome{Status: 503} // status_on_error
		}
		return authztest.AnswerOutcome(t, status, body)
	}
}

// TestDoors_AnswerTheTableAlike runs the shared table of cases through every
// door of the sidecar, each called as its proxy calls it. The same table runs
// through real nginx and Caddy in deploy/.
func TestDoors_AnswerTheTableAlike(t *testing.T) {
	_, lb := authztest.DevServer(t)
	e := authztest.Engine(t, authztest.Config, lb.URL, testenv.DevSecretKey)
	base := serveHTTPDoors(t, e, httpdoor.Options{})
	doors := []struct {
		name string
		door authztest.Door
	}{
		{"EnvoyGRPC", grpcDoor(authztest.GRPC(t, e))},
		{"Nginx", nginxDoor(base)},
		{"Forward", forwardDoor(base)},
		{"EnvoyHTTP", envoyHTTPDoor(base)},
	}
	for _, d := range doors {
		t.Run(d.name, func(t *testing.T) { authztest.RunCases(t, d.door) })
	}
}

// TestDirect_AnswersAsTheGRPCDoor compares the direct auth endpoint's
// answers with the gRPC door's denied_response for the same requests:
// status, body and headers (tokens differ by their jti, so for them only
// the shape is compared).
func TestDirect_AnswersAsTheGRPCDoor(t *testing.T) {
	_, lb := authztest.DevServer(t)
	e := authztest.Engine(t, authztest.Config, lb.URL, testenv.DevSecretKey)
	base := serveHTTPDoors(t, e, httpdoor.Options{})
	c := authztest.GRPC(t, e)
	for _, k := range authztest.Cases() {
		if !authztest.IsAuthPath(k.Path) {
			continue
		}
		t.Run(k.Name, func(t *testing.T) {
			headers := map[string]string{}
			if k.Cookie != "" {
				headers["cookie"] = k.Cookie
			}
			g := authztest.Check(t, c, authztest.CheckRequest(k.Method, k.Path, headers, k.Body), 3*time.Second)
			status, h, body := directCall(t, base, k)
			if status != g.Status {
				t.Fatalf("status %d, gRPC door %d", status, g.Status)
			}
			for _, name := range []string{"content-type", "cache-control", "allow"} {
				if got := h.Get(name); got != g.Headers[name] {
					t.Errorf("%s: %q, gRPC door %q", name, got, g.Headers[name])
				}
			}
			if h.Get("cache-control") != "no-store" {
				t.Errorf("cache-control %q, want no-store", h.Get("cache-control"))
			}
			if status == 405 && h.Get("allow") != "POST" {
				t.Errorf("405 without allow: POST")
			}
			if status == 200 {
				if authztest.AnswerOutcome(t, status, body) != authztest.AnswerOutcome(t, g.Status, []byte(g.Body)) {
					t.Errorf("tokens for different users")
				}
				return
			}
			if string(body) != g.Body {
				t.Errorf("body %s, gRPC door %s", body, g.Body)
			}
		})
	}
}

func TestDirect_BodyOverTheLimitIs413(t *testing.T) {
	_, lb := authztest.DevServer(t)
	e := authztest.Engine(t, authztest.Config, lb.URL, testenv.DevSecretKey)
	cookie := http.Header{"Cookie": {"session=" + authztest.Session(authztest.Alice())}}
	pad := func(n int) string { // {"room":"r1"} padded with spaces to n bytes
		return `{"room":"r1"` + strings.Repeat(" ", n-len(`{"room":"r1"}`)) + `}`
	}

	t.Run("DefaultLimitIs4096", func(t *testing.T) {
		base := serveHTTPDoors(t, e, httpdoor.Options{})
		status, h, body := authztest.Send(t, "POST", base+authztest.AuthPath, cookie, pad(4097))
		if status != 413 || h.Get("content-type") != "application/json" || h.Get("cache-control") != "no-store" {
			t.Fatalf("4097 bytes: %d %q %q, want 413 JSON no-store", status, h.Get("content-type"), h.Get("cache-control"))
		}
		var e struct{ Error, Reason string }
		if err := json.Unmarshal(body, &e); err != nil || e.Error != "payload_too_large" || !strings.Contains(e.Reason, "4096 bytes") {
			t.Fatalf("body %s, want a short JSON reason naming the limit", body)
		}
		if status, _, body := authztest.Send(t, "POST", base+authztest.AuthPath, cookie, pad(4096)); status != 200 {
			t.Fatalf("4096 bytes answered %d %s, want the token", status, body)
		}
	})

	t.Run("BodyWithoutContentLengthIsCountedToo", func(t *testing.T) {
		base := serveHTTPDoors(t, e, httpdoor.Options{Settings: httpdoor.Settings{MaxBodyBytes: 100}})
		req, _ := http.NewRequest("POST", base+authztest.AuthPath, io.MultiReader(strings.NewReader(pad(101))))
		req.Header = cookie.Clone()
		req.ContentLength = -1 // chunked
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 413 {
			t.Fatalf("chunked 101 bytes over a 100-byte limit: %d, want 413", resp.StatusCode)
		}
	})
}

func TestChecks_UntrustedPeerIsRefused(t *testing.T) {
	_, lb := authztest.DevServer(t)
	e := authztest.Engine(t, authztest.Config, lb.URL, testenv.DevSecretKey)
	// 127.0.0.1, the test's own address, is not among the trusted peers.
	base := serveHTTPDoors(t, e, httpdoor.Options{Settings: httpdoor.Settings{TrustedPeers: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}}})
	valid := "session=" + authztest.Session(authztest.Alice())
	for _, tc := range []struct {
		name, method, path string
		h                  http.Header
	}{
		{"Nginx", "GET", "/check/nginx", http.Header{"X-Original-Uri": {"/"}, "X-Original-Method": {"GET"}}},
		{"Forward", "GET", "/check/forward", http.Header{"X-Forwarded-Uri": {"/"}, "X-Forwarded-Method": {"GET"}}},
		{"EnvoyHTTP", "GET", "/check/envoy/", http.Header{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.h.Set("Cookie", valid)
			status, h, body := authztest.Send(t, tc.method, base+tc.path, tc.h, "")
			if status != 403 || !strings.Contains(string(body), "not in http_doors.trusted_peers") {
				t.Fatalf("got %d %s, want 403 saying the peer is not trusted", status, body)
			}
			if h.Get("X-User-Id") != "" {
				t.Fatal("an untrusted peer got the identity")
			}
		})
	}
	t.Run("DirectEndpointServesAnyPeer", func(t *testing.T) {
		status, _, body := authztest.Send(t, "POST", base+authztest.AuthPath, http.Header{"Cookie": {valid}}, `{"room":"r1"}`)
		if authztest.AnswerOutcome(t, status, body) != (authztest.Outcome{Status: 200, UserID: "alice"}) {
			t.Fatalf("got %d, want alice's token", status)
		}
	})
}

func TestChecks_AuthPathSaysToRouteItToTheSidecar(t *testing.T) {
	_, lb := authztest.DevServer(t)
	e := authztest.Engine(t, authztest.Config, lb.URL, testenv.DevSecretKey)
	base := serveHTTPDoors(t, e, httpdoor.Options{})
	valid := "session=" + authztest.Session(authztest.Alice())
	for _, uri := range []string{authztest.AuthPath, authztest.AuthPath + "?x=1"} {
		for _, tc := range []struct {
			name, method, path string
			h                  http.Header
		}{
			{"Nginx", "GET", "/check/nginx", http.Header{"X-Original-Uri": {uri}, "X-Original-Method": {"POST"}}},
			{"Forward", "GET", "/check/forward", http.Header{"X-Forwarded-Uri": {uri}, "X-Forwarded-Method": {"POST"}}},
			{"EnvoyHTTP", "POST", "/check/envoy" + uri, http.Header{}},
		} {
			t.Run(tc.name+uri, func(t *testing.T) {
				tc.h.Set("Cookie", valid)
				status, _, body := authztest.Send(t, tc.method, base+tc.path, tc.h, "")
				if status != 403 || !strings.Contains(string(body), "route POST /api/liveblocks-auth to the sidecar's HTTP listener") {
					t.Fatalf("got %d %s, want 403 telling the operator to route the auth path", status, body)
				}
			})
		}
	}
}

func TestChecks_RequestsThatDoNotSayWhatIsCheckedAre400(t *testing.T) {
	_, lb := authztest.DevServer(t)
	base := serveHTTPDoors(t, authztest.Engine(t, authztest.Config, lb.URL, testenv.DevSecretKey), httpdoor.Options{})
	for _, tc := range []struct {
		name, method, path string
		h                  http.Header
		reason             string
	}{
		{"NginxWithoutURI", "GET", "/check/nginx", http.Header{"X-Original-Method": {"GET"}}, "X-Original-URI is missing"},
		{"NginxWithoutMethod", "GET", "/check/nginx", http.Header{"X-Original-Uri": {"/"}}, "X-Original-Method is missing"},
		{"NginxWithAbsoluteURI", "GET", "/check/nginx", http.Header{"X-Original-Uri": {"http://evil.test/"}, "X-Original-Method": {"GET"}}, "not a path"},
		{"NginxWithBadMethod", "GET", "/check/nginx", http.Header{"X-Original-Uri": {"/"}, "X-Original-Method": {"GE T"}}, "not an HTTP method"},
		{"ForwardWithoutURI", "GET", "/check/forward", http.Header{"X-Forwarded-Method": {"GET"}}, "X-Forwarded-Uri is missing"},
		{"EnvoyWithoutPath", "GET", "/check/envoy", http.Header{}, "no original path"},
		{"EnvoyWithOnlyQuery", "GET", "/check/envoy?x=1", http.Header{}, "no original path"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, h, body := authztest.Send(t, tc.method, base+tc.path, tc.h, "")
			if status != 400 || !strings.Contains(string(body), tc.reason) || h.Get("content-type") != "application/json" {
				t.Fatalf("got %d %s, want 400 JSON saying %q", status, body, tc.reason)
			}
		})
	}
}

// TestEnvoyHTTP_AnswerListsTheHeadersToRemove shows the /check/envoy answer
// removes every identity header name it does not set, underscore spellings
// included, as the gRPC door's headers_to_remove does.
func TestEnvoyHTTP_AnswerListsTheHeadersToRemove(t *testing.T) {
	_, lb := authztest.DevServer(t)
	base := serveHTTPDoors(t, authztest.Engine(t, authztest.Config, lb.URL, testenv.DevSecretKey), httpdoor.Options{})
	noGroups := authztest.Alice()
	delete(noGroups, "groups")
	for _, tc := range []struct {
		name, cookie, remove, userID string
	}{
		{"Anonymous", "", "x-user-id,x_user_id,x-user-groups,x_user_groups,x-user-info,x_user_info", ""},
		{"IdentityWithoutGroups", "session=" + authztest.Session(noGroups), "x_user_id,x-user-groups,x_user_groups,x_user_info", "alice"},
		{"FullIdentity", "session=" + authztest.Session(authztest.Alice()), "x_user_id,x_user_groups,x_user_info", "alice"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := http.Header{}
			if tc.cookie != "" {
				h.Set("Cookie", tc.cookie)
			}
			status, ah, _ := authztest.Send(t, "GET", base+"/check/envoy/docs", h, "")
			if status != 200 || ah.Get("X-Envoy-Auth-Headers-To-Remove") != tc.remove || ah.Get("X-User-Id") != tc.userID {
				t.Fatalf("got %d remove=%q user=%q, want 200 remove=%q user=%q", status,
					ah.Get("X-Envoy-Auth-Headers-To-Remove"), ah.Get("X-User-Id"), tc.remove, tc.userID)
			}
		})
	}
	t.Run("OtherDoorsSendNoEnvoyHeader", func(t *testing.T) {
		_, ah, _ := authztest.Send(t, "GET", base+"/check/nginx", http.Header{"X-Original-Uri": {"/"}, "X-Original-Method": {"GET"}}, "")
		if ah.Get("X-Envoy-Auth-Headers-To-Remove") != "" || ah.Get("X-User-Id") != "" {
			t.Fatalf("anonymous nginx answer carries %v", ah)
		}
	})
}

// TestHTTPListener_NeverRedirects sends paths that net/http's ServeMux would
// answer with a redirect (nginx makes a 3xx from auth_request a 500). The request
// line is written by hand: Go's client would send some of them cleaned.
func TestHTTPListener_NeverRedirects(t *testing.T) {
	_, lb := authztest.DevServer(t)
	e := authztest.Engine(t, authztest.Config, lb.URL, testenv.DevSecretKey)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok\n") })
	base := serveHTTPDoors(t, e, httpdoor.Options{Next: mux})
	addr := strings.TrimPrefix(base, "http://")
	for _, target := range []string{
		"//api/liveblocks-auth", "/api/../api/liveblocks-auth", "/a/../x", "//healthz", "/healthz/.",
		"/check//nginx", "/check/../healthz", "/healthz%2F", "/./check/nginx", "http://x/healthz", "*",
	} {
		t.Run(target, func(t *testing.T) {
			status := rawRequest(t, addr, "POST "+target+" HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}")
			if status != 404 && status != 400 {
				t.Fatalf("%s answered %d, want 404 or 400", target, status)
			}
		})
	}
	t.Run("ServeMuxAloneWouldRedirect", func(t *testing.T) {
		// What the doors' own dispatch prevents.
		srv := httptest.NewServer(mux)
		defer srv.Close()
		if status := rawRequest(t, strings.TrimPrefix(srv.URL, "http://"), "GET //healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"); status/100 != 3 {
			t.Fatalf("ServeMux answered //healthz with %d; this test assumes it redirects", status)
		}
	})
	t.Run("HealthzStillServed", func(t *testing.T) {
		if status, _, body := authztest.Send(t, "GET", base+"/healthz", nil, ""); status != 200 || string(body) != "ok\n" {
			t.Fatalf("/healthz: %d %q", status, body)
		}
	})
}

// rawRequest writes a request as it is and returns the answer's status.
func rawRequest(t *testing.T, addr, req string) int {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(conn, req); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		t.Fatalf("reading the status line: %v", err)
	}
	f := strings.Fields(line)
	if len(f) < 2 {
		t.Fatalf("status line %q", line)
	}
	status, err := strconv.Atoi(f[1])
	if err != nil {
		t.Fatalf("status line %q", line)
	}
	return status
}

// TestHTTPDoors_FollowTheEngineInUse swaps the engine for one with another
// auth path, as a reload does: the direct endpoint moves with it.
func TestHTTPDoors_FollowTheEngineInUse(t *testing.T) {
	_, lb := authztest.DevServer(t)
	holder := authz.NewHolder(authztest.Engine(t, authztest.Config, lb.URL, testenv.DevSecretKey))
	srv := httptest.NewServer(httpdoor.New(holder, httpdoor.Options{}))
	defer srv.Close()
	valid := http.Header{"Cookie": {"session=" + authztest.Session(authztest.Alice())}}
	if status, _, _ := authztest.Send(t, "POST", srv.URL+authztest.AuthPath, valid, `{}`); status != 200 {
		t.Fatalf("before the swap: %d", status)
	}
	holder.Swap(authztest.Engine(t, strings.Replace(authztest.Config, authztest.AuthPath, "/lb-auth", 1), lb.URL, testenv.DevSecretKey))
	if status, _, _ := authztest.Send(t, "POST", srv.URL+"/lb-auth", valid, `{}`); status != 200 {
		t.Fatalf("new auth path after the swap: %d", status)
	}
	if status, _, _ := authztest.Send(t, "POST", srv.URL+authztest.AuthPath, valid, `{}`); status != 404 {
		t.Fatalf("old auth path after the swap: %d, want 404", status)
	}
	h := http.Header{"X-Original-Uri": {"/lb-auth"}, "X-Original-Method": {"POST"}}
	if status, _, body := authztest.Send(t, "GET", srv.URL+"/check/nginx", h, ""); status != 403 || !strings.Contains(string(body), "route POST /lb-auth") {
		t.Fatalf("check of the new auth path: %d %s", status, body)
	}
}

// TestChecks_EachSessionIsAnsweredAsItself sends more distinct sessions
// than the table of prepared answers holds (128 slots, twice the session
// cache's 40 entries rounded up), twice over, so that answers are displaced
// and built again: each answer carries its own session's identity.
func TestChecks_EachSessionIsAnsweredAsItself(t *testing.T) {
	cfg := strings.Replace(authztest.Config, "    algorithms: [\"HS256\"]\n", "    algorithms: [\"HS256\"]\n  cache: { max_entries: 40 }\n", 1)
	h := httpdoor.New(authz.NewHolder(authztest.Engine(t, cfg, "http://127.0.0.1:9", "sk_test")), httpdoor.Options{})
	sessions := make([]string, 200)
	for i := range sessions {
		c := authztest.Alice()
		c["sub"], c["groups"], c["name"] = "user-"+strconv.Itoa(i), []any{"g" + strconv.Itoa(i)}, "User "+strconv.Itoa(i)
		sessions[i] = authztest.Session(c)
	}
	for pass := range 2 {
		for i, s := range sessions {
			for door, r := range checkRequests(t, "session="+s) {
				w := &headerWriter{h: http.Header{}}
				h.ServeHTTP(w, r)
				user, groups := "user-"+strconv.Itoa(i), "g"+strconv.Itoa(i)
				if w.status != http.StatusOK || w.h.Get("X-User-Id") != user || w.h.Get("X-User-Groups") != groups ||
					!strings.Contains(w.h.Get("X-User-Info"), `"User `+strconv.Itoa(i)+`"`) {
					t.Fatalf("pass %d, %s, session %d: answer %d %v", pass, door, i, w.status, w.h)
				}
			}
		}
	}
}
