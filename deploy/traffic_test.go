package deploy_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lbauthz/lbauthz/authz"
	"github.com/lbauthz/lbauthz/authz/door/httpdoor"
	"github.com/lbauthz/lbauthz/internal/authztest"
	"github.com/lbauthz/lbauthz/internal/testenv"
	"github.com/lbauthz/lbauthz/liveblocks"
)

// The traffic tests run a real proxy (nginx, Caddy) with the config from this
// folder between a client and:
//
//   - the real lbauthz HTTP listener (authz.NewHTTPHandler over an engine
//     that talks to the real Liveblocks dev server), served by the test on a
//     loopback port behind a recorder that notes what each check and token
//     request looked like;
//   - a small app that reports what reached it.
//
// A few answers the real sidecar never gives to a well-configured proxy's
// check (401, 403 and 302 for a page) are given by the recorder instead, when
// the request carries a "standin" cookie naming one: they show what the
// proxy, configured by us, does with each kind of answer.

// checkCall is what the sidecar was asked on a /check/... request, in the
// door's own header names reduced to one shape.
type checkCall struct {
	Path, Method        string // the check request itself
	OrigMethod, OrigURI string // what the check is about
	Cookie, UserID      string
	BodyLen             int
}

// redacted is the call as a test may print it: without the session cookie.
func (c checkCall) redacted() checkCall {
	if c.Cookie != "" {
		c.Cookie = fmt.Sprintf("<%d bytes>", len(c.Cookie))
	}
	return c
}

// tokenCall is what the sidecar saw on the token path.
type tokenCall struct {
	Method, Cookie, Body, UserID string
}

// appCall is what the app saw.
type appCall struct {
	App                          bool // always true: tells the app's answer from the sidecar's
	Method, URI, Body            string
	UserID, UserGroups, UserInfo []string
	ForwardedFor, ForwardedProto string
	// Underscored holds the identity headers spelt with "_" the app saw.
	Underscored []string
}

type sidecar struct {
	URL    string
	Dev    *testenv.DevServer
	srv    *httptest.Server
	mu     sync.Mutex
	checks []checkCall
	tokens []tokenCall
}

// startSidecar serves the real HTTP doors, with the config of the authz
// tests (cookie "session", x-user-* headers), API clients' bearer tokens
// (authztest.BearerSessions) and the real dev server.
func startSidecar(t *testing.T) *sidecar {
	t.Helper()
	s := &sidecar{Dev: testenv.StartLiveblocks(t)}
	authztest.DirectoryRooms(t, s.Dev.URL)
	e := authztest.Engine(t, authztest.Config+authztest.BearerSessions+authztest.DirectoryConfig(t), s.Dev.URL, testenv.DevSecretKey)
	doors := httpdoor.New(authz.NewHolder(e), httpdoor.Options{})
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.record(r)
		if c, err := r.Cookie("standin"); err == nil && strings.HasPrefix(r.URL.Path, "/check/") {
			standIn(w, r, c.Value)
			return
		}
		doors.ServeHTTP(w, r)
	}))
	t.Cleanup(s.srv.Close)
	s.URL = s.srv.URL
	return s
}

// record notes the request; the body is read and put back for the doors.
func (s *sidecar) record(r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(strings.NewReader(string(body)))
	s.mu.Lock()
	defer s.mu.Unlock()
	switch r.URL.Path {
	case "/check/nginx", "/check/forward":
		c := checkCall{
			Path: r.URL.Path, Method: r.Method, Cookie: r.Header.Get("Cookie"),
			UserID: r.Header.Get("X-User-Id"), BodyLen: len(body),
		}
		if r.URL.Path == "/check/nginx" {
			c.OrigMethod, c.OrigURI = r.Header.Get("X-Original-Method"), r.Header.Get("X-Original-URI")
		} else {
			c.OrigMethod, c.OrigURI = r.Header.Get("X-Forwarded-Method"), r.Header.Get("X-Forwarded-Uri")
		}
		s.checks = append(s.checks, c)
	case authPath:
		s.tokens = append(s.tokens, tokenCall{Method: r.Method, Cookie: r.Header.Get("Cookie"), Body: string(body), UserID: r.Header.Get("X-User-Id")})
	}
}

// standIn gives an answer the real sidecar never gives to a page's check.
func standIn(w http.ResponseWriter, r *http.Request, kind string) {
	switch kind {
	case "401":
		deny(w, http.StatusUnauthorized, "unauthorized")
	case "403":
		deny(w, http.StatusForbidden, "forbidden")
	case "302":
		http.Redirect(w, r, "/login", http.StatusFound)
	default:
		deny(w, http.StatusBadRequest, "unknown stand-in answer")
	}
}

func deny(w http.ResponseWriter, status int, reason string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, `{"error":"`+reason+`"}`)
}

func (s *sidecar) lastCheck() checkCall {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.checks) == 0 {
		return checkCall{}
	}
	return s.checks[len(s.checks)-1]
}

func (s *sidecar) lastToken() tokenCall {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.tokens) == 0 {
		return tokenCall{}
	}
	return s.tokens[len(s.tokens)-1]
}

// startApp starts the app: it answers every request with what it saw.
func startApp(t *testing.T) *httptest.Server {
	t.Helper()
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		_ = json.NewEncoder(w).Encode(appCall{
			App: true, Method: r.Method, URI: r.RequestURI, Body: string(body),
			UserID: r.Header.Values("X-User-Id"), UserGroups: r.Header.Values("X-User-Groups"),
			UserInfo: r.Header.Values("X-User-Info"), ForwardedFor: r.Header.Get("X-Forwarded-For"),
			ForwardedProto: r.Header.Get("X-Forwarded-Proto"),
			Underscored: append(append(r.Header.Values("X_User_Id"), r.Header.Values("X_User_Groups")...),
				r.Header.Values("X_User_Info")...),
		})
	}))
	t.Cleanup(app.Close)
	return app
}

// frontDoor describes a proxy under test and where it differs from the others.
type frontDoor struct {
	Base      string // http://host:port of the proxy
	CheckPath string // the lbauthz path its checks go to
	// RedirectStatus is what the client gets when the check answers 302:
	// nginx turns it into 500 (503 with our config), forward auth passes it on.
	RedirectStatus int
	// DownStatus is what the client gets when lbauthz does not answer.
	DownStatus int
}

var proxyClient = &http.Client{
	Timeout:       10 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// through sends one request through the proxy and returns the answer, body
// read.
func through(t *testing.T, base, method, path, cookie, body string, hdr map[string]string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, base+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if cookie != "" {
		req.Header.Set("Cookie", cookie)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := proxyClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// appAnswer returns what the app saw, when the answer is the app's.
func appAnswer(body string) (appCall, bool) {
	var c appCall
	if err := json.Unmarshal([]byte(body), &c); err != nil || !c.App {
		return appCall{}, false
	}
	return c, true
}

// proxyDoor sends the cases of the shared table through a real proxy.
func proxyDoor(base string) authztest.Door {
	return func(t *testing.T, c authztest.Case) authztest.Outcome {
		h := map[string]string{}
		for k, v := range c.Header {
			h[k] = v
		}
		if c.Body != "" && authztest.IsAuthPath(c.Path) {
			h["Content-Type"] = "application/json"
		}
		resp, body := through(t, base, c.Method, c.Path, c.Cookie, c.Body, h)
		if a, ok := appAnswer(body); ok {
			if len(a.UserID) > 1 {
				t.Fatalf("the app saw %d x-user-id headers", len(a.UserID))
			}
			return authztest.Outcome{Allowed: true, Status: resp.StatusCode, UserID: strings.Join(a.UserID, ""), Groups: strings.Join(a.UserGroups, "")}
		}
		return authztest.AnswerOutcome(t, resp.StatusCode, []byte(body))
	}
}

// runRoomClients has the real @liveblocks/client get its token through the
// proxy and enter a dev-server room open to the group "team" only.
func runRoomClients(t *testing.T, s *sidecar, base string) {
	lb, err := liveblocks.New(liveblocks.Options{BaseURL: s.Dev.URL, SecretKey: testenv.DevSecretKey})
	if err != nil {
		t.Fatal(err)
	}
	room := "deploy-" + strings.ToLower(strings.ReplaceAll(t.Name(), "/", "-"))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := lb.CreateRoom(ctx, liveblocks.CreateRoomRequest{
		ID:              room,
		DefaultAccesses: []liveblocks.Permission{},
		GroupsAccesses:  map[string][]liveblocks.Permission{"team": {liveblocks.Write}},
	}); err != nil {
		t.Fatalf("creating the room: %v", err)
	}
	run := func(cookie string) testenv.RoomClientResult {
		return testenv.RunRoomClient(t, testenv.RoomClientOptions{
			AuthEndpoint: base + authPath, BaseURL: s.Dev.URL, Cookie: cookie, RoomID: room,
		})
	}

	t.Run("GroupMemberEntersWithWriteAccess", func(t *testing.T) {
		r := run("session=" + authztest.Session(authztest.Alice()))
		if !r.Connected() || r.SelfID != "alice" || !r.CanWrite {
			t.Fatalf("status %q self %q canWrite %v (auth %d, token %v), want connected as alice with write access",
				r.Status, r.SelfID, r.CanWrite, r.AuthStatus, r.AuthToken)
		}
		if r.AuthToken.Kind != "id" || strings.Join(r.AuthToken.GroupIDs, ",") != "team,eng" {
			t.Errorf("token %v, want alice's ID token with her groups", r.AuthToken)
		}
	})
	t.Run("UserOutsideTheGroupIsClosedWith4001", func(t *testing.T) {
		r := run("session=" + authztest.Session(map[string]any{
			"sub": "bob", "groups": []any{"outsiders"}, "name": "Bob", "exp": time.Now().Add(time.Hour).Unix(),
		}))
		if r.AuthStatus != 200 || r.AuthToken.UserID != "bob" {
			t.Fatalf("auth %d token %v, want bob's token", r.AuthStatus, r.AuthToken)
		}
		if r.Connected() || r.CloseCode != 4001 || r.ErrorCode != 4001 {
			t.Fatalf("status %q close %d error %d %q, want closed with 4001", r.Status, r.CloseCode, r.ErrorCode, r.ErrorMessage)
		}
	})
	t.Run("VisitorWithoutSessionGets401", func(t *testing.T) {
		r := run("")
		if r.Connected() || r.AuthStatus != 401 || r.AuthToken != nil {
			t.Fatalf("status %q auth %d token %v, want a 401 and no token", r.Status, r.AuthStatus, r.AuthToken)
		}
	})
	// A mobile app or an API client: authEndpoint as a callback sending
	// "Authorization: Bearer", no cookie.
	t.Run("BearerTokenThroughTheAuthEndpointCallbackEnters", func(t *testing.T) {
		r := testenv.RunRoomClient(t, testenv.RoomClientOptions{AuthEndpoint: base + authPath, BaseURL: s.Dev.URL,
			Bearer: authztest.APIToken(authztest.Alice()), RoomID: room})
		if !r.Connected() || r.SelfID != "alice" || !r.CanWrite || r.AuthStatus != 200 {
			t.Fatalf("status %q self %q canWrite %v auth %d, want connected as alice with write access", r.Status, r.SelfID, r.CanWrite, r.AuthStatus)
		}
	})
	t.Run("BearerTokenReachesTheAppAsTheUsersIdentity", func(t *testing.T) {
		resp, body := through(t, base, "GET", "/docs/1", "", "", map[string]string{"Authorization": "Bearer " + authztest.APIToken(authztest.Alice())})
		a, ok := appAnswer(body)
		if !ok || resp.StatusCode != 200 || strings.Join(a.UserID, "") != "alice" {
			t.Fatalf("%d, app saw %+v, want alice's identity headers", resp.StatusCode, a)
		}
	})
}

// runFrontDoorTraffic sends the requests a browser sends through the proxy
// and checks what reaches the app, the sidecar and the client. It stops the
// sidecar at the end.
func runFrontDoorTraffic(t *testing.T, s *sidecar, door frontDoor) {
	do := func(t *testing.T, method, path, cookie, body string, hdr map[string]string) (*http.Response, string) {
		t.Helper()
		return through(t, door.Base, method, path, cookie, body, hdr)
	}
	appSaw := func(t *testing.T, body string) appCall {
		t.Helper()
		c, ok := appAnswer(body)
		if !ok {
			t.Fatalf("the app did not answer (body %q)", body)
		}
		return c
	}
	spoof := authztest.SpoofedIdentity
	alice := "session=" + authztest.Session(authztest.Alice())

	t.Run("SignedInUserReachesAppWithLbauthzIdentityNotTheClients", func(t *testing.T) {
		resp, body := do(t, "GET", "/docs?id=1", alice, "", spoof)
		if resp.StatusCode != 200 {
			t.Fatalf("status %d: %s", resp.StatusCode, body)
		}
		c := appSaw(t, body)
		if strings.Join(c.UserID, "|") != "alice" || strings.Join(c.UserGroups, "|") != "team,eng" ||
			strings.Join(c.UserInfo, "|") != `{"avatar":"https://example.test/a.png","name":"Alice"}` {
			t.Errorf("app saw identity %q %q %q, want exactly lbauthz's", c.UserID, c.UserGroups, c.UserInfo)
		}
		if c.ForwardedProto != "http" || c.ForwardedFor != "127.0.0.1" {
			t.Errorf("app saw X-Forwarded-For %q, X-Forwarded-Proto %q", c.ForwardedFor, c.ForwardedProto)
		}
	})

	for _, v := range []struct{ name, cookie string }{
		{"VisitorWithoutSession", ""},
		{"VisitorWithForgedSession", "session=" + authztest.SignHS("not-the-key-0123456789abcdef-0123456789abcdef", "HS256", authztest.Alice())},
	} {
		t.Run(v.name+"ReachesAppWithNoIdentityHeaders", func(t *testing.T) {
			resp, body := do(t, "GET", "/", v.cookie, "", spoof)
			if resp.StatusCode != 200 {
				t.Fatalf("status %d: %s", resp.StatusCode, body)
			}
			if c := appSaw(t, body); len(c.UserID)+len(c.UserGroups)+len(c.UserInfo) != 0 {
				t.Errorf("app saw client-supplied identity %q %q %q", c.UserID, c.UserGroups, c.UserInfo)
			}
		})
	}

	t.Run("CheckGetsOriginalMethodAndURIButNoBody", func(t *testing.T) {
		resp, body := do(t, "POST", "/upload?x=1&y=%2F", alice, "hello, app", spoof)
		if resp.StatusCode != 200 {
			t.Fatalf("status %d: %s", resp.StatusCode, body)
		}
		if c := appSaw(t, body); c.Method != "POST" || c.Body != "hello, app" || strings.Join(c.UserID, "|") != "alice" {
			t.Errorf("app saw %s with body %q as %q, want alice's POST and its body", c.Method, c.Body, c.UserID)
		}
		want := checkCall{Path: door.CheckPath, Method: "GET", OrigMethod: "POST", OrigURI: "/upload?x=1&y=%2F", Cookie: alice}
		if got := s.lastCheck(); got != want {
			t.Errorf("check saw %+v, want %+v", got.redacted(), want.redacted())
		}
	})

	t.Run("Check401IsJSONAndNeverReachesApp", func(t *testing.T) {
		resp, body := do(t, "GET", "/private", "standin=401", "", spoof)
		if resp.StatusCode != 401 || !strings.Contains(body, `"unauthorized"`) ||
			resp.Header.Get("Content-Type") != "application/json" {
			t.Errorf("got %d %q %q, want 401 JSON", resp.StatusCode, resp.Header.Get("Content-Type"), body)
		}
	})

	t.Run("Check403IsJSON", func(t *testing.T) {
		resp, body := do(t, "GET", "/private", "standin=403", "", nil)
		if resp.StatusCode != 403 || !strings.Contains(body, `"forbidden"`) {
			t.Errorf("got %d %q, want 403 JSON", resp.StatusCode, body)
		}
	})

	t.Run("RedirectFromCheck", func(t *testing.T) {
		resp, body := do(t, "GET", "/", "standin=302", "", nil)
		if _, reached := appAnswer(body); resp.StatusCode != door.RedirectStatus || reached {
			t.Errorf("got %d %q, want %d and the app not reached", resp.StatusCode, body, door.RedirectStatus)
		}
	})

	t.Run("TokenEndpointIsProxiedWithCookieAndBody", func(t *testing.T) {
		resp, body := do(t, "POST", authPath, alice, `{"room":"r1"}`,
			map[string]string{"Content-Type": "application/json", "X-User-Id": "mallory"})
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" ||
			resp.Header.Get("Cache-Control") != "no-store" {
			t.Fatalf("got %d %q %q, want lbauthz's 200 JSON token, not cached", resp.StatusCode,
				resp.Header.Get("Content-Type"), resp.Header.Get("Cache-Control"))
		}
		if o := authztest.AnswerOutcome(t, resp.StatusCode, []byte(body)); o.UserID != "alice" {
			t.Errorf("token for %q, want alice", o.UserID)
		}
		got := s.lastToken()
		if got.Method != "POST" || got.Cookie != alice || got.Body != `{"room":"r1"}` || got.UserID != "" {
			t.Errorf("lbauthz saw %s, cookie passed %v, body %q, x-user-id %q; want the POST, the cookie, the body, no x-user-id",
				got.Method, got.Cookie == alice, got.Body, got.UserID)
		}
	})

	t.Run("TokenEndpointWithoutSessionIsLbauthzs401", func(t *testing.T) {
		resp, body := do(t, "POST", authPath, "", `{"room":"r1"}`, map[string]string{"Content-Type": "application/json"})
		// The sidecar reads a cookie or a bearer token (startSidecar).
		if resp.StatusCode != 401 || !strings.Contains(body, "no session credential") {
			t.Errorf("got %d %q, want lbauthz's 401 with its reason", resp.StatusCode, body)
		}
	})

	t.Run("TokenEndpointRefusesLargeBodies", func(t *testing.T) {
		resp, _ := do(t, "POST", authPath, alice, `{"room":"`+strings.Repeat("r", 8<<10)+`"}`, nil)
		if resp.StatusCode != http.StatusRequestEntityTooLarge {
			t.Errorf("an 8 KiB body answered %d, want 413", resp.StatusCode)
		}
	})

	t.Run("LbauthzDownNeverLetsRequestsThrough", func(t *testing.T) {
		s.srv.Close()
		for _, path := range []string{"/", authPath} {
			resp, body := do(t, "POST", path, alice, `{"room":"r1"}`, nil)
			if _, reached := appAnswer(body); resp.StatusCode != door.DownStatus || reached {
				t.Errorf("%s with lbauthz down: %d %q, want %d and the app not reached", path, resp.StatusCode, body, door.DownStatus)
			}
		}
	})
}
