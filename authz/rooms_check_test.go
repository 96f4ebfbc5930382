package authz_test

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/lbauthz/lbauthz/authz/config"
	"github.com/lbauthz/lbauthz/internal/assemble"
	"github.com/lbauthz/lbauthz/internal/authztest"
	"github.com/lbauthz/lbauthz/internal/testenv"
	"github.com/lbauthz/lbauthz/liveblocks"
)

// ProvisionConfig is Config with a provisioning rule.
const provisionConfig = authztest.Config + `
rooms:
  provision:
    - room: "org-{org}:doc-{doc}"
      default_accesses: []
      groups_accesses:
        "org-{org}": ["*:write"]
      users_accesses:
        "auditor": ["*:read"]
`

// accessTokenConfig is Config in access-token mode.
var accessTokenConfig = strings.Replace(authztest.Config, `auth_path: "/api/liveblocks-auth"`,
	`auth_path: "/api/liveblocks-auth"
  mode: access_token`, 1) + `
rooms:
  access_token:
    grants:
      - pattern: "user-{user_id}:*"
        permissions: ["*:write"]
      - pattern: "{group}:*"
        permissions: ["*:write"]
      - room: "public:{doc}"
        pattern: "public:{doc}"
        permissions: ["*:read"]
`

// authAnswer is the HTTP answer Envoy gives the browser for a token request.
type authAnswer struct {
	status int
	body   string
	reason string         // the reason of a refusal
	token  map[string]any // the token's claims, when there is one
}

func askToken(t *testing.T, c authv3.AuthorizationClient, session string, req *authv3.CheckRequest) authAnswer {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	resp, err := c.Check(ctx, req)
	if err != nil {
		t.Fatalf("Check returned a gRPC error: %v", err)
	}
	d := resp.GetDeniedResponse()
	if d == nil {
		t.Fatalf("the token request was let through to the app: %v", resp)
	}
	a := authAnswer{status: int(d.GetStatus().GetCode()), body: d.GetBody()}
	var refusal struct{ Reason string }
	if json.Unmarshal([]byte(a.body), &refusal) == nil {
		a.reason = refusal.Reason
	}
	if a.status == 200 {
		var b struct{ Token string }
		if err := json.Unmarshal([]byte(a.body), &b); err != nil || b.Token == "" {
			t.Fatalf("200 without a token: %v", err)
		}
		a.token = authztest.TokenClaims(t, b.Token)
	}
	return a
}

func tokenRequest(session, body string) *authv3.CheckRequest {
	return authztest.CheckRequest("POST", authztest.AuthPath, map[string]string{"cookie": "session=" + session, "content-type": "application/json"}, body)
}

func TestCheck_BadTokenRequestBodiesAre400WithoutCallingLiveblocks(t *testing.T) {
	_, lb := authztest.DevServer(t)
	c := authztest.GRPC(t, authztest.Engine(t, provisionConfig, lb.URL, testenv.DevSecretKey))
	alice := authztest.Session(authztest.Alice())
	for _, tc := range []struct {
		name, body, reason string
	}{
		{"not JSON", `room=r1`, "not a JSON object"},
		{"truncated JSON", `{"room":"org-acme:doc-1"`, "not valid JSON"},
		{"JSON array", `["org-acme:doc-1"]`, "not a JSON object"},
		{"room is a number", `{"room":42}`, `"room" must be a string`},
		{"room is null", `{"room":null}`, `"room" must be a string`},
		{"room is an object", `{"room":{"id":"x"}}`, `"room" must be a string`},
		{"room is empty", `{"room":""}`, "invalid room id: is empty"},
		{"room id over 128 characters", `{"room":"org-acme:doc-` + strings.Repeat("x", 120) + `"}`, "invalid room id: is 133 characters long"},
		{"room id that no URL can name", `{"room":".."}`, "invalid room id"},
		{"body over the limit", `{"room":"r","pad":"` + strings.Repeat("p", 1<<20) + `"}`, "over the 1048576-byte limit"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := lb.Calls()
			a := askToken(t, c, alice, tokenRequest(alice, tc.body))
			if a.status != 400 || !strings.Contains(a.reason, tc.reason) {
				t.Fatalf("got %d %s, want 400 saying %q", a.status, shorten(a.body), tc.reason)
			}
			if n := lb.Calls() - before; n != 0 {
				t.Fatalf("%d calls to Liveblocks for a bad body", n)
			}
		})
	}

	// Envoy sends the body as raw_body (bytes) when pack_as_bytes is set.
	req := tokenRequest(alice, "")
	req.Attributes.Request.Http.RawBody = []byte(`{"room":7}`)
	if a := askToken(t, c, alice, req); a.status != 400 || !strings.Contains(a.reason, `"room" must be a string`) {
		t.Fatalf("raw_body: got %d %s", a.status, a.body)
	}
}

func shorten(s string) string {
	if len(s) > 200 {
		return s[:200] + "..."
	}
	return s
}

func TestCheck_TokenRequestProvisionsItsRoomOnFirstUse(t *testing.T) {
	dev, lb := authztest.DevServer(t)
	c := authztest.GRPC(t, authztest.Engine(t, provisionConfig, lb.URL, testenv.DevSecretKey))
	direct, err := liveblocks.New(liveblocks.Options{BaseURL: dev.URL, SecretKey: testenv.DevSecretKey})
	if err != nil {
		t.Fatal(err)
	}
	alice := authztest.Session(authztest.Alice())
	ctx := context.Background()

	// Not for a room: no provisioning, one call (the token).
	for _, body := range []string{`{}`, ``} {
		before := lb.Calls()
		if a := askToken(t, c, alice, tokenRequest(alice, body)); a.status != 200 || a.token["k"] != "id" {
			t.Fatalf("body %q: %d %s", body, a.status, a.body)
		}
		if n := lb.Calls() - before; n != 1 {
			t.Fatalf("body %q: %d calls to Liveblocks, want 1", body, n)
		}
	}

	// A room a rule matches is created with the rule's accesses, once.
	before := lb.Calls()
	if a := askToken(t, c, alice, tokenRequest(alice, `{"room":"org-acme:doc-1"}`)); a.status != 200 {
		t.Fatalf("%d %s", a.status, a.body)
	}
	if n := lb.Calls() - before; n != 2 {
		t.Fatalf("first request for the room: %d calls, want 2 (create, token)", n)
	}
	room, err := direct.GetRoom(ctx, "org-acme:doc-1")
	if err != nil {
		t.Fatalf("the room was not provisioned: %v", err)
	}
	wantGroups := map[string][]liveblocks.Permission{"org-acme": {liveblocks.Write}}
	wantUsers := map[string][]liveblocks.Permission{"auditor": {liveblocks.Read}}
	if len(room.DefaultAccesses) != 0 || !reflect.DeepEqual(room.GroupsAccesses, wantGroups) || !reflect.DeepEqual(room.UsersAccesses, wantUsers) {
		t.Fatalf("accesses: default %v groups %v users %v", room.DefaultAccesses, room.GroupsAccesses, room.UsersAccesses)
	}
	before = lb.Calls()
	if a := askToken(t, c, alice, tokenRequest(alice, `{"room":"org-acme:doc-1"}`)); a.status != 200 {
		t.Fatalf("%d %s", a.status, a.body)
	}
	if n := lb.Calls() - before; n != 1 {
		t.Fatalf("second request for the room: %d calls, want 1 (token only)", n)
	}

	// A room no rule matches is left alone.
	if a := askToken(t, c, alice, tokenRequest(alice, `{"room":"lobby"}`)); a.status != 200 {
		t.Fatalf("%d %s", a.status, a.body)
	}
	if _, err := direct.GetRoom(ctx, "lobby"); !errors.Is(err, liveblocks.ErrNotFound) {
		t.Fatalf("a room no rule matches was created (GetRoom: %v)", err)
	}
}

func TestCheck_ProvisioningFailures(t *testing.T) {
	alice := authztest.Session(authztest.Alice())
	t.Run("liveblocks refuses: its status, not retried", func(t *testing.T) {
		// The real dev server refuses any secret but sk_localdev with a 403.
		_, lb := authztest.DevServer(t)
		c := authztest.GRPC(t, authztest.Engine(t, provisionConfig, lb.URL, "sk_not_the_dev_key"))
		a := askToken(t, c, alice, tokenRequest(alice, `{"room":"org-acme:doc-1"}`))
		if a.status != 403 || !strings.Contains(a.reason, "liveblocks refused to create the room: 403") {
			t.Fatalf("got %d %s", a.status, a.body)
		}
		if strings.Contains(a.body, "sk_not_the_dev_key") {
			t.Fatal("the secret key is in the answer")
		}
	})
	t.Run("liveblocks down: 503, retried", func(t *testing.T) {
		// A closed port: the dev server cannot be made unreachable while
		// in use.
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		closed := "http://" + l.Addr().String()
		l.Close()
		c := authztest.GRPC(t, authztest.Engine(t, provisionConfig, closed, testenv.DevSecretKey))
		a := askToken(t, c, alice, tokenRequest(alice, `{"room":"org-acme:doc-1"}`))
		if a.status != 503 || !strings.Contains(a.reason, "could not provision the room") {
			t.Fatalf("got %d %s", a.status, a.body)
		}
	})
}

func TestCheck_AccessTokenMode(t *testing.T) {
	_, lb := authztest.DevServer(t)
	c := authztest.GRPC(t, authztest.Engine(t, accessTokenConfig, lb.URL, testenv.DevSecretKey))
	alice := authztest.Session(authztest.Alice()) // groups team, eng

	a := askToken(t, c, alice, tokenRequest(alice, `{"room":"public:faq"}`))
	if a.status != 200 || a.token["k"] != "acc" || a.token["uid"] != "alice" {
		t.Fatalf("got %d %s %v", a.status, a.body, a.token)
	}
	perms, _ := json.Marshal(a.token["perms"])
	want := `{"eng:*":["*:write"],"public:faq":["*:read"],"team:*":["*:write"],"user-alice:*":["*:write"]}`
	if string(perms) != want {
		t.Fatalf("perms = %s\nwant    %s", perms, want)
	}
	if ui, _ := json.Marshal(a.token["ui"]); !strings.Contains(string(ui), `"name":"Alice"`) {
		t.Fatalf("userInfo = %s", ui)
	}

	many := authztest.Alice()
	groups := []any{}
	for i := range 10 {
		groups = append(groups, "g"+string(rune('a'+i)))
	}
	many["groups"] = groups
	s := authztest.Session(many)
	before := lb.Calls()
	if a := askToken(t, c, s, tokenRequest(s, `{}`)); a.status != 403 || !strings.Contains(a.reason, "more than 10 room patterns") {
		t.Fatalf("11 patterns: got %d %s", a.status, a.body)
	}
	if lb.Calls() != before {
		t.Fatal("Liveblocks was called for a policy over 10 patterns")
	}

	// user_id "*" cannot go into a pattern, and there are no groups and no
	// room: nothing to grant.
	nobody := authztest.Alice()
	nobody["sub"], nobody["groups"] = "*", []any{}
	s = authztest.Session(nobody)
	if a := askToken(t, c, s, tokenRequest(s, `{}`)); a.status != 403 || !strings.Contains(a.reason, "grants this user no room") {
		t.Fatalf("no grant: got %d %s", a.status, a.body)
	}
	if lb.Calls() != before {
		t.Fatal("Liveblocks was called for a policy that grants nothing")
	}
}

func TestCheck_TokenRequestsWithoutBodyWarnOnceWhenProvisioning(t *testing.T) {
	_, lb := authztest.DevServer(t)
	dir := t.TempDir()
	hmacFile := filepath.Join(dir, "hmac")
	if err := os.WriteFile(hmacFile, []byte(authztest.HMACSecret), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"LIVEBLOCKS_BASE_URL": lb.URL, "LIVEBLOCKS_SECRET_KEY": testenv.DevSecretKey}
	getenv := func(k string) string { return env[k] }
	cfg, err := config.Parse("t.yaml", []byte(strings.ReplaceAll(provisionConfig, "HMAC_FILE", hmacFile)), getenv)
	if err != nil {
		t.Fatal(err)
	}
	sec, err := config.ReadSecrets(cfg, getenv)
	if err != nil {
		t.Fatal(err)
	}
	core, logs := observer.New(zap.WarnLevel)
	e, err := assemble.Engine(cfg, sec, zap.New(core))
	if err != nil {
		t.Fatal(err)
	}
	c := authztest.GRPC(t, e)
	alice := authztest.Session(authztest.Alice())
	for range 3 {
		// Envoy without with_request_body: no body at all.
		if a := askToken(t, c, alice, tokenRequest(alice, "")); a.status != 200 {
			t.Fatalf("%d %s", a.status, a.body)
		}
	}
	if n := logs.FilterMessageSnippet("with_request_body").Len(); n != 1 {
		t.Fatalf("%d warnings about the missing body, want 1: %v", n, logs.All())
	}
	if a := askToken(t, c, alice, tokenRequest(alice, `{}`)); a.status != 200 {
		t.Fatalf("%d %s", a.status, a.body)
	}
	if logs.FilterMessageSnippet("with_request_body").Len() != 1 {
		t.Fatal("a request with a body warned")
	}
}
