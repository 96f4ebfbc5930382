package httpdoor_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/lbauthz/lbauthz/authz"
	"github.com/lbauthz/lbauthz/authz/door/httpdoor"
	"github.com/lbauthz/lbauthz/internal/authztest"
	"github.com/lbauthz/lbauthz/internal/testenv"
)

// The HTTP listener answers the directory's paths as it answers the auth
// path: itself when a proxy routes them to it, and with a 403 naming the
// mistake when a proxy sends them to a check instead (the JSON answer
// cannot come back through a check).
func TestHTTPDoors_DirectoryPathsAreAnsweredDirectlyAndRefusedThroughChecks(t *testing.T) {
	dev := testenv.StartLiveblocks(t)
	authztest.DirectoryRooms(t, dev.URL)
	e := authztest.Engine(t, authztest.Config+authztest.DirectoryConfig(t), dev.URL, testenv.DevSecretKey)
	srv := httptest.NewServer(httpdoor.New(authz.NewHolder(e), httpdoor.Options{}))
	t.Cleanup(srv.Close)
	alice := "session=" + authztest.Session(authztest.Alice())
	const users = "/api/liveblocks-users?userIds=bob&userIds=nobody"

	tests := []struct {
		name, path string
		header     map[string]string
		status     int
		body       string
	}{
		{"direct", users, map[string]string{"Cookie": alice}, 200, `[{"avatar":"https://example.test/b.png","name":"Bob"},null]`},
		{"direct without a session", users, nil, 401, `"reason":"no session cookie"`},
		{"nginx check", "/check/nginx", map[string]string{"Cookie": alice, "X-Original-URI": users, "X-Original-Method": "GET"}, 403, `"error":"misrouted"`},
		{"forward-auth check", "/check/forward", map[string]string{"Cookie": alice, "X-Forwarded-Uri": users, "X-Forwarded-Method": "GET"}, 403, `"error":"misrouted"`},
		{"Envoy HTTP check", "/check/envoy" + users, map[string]string{"Cookie": alice}, 403, `"error":"misrouted"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, srv.URL+tt.path, nil)
			for k, v := range tt.header {
				req.Header.Set(k, v)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.status || tt.status == 200 && string(b) != tt.body || !strings.Contains(string(b), tt.body) {
				t.Fatalf("%d %s, want %d %s", resp.StatusCode, b, tt.status, tt.body)
			}
			if tt.status == 200 && resp.Header.Get("Cache-Control") != "private, no-store" {
				t.Errorf("Cache-Control %q", resp.Header.Get("Cache-Control"))
			}
		})
	}
}
