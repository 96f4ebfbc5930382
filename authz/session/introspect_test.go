package session

import (
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lbauthz/lbauthz/internal/testenv"
)

// The app's own "who am I" endpoint: the real Express app's GET /api/me,
// which answers req.session.user or 401.
func expressIntrospection(t *testing.T) (*testenv.Redis, *testenv.ExpressApp, Store) {
	t.Helper()
	r := testenv.StartRedis(t)
	app := testenv.StartExpressApp(t, testenv.ExpressOptions{Store: "redis", RedisURL: r.URL(), Secrets: []string{expressSecret}})
	st, err := NewIntrospectionStore(IntrospectionOptions{URL: app.URL + "/api/me", CookieName: "connect.sid", Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return r, app, st
}

func introspectionMapping() *Mapping {
	return &Mapping{UserID: "id", GroupIDs: "groups", UserInfo: map[string]string{"name": "name"}}
}

func TestIntrospection_TheAppSaysWhoTheUserIs(t *testing.T) {
	_, app, store := expressIntrospection(t)
	id, err := resolveOnce(t, store, introspectionMapping(), app.Login(t, alice()))
	wantUser(t, id, err, "alice", "eng", "design")
	if id.UserInfo()["name"] != "Alice" {
		t.Fatalf("userInfo = %v", id.UserInfo())
	}
}

func TestIntrospection_401ForTamperedOrLoggedOutIsInvalid(t *testing.T) {
	_, app, store := expressIntrospection(t)
	cookie := app.Login(t, alice())
	_, err := resolveOnce(t, store, introspectionMapping(), tamper(cookie))
	wantInvalid(t, err, "401", cookie)
	app.Logout(t, cookie)
	_, err = resolveOnce(t, store, introspectionMapping(), cookie)
	wantInvalid(t, err, "401", cookie)
}

func TestIntrospection_AppDownOrItsStoreDownIsUnavailable(t *testing.T) {
	r, app, store := expressIntrospection(t)
	cookie := app.Login(t, alice())
	// The app's own Redis is down: express-session answers 500.
	r.Stop()
	_, err := resolveOnce(t, store, introspectionMapping(), cookie)
	wantUnavailable(t, err, cookie)
	r.Start(t)
	id, err := resolveOnce(t, store, introspectionMapping(), cookie)
	wantUser(t, id, err, "alice", "eng", "design")
	// The app itself is down.
	app.Stop()
	_, err = resolveOnce(t, store, introspectionMapping(), cookie)
	wantUnavailable(t, err, cookie)
}

// Answers the real app cannot be made to give (a redirect to a login page,
// a hang, a non-object body) come from a small handler.
func TestIntrospection_RedirectsHangsAndOddBodies(t *testing.T) {
	var modeV atomic.Value
	setMode := func(m string) { modeV.Store(m) }
	setMode("")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c, err := r.Cookie("sid"); err != nil || c.Value != "the-cookie" {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		switch modeV.Load().(string) {
		case "redirect":
			http.Redirect(w, r, "/login", http.StatusFound)
		case "hang":
			time.Sleep(time.Second)
		case "list":
			_, _ = w.Write([]byte(`["alice"]`))
		case "html":
			_, _ = w.Write([]byte(`<html>login</html>`))
		case "forbidden":
			w.WriteHeader(http.StatusForbidden)
		case "throttled":
			w.WriteHeader(http.StatusTooManyRequests)
		case "timeout":
			w.WriteHeader(http.StatusRequestTimeout)
		case "ok":
			_, _ = w.Write([]byte(`{"id": 12345678901234567890}`))
		}
	}))
	defer srv.Close()
	st, err := NewIntrospectionStore(IntrospectionOptions{URL: srv.URL + "/me", CookieName: "sid", Timeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	m := &Mapping{UserID: "id"}
	for _, tc := range []struct{ mode, reason string }{
		{"redirect", "302"}, {"forbidden", "403"}, {"list", "not a JSON object"}, {"html", "not a JSON object"},
	} {
		setMode(tc.mode)
		_, err := resolveOnce(t, st, m, "the-cookie")
		wantInvalid(t, err, tc.reason, "the-cookie")
	}
	// The app throttling or timing out says nothing about the session: it is
	// retryable trouble (503 on the auth path), never "signed out" (401).
	for _, mode := range []string{"throttled", "timeout"} {
		setMode(mode)
		_, err := resolveOnce(t, st, m, "the-cookie")
		wantUnavailable(t, err, "the-cookie")
	}
	setMode("hang")
	start := time.Now()
	_, err = resolveOnce(t, st, m, "the-cookie")
	wantUnavailable(t, err, "the-cookie")
	if took := time.Since(start); took > 400*time.Millisecond {
		t.Fatalf("a hanging app took %s to report (timeout 200ms)", took)
	}
	setMode("ok")
	id, err := resolveOnce(t, st, m, "the-cookie")
	wantUser(t, id, err, "12345678901234567890") // a big numeric id is not rounded
}
