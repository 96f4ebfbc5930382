package deploy_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// The traffic tests run a real proxy (nginx, Caddy) with the config from this
// folder between a client and two small servers: a stand-in for lbauthz that
// gives every kind of answer lbauthz gives, chosen by the session cookie, and
// a stand-in app that reports what reached it. lbauthz's own answers are
// tested against these proxies in the end-to-end tests; what these tests
// prove is what the proxy, configured by us, does with each answer.

// checkCall is what the lbauthz stand-in saw on a /check/... request, in the
// door's own header names reduced to one shape.
type checkCall struct {
	Path, Method        string // the check request itself
	OrigMethod, OrigURI string // what the check is about
	Cookie, UserID      string
	BodyLen             int
}

// appCall is what the app stand-in saw.
type appCall struct {
	Method, URI, Body            string
	UserID, UserGroups, UserInfo []string
	ForwardedFor, ForwardedProto string
}

type standIns struct {
	Sidecar, App *httptest.Server

	mu     sync.Mutex
	checks []checkCall
	tokens []string
}

func startStandIns(t *testing.T) *standIns {
	t.Helper()
	s := &standIns{}
	s.Sidecar = httptest.NewServer(http.HandlerFunc(s.serveSidecar))
	t.Cleanup(s.Sidecar.Close)
	s.App = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		_ = json.NewEncoder(w).Encode(appCall{
			Method: r.Method, URI: r.RequestURI, Body: string(body),
			UserID: r.Header.Values("X-User-Id"), UserGroups: r.Header.Values("X-User-Groups"),
			UserInfo: r.Header.Values("X-User-Info"), ForwardedFor: r.Header.Get("X-Forwarded-For"),
			ForwardedProto: r.Header.Get("X-Forwarded-Proto"),
		})
	}))
	t.Cleanup(s.App.Close)
	return s
}

func (s *standIns) serveSidecar(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
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
		s.mu.Lock()
		s.checks = append(s.checks, c)
		s.mu.Unlock()

		cookie, _ := r.Cookie("session")
		switch {
		case cookie == nil:
			deny(w, http.StatusUnauthorized, "unauthorized")
		case cookie.Value == "alice":
			w.Header().Set("X-User-Id", "alice")
			w.Header().Set("X-User-Groups", "editors,admins")
			w.Header().Set("X-User-Info", `{"name":"Alice"}`)
		case cookie.Value == "visitor":
			// Allowed without an identity (a public page).
		case cookie.Value == "banned":
			deny(w, http.StatusForbidden, "forbidden")
		case cookie.Value == "redirect":
			http.Redirect(w, r, "/login", http.StatusFound)
		default:
			deny(w, http.StatusUnauthorized, "unauthorized")
		}
	case "/api/liveblocks-auth":
		s.mu.Lock()
		s.tokens = append(s.tokens, r.Method+" "+r.Header.Get("Cookie")+" "+string(body)+" spoof="+r.Header.Get("X-User-Id"))
		s.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		_, _ = io.WriteString(w, `{"token":"tok"}`)
	default:
		http.NotFound(w, r)
	}
}

func deny(w http.ResponseWriter, status int, reason string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, `{"error":"`+reason+`"}`)
}

func (s *standIns) lastCheck() checkCall {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.checks) == 0 {
		return checkCall{}
	}
	return s.checks[len(s.checks)-1]
}

func (s *standIns) lastToken() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.tokens) == 0 {
		return ""
	}
	return s.tokens[len(s.tokens)-1]
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

// runFrontDoorTraffic sends the requests a browser sends through the proxy
// and checks what reaches the app and the client.
func runFrontDoorTraffic(t *testing.T, s *standIns, door frontDoor) {
	client := &http.Client{
		Timeout:       5 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	do := func(t *testing.T, method, path, cookie, body string, hdr map[string]string) (*http.Response, string) {
		t.Helper()
		req, err := http.NewRequest(method, door.Base+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if cookie != "" {
			req.Header.Set("Cookie", cookie)
		}
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	appSaw := func(t *testing.T, body string) appCall {
		t.Helper()
		var c appCall
		if err := json.Unmarshal([]byte(body), &c); err != nil {
			t.Fatalf("the app did not answer (body %q): %v", body, err)
		}
		return c
	}
	spoof := map[string]string{
		"X-User-Id":     "mallory",
		"X-User-Groups": "admins",
		"X-User-Info":   `{"name":"Mallory"}`,
	}

	t.Run("SignedInUserReachesAppWithLbauthzIdentityNotTheClients", func(t *testing.T) {
		resp, body := do(t, "GET", "/docs?id=1", "session=alice", "", spoof)
		if resp.StatusCode != 200 {
			t.Fatalf("status %d: %s", resp.StatusCode, body)
		}
		c := appSaw(t, body)
		if strings.Join(c.UserID, "|") != "alice" || strings.Join(c.UserGroups, "|") != "editors,admins" ||
			strings.Join(c.UserInfo, "|") != `{"name":"Alice"}` {
			t.Errorf("app saw identity %q %q %q, want exactly lbauthz's", c.UserID, c.UserGroups, c.UserInfo)
		}
		if c.ForwardedProto != "http" || c.ForwardedFor != "127.0.0.1" {
			t.Errorf("app saw X-Forwarded-For %q, X-Forwarded-Proto %q", c.ForwardedFor, c.ForwardedProto)
		}
	})

	t.Run("VisitorWithoutIdentityReachesAppWithNoIdentityHeaders", func(t *testing.T) {
		resp, body := do(t, "GET", "/", "session=visitor", "", spoof)
		if resp.StatusCode != 200 {
			t.Fatalf("status %d: %s", resp.StatusCode, body)
		}
		if c := appSaw(t, body); len(c.UserID)+len(c.UserGroups)+len(c.UserInfo) != 0 {
			t.Errorf("app saw client-supplied identity %q %q %q", c.UserID, c.UserGroups, c.UserInfo)
		}
	})

	t.Run("CheckGetsOriginalMethodAndURIButNoBody", func(t *testing.T) {
		resp, body := do(t, "POST", "/upload?x=1&y=%2F", "session=alice", "hello, app", spoof)
		if resp.StatusCode != 200 {
			t.Fatalf("status %d: %s", resp.StatusCode, body)
		}
		if c := appSaw(t, body); c.Method != "POST" || c.Body != "hello, app" {
			t.Errorf("app saw %s with body %q, want the POST and its body", c.Method, c.Body)
		}
		want := checkCall{Path: door.CheckPath, Method: "GET", OrigMethod: "POST", OrigURI: "/upload?x=1&y=%2F", Cookie: "session=alice"}
		if got := s.lastCheck(); got != want {
			t.Errorf("check saw %+v, want %+v", got, want)
		}
	})

	t.Run("NoSessionGets401JSONAndNeverReachesApp", func(t *testing.T) {
		resp, body := do(t, "GET", "/private", "", "", spoof)
		if resp.StatusCode != 401 || !strings.Contains(body, `"unauthorized"`) ||
			resp.Header.Get("Content-Type") != "application/json" {
			t.Errorf("got %d %q %q, want 401 JSON", resp.StatusCode, resp.Header.Get("Content-Type"), body)
		}
	})

	t.Run("Denied403IsJSON", func(t *testing.T) {
		resp, body := do(t, "GET", "/private", "session=banned", "", nil)
		if resp.StatusCode != 403 || !strings.Contains(body, `"forbidden"`) {
			t.Errorf("got %d %q, want 403 JSON", resp.StatusCode, body)
		}
	})

	t.Run("RedirectFromCheck", func(t *testing.T) {
		resp, body := do(t, "GET", "/", "session=redirect", "", nil)
		if resp.StatusCode != door.RedirectStatus || strings.Contains(body, `"Method"`) {
			t.Errorf("got %d %q, want %d and the app not reached", resp.StatusCode, body, door.RedirectStatus)
		}
	})

	t.Run("TokenEndpointIsProxiedWithCookieAndBody", func(t *testing.T) {
		resp, body := do(t, "POST", authPath, "session=alice", `{"room":"r1"}`,
			map[string]string{"Content-Type": "application/json", "X-User-Id": "mallory"})
		if resp.StatusCode != 200 || body != `{"token":"tok"}` || resp.Header.Get("Content-Type") != "application/json" {
			t.Fatalf("got %d %q %q, want lbauthz's 200 JSON token", resp.StatusCode, resp.Header.Get("Content-Type"), body)
		}
		if got, want := s.lastToken(), `POST session=alice {"room":"r1"} spoof=`; got != want {
			t.Errorf("lbauthz saw %q, want %q", got, want)
		}
	})

	t.Run("TokenEndpointRefusesLargeBodies", func(t *testing.T) {
		resp, _ := do(t, "POST", authPath, "session=alice", `{"room":"`+strings.Repeat("r", 8<<10)+`"}`, nil)
		if resp.StatusCode != http.StatusRequestEntityTooLarge {
			t.Errorf("an 8 KiB body answered %d, want 413", resp.StatusCode)
		}
	})

	t.Run("LbauthzDownNeverLetsRequestsThrough", func(t *testing.T) {
		s.Sidecar.Close()
		for _, path := range []string{"/", authPath} {
			resp, body := do(t, "POST", path, "session=alice", `{"room":"r1"}`, nil)
			if resp.StatusCode != door.DownStatus || strings.Contains(body, `"Method"`) {
				t.Errorf("%s with lbauthz down: %d %q, want %d and the app not reached", path, resp.StatusCode, body, door.DownStatus)
			}
		}
	})
}
