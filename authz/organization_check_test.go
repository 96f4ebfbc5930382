package authz_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/lbauthz/lbauthz/authz"
	"github.com/lbauthz/lbauthz/internal/authztest"
	"github.com/lbauthz/lbauthz/internal/testenv"
	"github.com/lbauthz/lbauthz/liveblocks"
)

// bodyRecorder is a reverse proxy in front of the real dev server that keeps
// the body of each request as the engine sent it, by path.
type bodyRecorder struct {
	URL  string
	mu   sync.Mutex
	seen map[string][]string
}

func recordBodies(t *testing.T, target string) *bodyRecorder {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	r := &bodyRecorder{seen: map[string][]string{}}
	rp := httputil.NewSingleHostReverseProxy(u)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		req.Body = io.NopCloser(bytes.NewReader(b))
		r.mu.Lock()
		r.seen[req.URL.Path] = append(r.seen[req.URL.Path], string(b))
		r.mu.Unlock()
		rp.ServeHTTP(w, req)
	})}
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(func() { _ = srv.Shutdown(context.Background()) })
	r.URL = "http://" + lis.Addr().String()
	return r
}

func (r *bodyRecorder) count(path string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.seen[path])
}

func (r *bodyRecorder) last(t *testing.T, path string) string {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	b := r.seen[path]
	if len(b) == 0 {
		t.Fatalf("nothing was sent to %s", path)
	}
	return b[len(b)-1]
}

// organizationConfig provisions rooms and takes the organization from the
// session's "workspace" claim.
var organizationConfig = strings.Replace(provisionConfig, `  group_ids: "groups"`, `  group_ids: "groups"
  organization_id: "workspace"
  organization_template: "ws-{value}"`, 1)

func TestCheck_OrganizationFromTheSessionGoesToTokensAndNewRooms(t *testing.T) {
	dev := testenv.StartLiveblocks(t)
	rec := recordBodies(t, dev.URL)
	c := authztest.GRPC(t, authztest.Engine(t, organizationConfig, rec.URL, testenv.DevSecretKey))
	direct, err := liveblocks.New(liveblocks.Options{BaseURL: dev.URL, SecretKey: testenv.DevSecretKey})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	withWorkspace := func(ws any) string {
		claims := authztest.Alice()
		if ws != nil {
			claims["workspace"] = ws
		}
		return authztest.Session(claims)
	}
	acme, globex, none := withWorkspace("acme"), withWorkspace("globex"), withWorkspace(nil)

	// The inbox (no room): the token call carries the organization.
	if a := askToken(t, c, acme, tokenRequest(acme, `{}`)); a.status != 200 {
		t.Fatalf("inbox token: %d %s", a.status, a.body)
	}
	if got := rec.last(t, "/v2/identify-user"); !strings.Contains(got, `"organizationId":"ws-acme"`) {
		t.Errorf("identify-user body %s, want organizationId ws-acme", got)
	}

	// A new room is created in the user's organization.
	if a := askToken(t, c, acme, tokenRequest(acme, `{"room":"org-acme:doc-1"}`)); a.status != 200 {
		t.Fatalf("room token: %d %s", a.status, a.body)
	}
	if got := rec.last(t, "/v2/rooms"); !strings.Contains(got, `"organizationId":"ws-acme"`) {
		t.Errorf("create room body %s, want organizationId ws-acme", got)
	}
	room, err := direct.GetRoom(ctx, "org-acme:doc-1")
	if err != nil {
		t.Fatal(err)
	}
	if room.Organization() != "ws-acme" {
		t.Errorf("room created in %q, want ws-acme", room.Organization())
	}

	// A user of another organization, or of none, is refused with the
	// reason, not left to a 4001 from Liveblocks; no token is asked for.
	for _, tc := range []struct{ name, session string }{
		{"another organization", globex},
		{"no organization (the default one)", none},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := rec.count("/v2/identify-user")
			a := askToken(t, c, tc.session, tokenRequest(tc.session, `{"room":"org-acme:doc-1"}`))
			if a.status != 403 || a.reason != "room belongs to another organization" {
				t.Fatalf("got %d %q, want 403 room belongs to another organization", a.status, a.body)
			}
			if rec.count("/v2/identify-user") != before {
				t.Error("a token was asked for a room of another organization")
			}
		})
	}

	// Without an organization in the session, nothing is sent: the
	// project's default organization, as before.
	if a := askToken(t, c, none, tokenRequest(none, `{"room":"org-beta:doc-1"}`)); a.status != 200 {
		t.Fatalf("default organization: %d %s", a.status, a.body)
	}
	if got := rec.last(t, "/v2/identify-user"); strings.Contains(got, "organizationId") {
		t.Errorf("identify-user body %s, want no organizationId", got)
	}
	if got := rec.last(t, "/v2/rooms"); strings.Contains(got, "organizationId") {
		t.Errorf("create room body %s, want no organizationId", got)
	}
}

func TestCheck_AccessTokenModeSendsTheOrganization(t *testing.T) {
	dev := testenv.StartLiveblocks(t)
	rec := recordBodies(t, dev.URL)
	cfg := strings.Replace(accessTokenConfig, `  group_ids: "groups"`, `  group_ids: "groups"
  organization_id: "workspace"`, 1)
	c := authztest.GRPC(t, authztest.Engine(t, cfg, rec.URL, testenv.DevSecretKey))
	claims := authztest.Alice()
	claims["workspace"] = "acme"
	s := authztest.Session(claims)
	if a := askToken(t, c, s, tokenRequest(s, `{"room":"user-alice:notes"}`)); a.status != 200 {
		t.Fatalf("%d %s", a.status, a.body)
	}
	if got := rec.last(t, "/v2/authorize-user"); !strings.Contains(got, `"organizationId":"acme"`) {
		t.Errorf("authorize-user body %s, want organizationId acme", got)
	}
}

func TestExplain_ShowsTheOrganizationAndTheCallThatCarriesIt(t *testing.T) {
	_, lb := authztest.DevServer(t)
	e := authztest.Engine(t, organizationConfig, lb.URL, testenv.DevSecretKey)
	claims := authztest.Alice()
	claims["workspace"] = "acme"
	x := e.Explain(context.Background(), &authz.Request{Method: "POST", Path: authztest.AuthPath,
		Cookie: "session=" + authztest.Session(claims), Body: []byte(`{}`), HasBody: true}, authz.ExplainOptions{})
	if x.Identity == nil || x.Identity.OrganizationID != "ws-acme" {
		t.Fatalf("identity %+v, want organization ws-acme", x.Identity)
	}
	body, _ := json.Marshal(x.Liveblocks.Body)
	if !strings.Contains(string(body), `"organizationId":"ws-acme"`) {
		t.Fatalf("the identify-user call explained is %s, without the organization", body)
	}
}
