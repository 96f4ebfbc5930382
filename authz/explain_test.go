package authz_test

import (
	"context"
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/lbauthz/lbauthz/authz"
	"github.com/lbauthz/lbauthz/internal/authztest"
	"github.com/lbauthz/lbauthz/internal/testenv"
)

func requestOf(c authztest.Case) *authz.Request {
	return &authz.Request{Door: "explain", Method: c.Method, Path: c.Path, Cookie: c.Cookie,
		Body: []byte(c.Body), HasBody: c.Body != ""}
}

// Explain runs the code of Decide: on every case every door must answer
// alike, it comes to the same outcome and status.
func TestExplain_ComesToTheDecisionOfDecideOnEveryCase(t *testing.T) {
	dev := testenv.StartLiveblocks(t)
	decider := authztest.Engine(t, authztest.Config, dev.URL, testenv.DevSecretKey)
	explainer := authztest.Engine(t, authztest.Config, dev.URL, testenv.DevSecretKey)
	for _, c := range authztest.Cases() {
		t.Run(c.Name, func(t *testing.T) {
			d := decider.Decide(context.Background(), requestOf(c))
			x := explainer.Explain(context.Background(), requestOf(c), authz.ExplainOptions{CallLiveblocks: true})
			want := d.Status
			if d.Allow {
				want = 200
			}
			if x.Decision.Outcome != d.Outcome.String() || x.Decision.Status != want || x.Decision.Allow != d.Allow {
				t.Fatalf("explain: %s %d allow=%v; decide: %s %d allow=%v",
					x.Decision.Outcome, x.Decision.Status, x.Decision.Allow, d.Outcome, want, d.Allow)
			}
		})
	}
}

func TestExplain_WithoutCallLiveblocksSaysWhatWouldBeSentAndSendsNothing(t *testing.T) {
	_, lb := authztest.DevServer(t)
	e := authztest.Engine(t, authztest.Config, lb.URL, testenv.DevSecretKey)
	session := authztest.Session(authztest.Alice())
	x := e.Explain(context.Background(), &authz.Request{Method: "POST", Path: authztest.AuthPath,
		Cookie: "theme=dark; session=" + session, Body: []byte(`{"room":"r1"}`), HasBody: true}, authz.ExplainOptions{})
	if lb.Calls() != 0 {
		t.Fatalf("%d calls to Liveblocks without CallLiveblocks", lb.Calls())
	}
	if x.Cookie != "found" || x.Session == nil || x.Session.Result != "valid" || x.Session.Store != "jwt" || x.Session.Expires == nil {
		t.Fatalf("session: cookie %q, %+v", x.Cookie, x.Session)
	}
	if x.Identity == nil || x.Identity.UserID != "alice" || strings.Join(x.Identity.GroupIDs, ",") != "team,eng" || x.Identity.UserInfo["name"] != "Alice" {
		t.Fatalf("identity %+v", x.Identity)
	}
	if x.Room != "r1" || x.Liveblocks == nil || x.Liveblocks.Sent || x.Liveblocks.Endpoint != "POST /v2/identify-user" {
		t.Fatalf("room %q, call %+v", x.Room, x.Liveblocks)
	}
	body, _ := json.Marshal(x.Liveblocks.Body)
	if string(body) != `{"groupIds":["team","eng"],"userId":"alice","userInfo":{"avatar":"https://example.test/a.png","name":"Alice"}}` {
		t.Fatalf("the body that would be sent: %s", body)
	}
	if x.Decision.Outcome != "token_issued" || x.Decision.Token != nil || len(x.Notes) == 0 {
		t.Fatalf("decision %+v, notes %v", x.Decision, x.Notes)
	}

	// A pass-through request: the headers the app would get.
	x = e.Explain(context.Background(), &authz.Request{Method: "GET", Path: "/docs/1", Cookie: "session=" + session}, authz.ExplainOptions{})
	got := map[string]string{}
	for _, h := range x.Decision.Headers {
		got[h.Name] = h.Value
	}
	if !x.Decision.Allow || got["x-user-id"] != "alice" || got["x-user-groups"] != "team,eng" || !strings.Contains(got["x-user-info"], `"Alice"`) {
		t.Fatalf("headers to the app: %v", x.Decision.Headers)
	}
	// Without a session, they are removed.
	x = e.Explain(context.Background(), &authz.Request{Method: "GET", Path: "/"}, authz.ExplainOptions{})
	for _, h := range x.Decision.Headers {
		if !h.Remove {
			t.Fatalf("anonymous request: header %+v not removed", h)
		}
	}
	if !strings.HasPrefix(x.Cookie, "absent") || x.Session != nil {
		t.Fatalf("anonymous request: cookie %q session %+v", x.Cookie, x.Session)
	}
}

// jwtLike matches anything shaped like a JWT (a session or a token).
var jwtLike = regexp.MustCompile(`eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}`)

func TestExplain_NeverHoldsTheCookieOrTheToken(t *testing.T) {
	dev := testenv.StartLiveblocks(t)
	e := authztest.Engine(t, authztest.Config, dev.URL, testenv.DevSecretKey)
	session := authztest.Session(authztest.Alice())
	x := e.Explain(context.Background(), &authz.Request{Method: "POST", Path: authztest.AuthPath,
		Cookie: "session=" + session, Body: []byte(`{"room":"r1"}`), HasBody: true}, authz.ExplainOptions{CallLiveblocks: true})
	if x.Decision.Outcome != "token_issued" || x.Decision.Token["uid"] != "alice" || x.Decision.Token["k"] != "id" {
		t.Fatalf("decision %+v", x.Decision)
	}
	out, err := json.Marshal(x)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(out), session) || jwtLike.Match(out) || x.Decision.Body != "" {
		t.Fatal("the explanation holds the session or the token")
	}
}

func TestExplain_ProvisioningRuleAndTheRoomsAccesses(t *testing.T) {
	_, lb := authztest.DevServer(t)
	e := authztest.Engine(t, provisionConfig, lb.URL, testenv.DevSecretKey)
	acme := authztest.Alice()
	acme["groups"] = []any{"org-acme"}
	req := func() *authz.Request {
		return &authz.Request{Method: "POST", Path: authztest.AuthPath, Cookie: "session=" + authztest.Session(acme),
			Body: []byte(`{"room":"org-acme:doc-1"}`), HasBody: true}
	}
	x := e.Explain(context.Background(), req(), authz.ExplainOptions{})
	p := x.Provision
	if p == nil || !p.Rule || p.Accesses == nil || p.Outcome != "" {
		t.Fatalf("provision %+v", p)
	}
	if p.Accesses.Applies == "" || strings.Join(p.Accesses.Effective, ",") != "*:write" || strings.Join(p.Accesses.Users["auditor"], ",") != "*:read" {
		t.Fatalf("accesses %+v", p.Accesses)
	}
	if lb.Calls() != 0 {
		t.Fatalf("%d calls to Liveblocks without CallLiveblocks", lb.Calls())
	}

	x = e.Explain(context.Background(), req(), authz.ExplainOptions{CallLiveblocks: true})
	if x.Provision == nil || x.Provision.Outcome != "provisioned" {
		t.Fatalf("provision with calls: %+v", x.Provision)
	}
	if a := x.RoomAccesses; a == nil || strings.Join(a.Effective, ",") != "*:write" || !strings.HasPrefix(a.Applies, "groups org-acme") {
		t.Fatalf("the room's accesses as Liveblocks has them: %+v", x.RoomAccesses)
	}

	// A room no rule matches is left alone.
	x = e.Explain(context.Background(), &authz.Request{Method: "POST", Path: authztest.AuthPath, Cookie: "session=" + authztest.Session(acme),
		Body: []byte(`{"room":"lobby"}`), HasBody: true}, authz.ExplainOptions{})
	if x.Provision == nil || x.Provision.Rule {
		t.Fatalf("no rule: %+v", x.Provision)
	}
}

func TestExplain_AccessTokenModeShowsThePermissions(t *testing.T) {
	_, lb := authztest.DevServer(t)
	e := authztest.Engine(t, accessTokenConfig, lb.URL, testenv.DevSecretKey)
	x := e.Explain(context.Background(), &authz.Request{Method: "POST", Path: authztest.AuthPath, Cookie: "session=" + authztest.Session(authztest.Alice()),
		Body: []byte(`{"room":"public:readme"}`), HasBody: true}, authz.ExplainOptions{})
	if strings.Join(x.Permissions["user-alice:*"], ",") != "*:write" || strings.Join(x.Permissions["public:readme"], ",") != "*:read" {
		t.Fatalf("permissions %v", x.Permissions)
	}
	if x.Liveblocks == nil || x.Liveblocks.Endpoint != "POST /v2/authorize-user" || x.Liveblocks.Sent {
		t.Fatalf("call %+v", x.Liveblocks)
	}
	if lb.Calls() != 0 {
		t.Fatalf("%d calls to Liveblocks", lb.Calls())
	}
}
