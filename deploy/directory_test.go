package deploy_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/lbauthz/lbauthz/internal/authztest"
)

// directoryPaths are the default paths of the directory's endpoints, which
// every shipped config routes to lbauthz as it routes the token path.
var directoryPaths = []string{"/api/liveblocks-users", "/api/liveblocks-mentions", "/api/liveblocks-groups", "/api/liveblocks-rooms"}

// runDirectoryTraffic asks the directory's endpoints through a front door
// (base) in front of the sidecar of startSidecar, as the client's resolvers
// do with fetch: the answers must be lbauthz's, never the app's.
func runDirectoryTraffic(t *testing.T, base string) {
	alice := "session=" + authztest.Session(authztest.Alice())
	tests := []struct {
		name, path, cookie string
		status             []int  // the sidecar's status, or the proxy's own limit
		body               string // the whole body of a 200, else a part of it
	}{
		{"users in the order asked, null for an unknown id", "/api/liveblocks-users?userIds=bob&userIds=nobody&userIds=alice", alice, []int{200},
			`[{"avatar":"https://example.test/b.png","name":"Bob"},null,{"avatar":"https://example.test/a.png","name":"Alice"}]`},
		{"mentions list a member of the room", "/api/liveblocks-mentions?roomId=doc-shared&text=b", alice, []int{200}, `[{"kind":"user","id":"bob"}]`},
		{"mentions never list a user without access", "/api/liveblocks-mentions?roomId=doc-team&text=d", alice, []int{200}, `[]`},
		{"groups", "/api/liveblocks-groups?groupIds=team", alice, []int{200}, `[{"name":"The Team"}]`},
		{"rooms", "/api/liveblocks-rooms?roomIds=doc-team&roomIds=doc-dave", alice, []int{200},
			`[{"name":"doc-team","url":"https://app.example.test/d/doc-team"},null]`},
		{"SQL wildcards in the text are characters", "/api/liveblocks-mentions?roomId=doc-team&text=" + url.QueryEscape("%_"), alice, []int{200}, `[]`},
		{"no session is 401", "/api/liveblocks-users?userIds=bob", "", []int{401}, `"error":"unauthorized","reason":"no session credential"`},
		{"a room the user cannot enter is 403", "/api/liveblocks-mentions?roomId=doc-dave&text=", alice, []int{403}, "no access to this room"},
		{"too many ids are 400", "/api/liveblocks-users?" + strings.Repeat("userIds=u&", 501), alice, []int{400}, "too many user ids"},
		// nginx refuses a request line over its 8 KB buffers itself (414).
		{"a 10 KB text is refused", "/api/liveblocks-mentions?roomId=doc-team&text=" + strings.Repeat("a", 10<<10), alice, []int{400, 414}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := through(t, base, http.MethodGet, tt.path, tt.cookie, "", nil)
			if _, fromApp := appAnswer(body); fromApp {
				t.Fatalf("the app answered %s: the proxy must route it to lbauthz", tt.path)
			}
			ok := false
			for _, s := range tt.status {
				ok = ok || resp.StatusCode == s
			}
			if !ok {
				t.Fatalf("status %d (body %.200s), want %v", resp.StatusCode, body, tt.status)
			}
			if resp.StatusCode == 414 {
				return
			}
			if tt.status[0] == 200 && body != tt.body || tt.status[0] != 200 && !strings.Contains(body, tt.body) {
				t.Fatalf("body %.300s\nwant %s", body, tt.body)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
			if cc := resp.Header.Get("Cache-Control"); resp.StatusCode == 200 && cc != "private, no-store" {
				t.Errorf("Cache-Control %q, want private, no-store", cc)
			}
		})
	}
}
