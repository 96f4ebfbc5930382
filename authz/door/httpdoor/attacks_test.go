package httpdoor_test

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/lbauthz/lbauthz/authz/door/httpdoor"
	"github.com/lbauthz/lbauthz/internal/authztest"
	"github.com/lbauthz/lbauthz/internal/testenv"
)

// TestAttacks_EveryDoorRefusesAlike runs the attack table (forged and
// ambiguous credentials, forwarded headers sent by the client, spellings of
// the auth path) through the gRPC door and every HTTP door, with the real
// Liveblocks dev server behind a counter: each case gets its exact answer,
// Liveblocks is called only for a token, and the tokens' jku/x5u URLs are
// never fetched. The same table runs through real nginx and Caddy in
// deploy/attacks_test.go.
func TestAttacks_EveryDoorRefusesAlike(t *testing.T) {
	_, lb := authztest.DevServer(t)
	a := authztest.NewAttacks(t)
	e := a.Engine(t, lb.URL, testenv.DevSecretKey)
	base := serveHTTPDoors(t, e, httpdoor.Options{})
	cases := a.Cases()
	for _, d := range []struct {
		name string
		door authztest.Door
	}{
		{"EnvoyGRPC", grpcDoor(authztest.GRPC(t, e))},
		{"Nginx", nginxDoor(base)},
		{"Forward", forwardDoor(base)},
		{"EnvoyHTTP", envoyHTTPDoor(base)},
	} {
		t.Run(d.name, func(t *testing.T) { authztest.RunAttacks(t, "", cases, lb, d.door) })
	}
	if n := a.TrapHits(); n != 0 {
		t.Fatalf("a token's jku or x5u URL was fetched %d times", n)
	}
}

// TestDirect_OtherSpellingsOfTheAuthPathAre404 sends, as a proxy that
// routes by a normalized path would (nginx's location matching, Caddy's
// path matcher), other spellings of the auth path to the direct endpoint
// with a valid session: the raw path is matched exactly, so each is a 404
// JSON answer, which the Liveblocks client does not retry, and never a
// token or a call to Liveblocks. The request line is written by hand so
// that nothing cleans it on the way.
func TestDirect_OtherSpellingsOfTheAuthPathAre404(t *testing.T) {
	_, lb := authztest.DevServer(t)
	a := authztest.NewAttacks(t)
	base := serveHTTPDoors(t, a.Engine(t, lb.URL, testenv.DevSecretKey), httpdoor.Options{})
	addr := strings.TrimPrefix(base, "http://")
	cookie := "session=" + a.Session(nil, authztest.AliceClaims())
	for _, target := range []string{
		"//api/liveblocks-auth", "/api/x/../liveblocks-auth", "/api/./liveblocks-auth", "/api/liveblocks-%61uth",
		"/api%2fliveblocks-auth", "/API/liveblocks-auth", "/api/liveblocks-auth/", "/api/liveblocks-auth/.",
		"/api//liveblocks-auth", "/api/liveblocks-auth%00", "/api/liveblocks-auth;x=1",
	} {
		t.Run(target, func(t *testing.T) {
			before := lb.Calls()
			status, ctype, body := rawAnswer(t, addr, "POST "+target+" HTTP/1.1\r\nHost: x\r\nCookie: "+cookie+
				"\r\nContent-Type: application/json\r\nContent-Length: 13\r\nConnection: close\r\n\r\n{\"room\":\"r1\"}")
			if status != 404 || ctype != "application/json" || !strings.Contains(body, `"not_found"`) {
				t.Fatalf("got %d %q %s, want 404 JSON not_found", status, ctype, body)
			}
			if n := lb.Calls() - before; n != 0 {
				t.Fatalf("Liveblocks was called %d times", n)
			}
		})
	}
}

// TestChecks_ForwardedHeadersFromAnUntrustedPeerChangeNothing connects
// from 127.0.0.3 to doors that trust 127.0.0.2 only: every check is refused
// whatever its forwarded headers claim, the answer carries no identity, and
// the direct endpoint, which serves any peer, ignores them. The same
// checks from 127.0.0.2 are believed.
func TestChecks_ForwardedHeadersFromAnUntrustedPeerChangeNothing(t *testing.T) {
	_, lb := authztest.DevServer(t)
	a := authztest.NewAttacks(t)
	e := a.Engine(t, lb.URL, testenv.DevSecretKey)
	base := serveHTTPDoors(t, e, httpdoor.Options{Settings: httpdoor.Settings{TrustedPeers: []netip.Prefix{netip.MustParsePrefix("127.0.0.2/32")}}})
	valid := "session=" + a.Session(nil, authztest.AliceClaims())
	from := func(ip string) *http.Client {
		d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 2 * time.Second}
		return &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
			DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
				return d.DialContext(ctx, network, addr)
			},
		}}
	}
	do := func(t *testing.T, c *http.Client, method, path string, h http.Header, body string) (int, http.Header, string) {
		t.Helper()
		req, err := http.NewRequest(method, base+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header = h
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header, string(b)
	}
	checks := []struct {
		name, method, path string
		h                  http.Header
	}{
		{"Nginx", "GET", "/check/nginx", http.Header{"X-Original-Uri": {"/docs"}, "X-Original-Method": {"GET"}}},
		{"NginxClaimingTheAuthPath", "GET", "/check/nginx", http.Header{"X-Original-Uri": {authztest.AuthPath}, "X-Original-Method": {"POST"}}},
		{"Forward", "GET", "/check/forward", http.Header{"X-Forwarded-Uri": {"/docs"}, "X-Forwarded-Method": {"GET"}}},
		{"EnvoyHTTP", "GET", "/check/envoy/docs", http.Header{}},
	}
	untrusted, trusted := from("127.0.0.3"), from("127.0.0.2")
	for _, c := range checks {
		for _, withSession := range []bool{false, true} {
			name := c.name
			if withSession {
				name += "WithSession"
			}
			t.Run("Untrusted"+name, func(t *testing.T) {
				h := c.h.Clone()
				h.Set("X-Forwarded-For", "127.0.0.2")
				h.Set("X-Real-Ip", "127.0.0.2")
				h.Set("Forwarded", "for=127.0.0.2")
				h.Set("X-User-Id", "mallory")
				if withSession {
					h.Set("Cookie", valid)
				}
				status, ah, body := do(t, untrusted, c.method, c.path, h, "")
				if status != 403 || !strings.Contains(body, `"untrusted_peer"`) || !strings.Contains(body, "127.0.0.3") {
					t.Fatalf("got %d %s, want 403 untrusted_peer naming 127.0.0.3", status, body)
				}
				for _, name := range []string{"X-User-Id", "X-User-Groups", "X-User-Info", "X-Envoy-Auth-Headers-To-Remove"} {
					if ah.Get(name) != "" {
						t.Errorf("the refusal carries %s", name)
					}
				}
			})
		}
	}
	t.Run("TrustedPeerIsBelieved", func(t *testing.T) {
		h := checks[0].h.Clone()
		h.Set("Cookie", valid)
		if status, ah, body := do(t, trusted, "GET", "/check/nginx", h, ""); status != 200 || ah.Get("X-User-Id") != "alice" {
			t.Fatalf("got %d user %q %s, want 200 as alice", status, ah.Get("X-User-Id"), body)
		}
	})
	t.Run("DirectEndpointIgnoresForwardedHeaders", func(t *testing.T) {
		forged := http.Header{"X-Original-Uri": {"/docs"}, "X-Original-Method": {"GET"}, "X-Forwarded-Uri": {"/docs"},
			"X-Forwarded-Method": {"GET"}, "X-Forwarded-For": {"127.0.0.2"}, "X-User-Id": {"mallory"},
			"Content-Type": {"application/json"}}
		before := lb.Calls()
		status, _, body := do(t, untrusted, "POST", authztest.AuthPath, forged, `{"room":"r1"}`)
		if status != 401 || lb.Calls() != before {
			t.Fatalf("without a session: %d %s (Liveblocks called %d times), want 401 and no call", status, body, lb.Calls()-before)
		}
		forged.Set("Cookie", valid)
		status, _, body = do(t, untrusted, "POST", authztest.AuthPath, forged, `{"room":"r1"}`)
		if authztest.AnswerOutcome(t, status, []byte(body)) != (authztest.Outcome{Status: 200, UserID: "alice"}) {
			t.Fatalf("with a session: %d, want alice's token", status)
		}
	})
}

// rawAnswer writes a request as it is and returns the answer's status,
// content type and body.
func rawAnswer(t *testing.T, addr, req string) (int, string, string) {
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
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("reading the answer: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Content-Type"), string(b)
}
