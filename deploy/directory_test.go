package deploy_test

import (
	"net/http"
	"net/url"
	"regexp"
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

// TestEnvoy_DirectoryPathsAreAnsweredByLbauthz checks the directory route of
// each Envoy config: it matches exactly the directory's paths, before the
// catch-all; in gRPC mode lbauthz answers it through the filter that may
// call Liveblocks (no body buffered, no pass-through check), in HTTP mode it
// is proxied to lbauthz's HTTP listener.
func TestEnvoy_DirectoryPathsAreAnsweredByLbauthz(t *testing.T) {
	for _, file := range []string{"envoy/envoy.yaml", "envoy/envoy-mtls.yaml", "envoy/envoy-http.yaml"} {
		t.Run(file, func(t *testing.T) {
			hcm := ingress(t, mustLoadEnvoy(t, file))
			dir := routeNamed(t, hcm, "liveblocks_directory")
			re, err := regexp.Compile("^(?:" + dir.GetMatch().GetSafeRegex().GetRegex() + ")$")
			if err != nil {
				t.Fatalf("directory route regex: %v", err)
			}
			for _, p := range directoryPaths {
				if !re.MatchString(p) {
					t.Errorf("the directory route does not match %s", p)
				}
			}
			for _, p := range []string{authPath, "/api/liveblocks-users/", "/api/liveblocks-usersx", "/x/api/liveblocks-users", "/"} {
				if re.MatchString(p) {
					t.Errorf("the directory route matches %s", p)
				}
			}
			if rs := routes(hcm); rs[len(rs)-1] == dir {
				t.Error("the directory route must come before the catch-all")
			}
			if disabled, _ := perFilter(t, dir.GetTypedPerFilterConfig(), "lbauthz"); !disabled {
				t.Error("the directory route must switch the pass-through check off")
			}
			if strings.HasSuffix(file, "envoy-http.yaml") {
				if dir.GetRoute().GetCluster() != "lbauthz_http" {
					t.Errorf("the directory route must be proxied to lbauthz, goes to %q", dir.GetRoute().GetCluster())
				}
				return
			}
			if dir.GetDirectResponse() == nil {
				t.Error("the directory route must not forward to the app: lbauthz answers it")
			}
			disabled, s := perFilter(t, dir.GetTypedPerFilterConfig(), "lbauthz-liveblocks-auth")
			if disabled || s.GetCheckSettings().GetWithRequestBody() != nil {
				t.Error("the directory route must enable lbauthz-liveblocks-auth, without a body")
			}
		})
	}
}
