package testenv

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// These tests check the harness itself: the real @liveblocks/client, the real
// Liveblocks dev server, and in front of it a stand-in for the app's auth
// endpoint (the product's own endpoint is tested elsewhere with this harness).

// testUser is who a session cookie stands for in the stand-in app.
type testUser struct {
	UserID   string         `json:"userId"`
	GroupIDs []string       `json:"groupIds,omitempty"`
	UserInfo map[string]any `json:"userInfo,omitempty"`
}

// testSessions maps the value of the `session` cookie to a user. "banned" and
// "flaky" make the endpoint answer 403 and 503, for the client's retry rules.
var testSessions = map[string]testUser{
	"alice":   {UserID: "alice", GroupIDs: []string{"team"}, UserInfo: map[string]any{"name": "Alice", "color": "#e11d48"}},
	"reader":  {UserID: "reader", UserInfo: map[string]any{"name": "Reader"}},
	"mallory": {UserID: "mallory", UserInfo: map[string]any{"name": "Mallory"}},
}

// authRequest is what the stand-in app saw of one auth request.
type authRequest struct {
	Method, ContentType, Body string
	HadCookie                 bool
}

// authApp plays the app's /api/liveblocks-auth the way @liveblocks/node's
// identifyUser is used: session cookie -> identity -> POST /v2/identify-user.
type authApp struct {
	URL string // the auth endpoint's absolute URL

	mu       sync.Mutex
	requests []authRequest
}

func (a *authApp) seen() []authRequest {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]authRequest(nil), a.requests...)
}

func startAuthApp(t *testing.T, dev *DevServer) *authApp {
	t.Helper()
	app := &authApp{}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/liveblocks-auth", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		cookie, err := r.Cookie("session")
		app.mu.Lock()
		app.requests = append(app.requests, authRequest{
			Method: r.Method, ContentType: r.Header.Get("Content-Type"), Body: string(body), HadCookie: err == nil,
		})
		app.mu.Unlock()

		switch {
		case err != nil:
			http.Error(w, "no session", http.StatusUnauthorized)
			return
		case cookie.Value == "banned":
			http.Error(w, "session banned", http.StatusForbidden)
			return
		case cookie.Value == "flaky":
			http.Error(w, "session store unavailable", http.StatusServiceUnavailable)
			return
		}
		user, ok := testSessions[cookie.Value]
		if !ok {
			http.Error(w, "unknown session", http.StatusUnauthorized)
			return
		}
		status, answer := devPost(t, dev, "/v2/identify-user", user)
		if status == 0 || status >= 500 {
			status = http.StatusServiceUnavailable
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(status)
		_, _ = w.Write(answer)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	app.URL = srv.URL + "/api/liveblocks-auth"
	return app
}

// devPost calls the dev server's REST API with the dev secret key.
func devPost(t *testing.T, dev *DevServer, path string, body any) (int, []byte) {
	return devDo(t, dev, http.MethodPost, path, body)
}

func devDo(t *testing.T, dev *DevServer, method, path string, body any) (int, []byte) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Errorf("encoding %s %s: %v", method, path, err)
			return 0, nil
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, dev.URL+path, rd)
	if err != nil {
		t.Errorf("%s %s: %v", method, path, err)
		return 0, nil
	}
	req.Header.Set("Authorization", "Bearer "+DevSecretKey)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Errorf("%s %s: %v", method, path, err)
		return 0, nil
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, answer
}

// createTestRoom creates a room where group "team" writes and user "reader"
// reads; everyone else has no access (defaultAccesses is sent on purpose: the
// dev server defaults a missing one to room:write).
func createTestRoom(t *testing.T, dev *DevServer, id string) {
	t.Helper()
	status, body := devPost(t, dev, "/v2/rooms", map[string]any{
		"id":              id,
		"defaultAccesses": []string{},
		"groupsAccesses":  map[string][]string{"team": {"room:write"}},
		"usersAccesses":   map[string][]string{"reader": {"room:read", "room:presence:write"}},
	})
	if status != http.StatusOK {
		t.Fatalf("creating room %q: %d %s", id, status, body)
	}
}

type roomFixture struct {
	dev *DevServer
	app *authApp
}

func newRoomFixture(t *testing.T) roomFixture {
	t.Helper()
	dev := StartLiveblocks(t)
	return roomFixture{dev: dev, app: startAuthApp(t, dev)}
}

func (f roomFixture) run(t *testing.T, cookie, room string, write bool, timeout time.Duration) RoomClientResult {
	t.Helper()
	return RunRoomClient(t, RoomClientOptions{
		AuthEndpoint: f.app.URL,
		BaseURL:      f.dev.URL,
		Cookie:       cookie,
		RoomID:       room,
		WriteStorage: write,
		Timeout:      timeout,
	})
}

func TestRoomClient_TeamMemberConnectsWithWriteAccess(t *testing.T) {
	t.Parallel()
	f := newRoomFixture(t)
	createTestRoom(t, f.dev, "team-room")

	r := f.run(t, "session=alice", "team-room", true, 8*time.Second)

	if !r.Connected() || r.TimedOut {
		t.Fatalf("status = %q (timed out: %v), error %d %q; want connected", r.Status, r.TimedOut, r.ErrorCode, r.ErrorMessage)
	}
	if r.SelfID != "alice" || r.SelfInfo["name"] != "Alice" || r.SelfInfo["color"] != "#e11d48" {
		t.Errorf("self = %q %v, want alice with the session's userInfo", r.SelfID, r.SelfInfo)
	}
	if !r.CanWrite {
		t.Errorf("canWrite = false, want true (group team has room:write)")
	}
	if r.StorageWrite != "ok" || r.StorageValue != float64(1) {
		t.Errorf("storage write = %q, value %v; want ok, 1", r.StorageWrite, r.StorageValue)
	}
	if r.AuthStatus != http.StatusOK || r.AuthCalls != 1 || !r.AuthCookieSent {
		t.Errorf("auth: status %d, %d calls, cookie sent %v; want 200, 1, true", r.AuthStatus, r.AuthCalls, r.AuthCookieSent)
	}
	if tok := r.AuthToken; tok == nil || tok.Kind != "id" || tok.UserID != "alice" || len(tok.GroupIDs) != 1 || tok.GroupIDs[0] != "team" {
		t.Errorf("token claims = %+v, want an ID token for alice in group team", tok)
	}
	if r.CloseCode != 0 || r.ErrorCode != 0 {
		t.Errorf("close %d, error %d %q; want none", r.CloseCode, r.ErrorCode, r.ErrorMessage)
	}

	// What the real client sent to the auth endpoint (REFERENCE §1).
	seen := f.app.seen()
	if len(seen) != 1 {
		t.Fatalf("auth endpoint saw %d requests, want 1", len(seen))
	}
	got := seen[0]
	if got.Method != http.MethodPost || got.ContentType != "application/json" || !got.HadCookie {
		t.Errorf("auth request = %s, Content-Type %q, cookie %v; want POST, application/json, cookie", got.Method, got.ContentType, got.HadCookie)
	}
	if got.Body != `{"room":"team-room"}` {
		t.Errorf("auth request body = %s, want {\"room\":\"team-room\"}", got.Body)
	}
}

func TestRoomClient_ReaderConnectsReadOnlyAndItsWriteIsRefused(t *testing.T) {
	t.Parallel()
	f := newRoomFixture(t)
	createTestRoom(t, f.dev, "read-room")

	r := f.run(t, "session=reader", "read-room", true, 8*time.Second)

	if !r.Connected() {
		t.Fatalf("status = %q, error %d %q; want connected", r.Status, r.ErrorCode, r.ErrorMessage)
	}
	if r.SelfID != "reader" || r.CanWrite {
		t.Errorf("self = %q canWrite %v, want reader, false", r.SelfID, r.CanWrite)
	}
	// The library refuses before sending anything; the dev server would not
	// (REFERENCE §3).
	const want = "refused:Cannot write to storage with a read only user"
	if !strings.HasPrefix(r.StorageWrite, want) || !r.StorageRefused() {
		t.Errorf("storage write = %q, want prefix %q", r.StorageWrite, want)
	}
	if r.StorageValue != nil {
		t.Errorf("storage value = %v, want nil (nothing was ever written)", r.StorageValue)
	}
}

func TestRoomClient_UserWithoutAccessIsClosedWith4001(t *testing.T) {
	t.Parallel()
	f := newRoomFixture(t)
	createTestRoom(t, f.dev, "closed-room")

	tests := []struct {
		name, cookie, room string
	}{
		// A valid ID token for a user the room does not list.
		{"outsider", "session=mallory", "closed-room"},
		// An ID token gives no access to a room that does not exist
		// (REFERENCE §2), and entering it does not create it.
		{"missing room", "session=alice", "no-such-room"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := f.run(t, tt.cookie, tt.room, false, 8*time.Second)
			if r.Status != "disconnected" || r.TimedOut {
				t.Errorf("status = %q (timed out: %v), want disconnected", r.Status, r.TimedOut)
			}
			if r.AuthStatus != http.StatusOK || r.AuthToken == nil {
				t.Errorf("auth status = %d, token %v; want 200 and a token", r.AuthStatus, r.AuthToken)
			}
			if r.CloseCode != 4001 || r.ErrorCode != 4001 || r.ErrorMessage != "You have no access to this room" {
				t.Errorf("close %d, error %d %q; want 4001, 4001 \"You have no access to this room\"", r.CloseCode, r.ErrorCode, r.ErrorMessage)
			}
			if r.SelfID != "" {
				t.Errorf("self = %q, want none", r.SelfID)
			}
		})
	}
	if status, body := devDo(t, f.dev, http.MethodGet, "/v2/rooms/no-such-room", nil); status != http.StatusNotFound {
		t.Errorf("GET /v2/rooms/no-such-room after the attempt = %d %s, want 404", status, body)
	}
}

func TestRoomClient_AuthEndpointAnswerDecidesRetry(t *testing.T) {
	t.Parallel()
	f := newRoomFixture(t)
	createTestRoom(t, f.dev, "auth-room")

	tests := []struct {
		name       string
		cookie     string
		wantStatus int
		retries    bool // the library keeps trying (5xx) instead of stopping (4xx)
	}{
		{"no cookie is 401 and final", "", http.StatusUnauthorized, false},
		{"forbidden is 403 and final", "session=banned", http.StatusForbidden, false},
		{"unavailable is 503 and retried", "session=flaky", http.StatusServiceUnavailable, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			timeout := 5 * time.Second
			if tt.retries {
				timeout = 1500 * time.Millisecond // it would retry forever
			}
			start := time.Now()
			r := f.run(t, tt.cookie, "auth-room", true, timeout)
			took := time.Since(start)

			if r.AuthStatus != tt.wantStatus || r.AuthToken != nil {
				t.Errorf("auth status = %d, token %v; want %d, none", r.AuthStatus, r.AuthToken, tt.wantStatus)
			}
			if r.AuthCookieSent != (tt.cookie != "") {
				t.Errorf("cookie sent = %v, want %v", r.AuthCookieSent, tt.cookie != "")
			}
			if r.Connected() || r.SelfID != "" || r.StorageWrite != "" {
				t.Errorf("status %q, self %q, storage %q; want not connected, nothing done", r.Status, r.SelfID, r.StorageWrite)
			}
			if tt.retries {
				if r.Status != "connecting" || !r.TimedOut || r.AuthCalls < 2 || r.ErrorCode != 0 {
					t.Errorf("status %q, timed out %v, %d auth calls, error %d; want connecting, true, >= 2, none",
						r.Status, r.TimedOut, r.AuthCalls, r.ErrorCode)
				}
				if !strings.Contains(r.AuthFailure, "503 returned by POST") {
					t.Errorf("auth failure log = %q, want it to name the 503", r.AuthFailure)
				}
				return
			}
			if r.Status != "disconnected" || r.TimedOut || r.AuthCalls != 1 {
				t.Errorf("status %q, timed out %v, %d auth calls; want disconnected, false, 1", r.Status, r.TimedOut, r.AuthCalls)
			}
			if r.ErrorCode != -1 || !strings.HasPrefix(r.ErrorMessage, "Unauthorized: ") || r.CloseCode != 0 {
				t.Errorf("error %d %q, close %d; want -1 \"Unauthorized: ...\", no close", r.ErrorCode, r.ErrorMessage, r.CloseCode)
			}
			// Not timed out and one auth call: the client gave up at the
			// first answer. How long the run took is mostly Node.js
			// starting, which says nothing on a loaded machine.
			if took > timeout {
				t.Errorf("the client took %s to give up, more than its %s", took, timeout)
			}
		})
	}
}
