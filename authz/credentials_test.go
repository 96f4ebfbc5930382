package authz_test

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/zap"

	"github.com/lbauthz/lbauthz/authz"
	"github.com/lbauthz/lbauthz/internal/assemble"
	"github.com/lbauthz/lbauthz/internal/authztest"
)

// apiSecret signs the API clients' bearer tokens: not the cookie's secret.
const apiSecret = "the API tokens' own HS256 secret, 0123456789"

// sourcesEngine builds an engine from a config with the cookie session of
// authztest.Config and more_sessions (API_HMAC_FILE holds apiSecret). It
// never reaches Liveblocks: the tests decide pass-through requests and
// refusals only.
func sourcesEngine(t *testing.T, more string) *authz.Engine {
	t.Helper()
	f := filepath.Join(t.TempDir(), "api-hmac")
	if err := os.WriteFile(f, []byte(apiSecret), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, sec := authztest.ParseConfig(t, authztest.Config+strings.ReplaceAll(more, "API_HMAC_FILE", f), "http://127.0.0.1:9", "sk_localdev")
	e, err := assemble.Engine(cfg, sec, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	return e
}

const bearerSource = `more_sessions:
  - session:
      bearer: true
      jwt: { hmac_secret_file: "API_HMAC_FILE", algorithms: ["HS256"] }
`

func claimsOf(user string) map[string]any {
	c := authztest.Alice()
	c["sub"], c["name"] = user, user
	return c
}

func TestDecide_SessionSources(t *testing.T) {
	alice := authztest.Session(claimsOf("alice"))
	aliceAPI := authztest.SignHS(apiSecret, "HS256", claimsOf("alice"))
	bobAPI := authztest.SignHS(apiSecret, "HS256", claimsOf("bob"))
	bearer := func(v ...string) authz.HeaderValue { return authz.HeaderValue{Value: v[0], Lines: len(v)} }
	for _, tc := range []struct {
		name          string
		more          string
		cookie        string
		authorization authz.HeaderValue
		header        authz.HeaderValue
		user          string // "": anonymous
		reason        string // the anonymous decision's reason
		public        string // if set, what the auth path's 401 tells the client
	}{
		{name: "the cookie alone", more: bearerSource, cookie: "session=" + alice, user: "alice"},
		{name: "the bearer token alone", more: bearerSource, authorization: bearer("Bearer " + bobAPI), user: "bob"},
		{name: "the scheme in any case", more: bearerSource, authorization: bearer("bEaReR   " + bobAPI), user: "bob"},
		{name: "both, for the same user", more: bearerSource, cookie: "session=" + alice, authorization: bearer("Bearer " + aliceAPI), user: "alice"},
		{name: "both, for different users: refused, never first-wins", more: bearerSource, cookie: "session=" + alice,
			authorization: bearer("Bearer " + bobAPI), reason: "session credentials name different users"},
		{name: "a bearer token signed with the cookie's key", more: bearerSource, authorization: bearer("Bearer " + alice), reason: "signature"},
		{name: "a valid cookie beside an invalid bearer token", more: bearerSource, cookie: "session=" + alice,
			authorization: bearer("Bearer " + alice), user: "alice"},
		{name: "two Authorization lines", more: bearerSource, authorization: bearer("Bearer "+bobAPI, "Bearer "+bobAPI),
			reason: "more than one", public: "more than one session credential"},
		{name: "a malformed bearer token refuses even beside a valid cookie", more: bearerSource, cookie: "session=" + alice,
			authorization: bearer("Bearer a b"), reason: "malformed", public: "malformed session credential"},
		{name: "a repeated cookie beside a valid bearer token", more: bearerSource, cookie: "session=" + alice + "; session=" + alice,
			authorization: bearer("Bearer " + aliceAPI), reason: "more than one", public: "more than one session cookie"},
		{name: "another scheme is no bearer token", more: bearerSource, cookie: "session=" + alice,
			authorization: bearer("Basic YWxpY2U6cHc="), user: "alice"},
		{name: "nothing at all", more: bearerSource, reason: "no session credential"},
		{name: "a named header", more: strings.Replace(bearerSource, "bearer: true", `header: "X-Api-Token"`, 1),
			header: authz.HeaderValue{Value: bobAPI, Lines: 1}, user: "bob"},
		{name: "a named header given twice", more: strings.Replace(bearerSource, "bearer: true", `header: "X-Api-Token"`, 1),
			header: authz.HeaderValue{Value: bobAPI, Lines: 2}, reason: "more than one"},
		{name: "a named header joined by Envoy", more: strings.Replace(bearerSource, "bearer: true", `header: "X-Api-Token"`, 1),
			header: authz.HeaderValue{Value: bobAPI + "," + bobAPI, Lines: 1}, reason: "malformed", public: "malformed session credential"},
		// A migration: the same cookie, a new store tried before the old
		// one; a session either knows is valid.
		{name: "a migration: the old store's session", more: strings.Replace(bearerSource, "bearer: true", `cookie: "session"`, 1),
			cookie: "session=" + alice, user: "alice"},
		{name: "a migration: the new store's session", more: strings.Replace(bearerSource, "bearer: true", `cookie: "session"`, 1),
			cookie: "session=" + bobAPI, user: "bob"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := sourcesEngine(t, tc.more)
			r := &authz.Request{Door: "test", Method: http.MethodGet, Path: "/docs/1", Cookie: tc.cookie,
				Authorization: tc.authorization, CredentialHeader: tc.header}
			d := e.Decide(context.Background(), r)
			if tc.user != "" {
				if d.Outcome != authz.AllowIdentity || d.Identity.UserID != tc.user {
					t.Fatalf("decision %v (%s), want %s's identity", d.Outcome, d.Reason, tc.user)
				}
				return
			}
			if d.Outcome != authz.AllowAnonymous || !strings.Contains(d.Reason, tc.reason) {
				t.Fatalf("decision %v (%q), want anonymous with a reason saying %q", d.Outcome, d.Reason, tc.reason)
			}
			// The auth path refuses the same request with 401, before
			// Liveblocks is asked (it is not reachable here).
			r.Method, r.Path, r.Body, r.HasBody = http.MethodPost, authztest.AuthPath, []byte(`{"room":"r"}`), true
			d = e.Decide(context.Background(), r)
			if d.Status != http.StatusUnauthorized {
				t.Fatalf("the auth path: %d %v (%s), want 401", d.Status, d.Outcome, d.Reason)
			}
			if tc.public != "" && !strings.Contains(string(d.Body), tc.public) {
				t.Fatalf("the auth path's 401 says %s, want %q", d.Body, tc.public)
			}
		})
	}
}

// Explain names each source and what it found, never a credential.
func TestExplain_NamesEachSessionSource(t *testing.T) {
	e := sourcesEngine(t, bearerSource)
	bob := authztest.SignHS(apiSecret, "HS256", claimsOf("bob"))
	r := &authz.Request{Method: http.MethodGet, Path: "/docs/1", Cookie: "session=" + authztest.Session(claimsOf("alice")),
		Authorization: authz.HeaderValue{Value: "Bearer " + bob, Lines: 1}}
	x := e.Explain(context.Background(), r, authz.ExplainOptions{})
	if len(x.Credentials) != 2 || !strings.HasPrefix(x.Credentials[0], "cookie session: found") || !strings.HasPrefix(x.Credentials[1], "bearer: found") {
		t.Fatalf("credentials %q, want the cookie and the bearer token found", x.Credentials)
	}
	if len(x.Sessions) != 2 || x.Sessions[1].Source != "bearer" || x.Sessions[1].Result != "valid" {
		t.Fatalf("sessions %+v, want both asked", x.Sessions)
	}
	if x.Identity != nil || !strings.Contains(strings.Join(x.Notes, " "), "different users") {
		t.Fatalf("identity %+v notes %q, want none and a note on the disagreement", x.Identity, x.Notes)
	}
	if x.Decision.Outcome != authz.AllowAnonymous.String() {
		t.Fatalf("decision %+v, want anonymous", x.Decision)
	}
}
