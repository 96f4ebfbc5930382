package authz_test

import (
	"context"
	"net/netip"
	"strconv"
	"testing"

	"github.com/lbauthz/lbauthz/authz"
	"github.com/lbauthz/lbauthz/internal/authztest"
	"github.com/lbauthz/lbauthz/internal/testenv"
)

// The directory's requests without a valid session spend the client
// address's budget as token requests do, and one spent budget refuses both.
func TestDirectory_RequestsWithoutASessionSpendTheAddressBudget(t *testing.T) {
	dev := testenv.StartLiveblocks(t)
	authztest.DirectoryRooms(t, dev.URL)
	e := authztest.Engine(t, authztest.Config+authztest.DirectoryConfig(t)+`
auth_limits:
  per_address: { per_minute: 1, burst: 2 }
`, dev.URL, testenv.DevSecretKey)
	from := netip.MustParseAddr("10.0.0.9")
	ask := func(method, path, cookie string) authz.Decision {
		return e.Decide(context.Background(), &authz.Request{Door: "envoy_grpc", Method: method, Path: path, Cookie: cookie, ClientAddr: from})
	}
	alice := "session=" + authztest.Session(authztest.Alice())
	if d := ask("GET", "/api/liveblocks-users?userIds=bob", alice); d.Status != 200 || d.Outcome != authz.DirectoryAnswered {
		t.Fatalf("signed in: %d %s", d.Status, d.Outcome)
	}
	for i := range 2 {
		if d := ask("GET", "/api/liveblocks-users?userIds=bob", "session=made-up-"+strconv.Itoa(i)); d.Status != 401 {
			t.Fatalf("made-up cookie %d within the budget: %d, want 401", i, d.Status)
		}
	}
	if d := ask("GET", "/api/liveblocks-mentions?roomId=doc-team&text=b", "session=made-up-3"); d.Status != 429 {
		t.Fatalf("a directory request over the budget: %d, want 429", d.Status)
	}
	if d := ask("POST", authztest.AuthPath, "session=made-up-4"); d.Status != 429 {
		t.Fatalf("a token request from the same address: %d, want 429", d.Status)
	}
	if d := ask("GET", "/api/liveblocks-users?userIds=bob", alice); d.Status != 200 {
		t.Fatalf("a session known to be valid, from the spent address: %d, want 200", d.Status)
	}
}

func TestExplain_SaysADirectoryRequestIsOne(t *testing.T) {
	_, lb := authztest.DevServer(t)
	e := authztest.Engine(t, authztest.Config+authztest.DirectoryConfig(t), lb.URL, testenv.DevSecretKey)
	r := &authz.Request{Method: "GET", Path: "/api/liveblocks-users?userIds=bob", Cookie: "session=" + authztest.Session(authztest.Alice())}
	x := e.Explain(context.Background(), r, authz.ExplainOptions{})
	if !x.Request.Directory || x.Request.AuthPath || x.Identity == nil || x.Identity.UserID != "alice" ||
		x.Decision.Outcome != "directory_answered" || x.Decision.Body != "" || lb.Calls() != 0 {
		t.Fatalf("explain without calls: %+v, %d calls", x, lb.Calls())
	}
	x = e.Explain(context.Background(), r, authz.ExplainOptions{CallLiveblocks: true})
	if x.Decision.Status != 200 || x.Decision.Body != `[{"avatar":"https://example.test/b.png","name":"Bob"}]` {
		t.Fatalf("explain with calls: %+v", x.Decision)
	}
}

// Without a directory section the directory's paths are the app's, as
// before there was one.
func TestDirectory_AbsentLeavesThePathsToTheApp(t *testing.T) {
	dev := testenv.StartLiveblocks(t)
	e := authztest.Engine(t, authztest.Config, dev.URL, testenv.DevSecretKey)
	d := e.Decide(context.Background(), &authz.Request{Door: "nginx", Method: "GET", Path: "/api/liveblocks-users?userIds=bob"})
	if !d.Allow || d.Outcome != authz.AllowAnonymous || e.IsDirectoryPath("/api/liveblocks-users") || e.DirectoryPaths() != nil {
		t.Fatalf("decision %+v", d)
	}
}
