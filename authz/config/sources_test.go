package config_test

import (
	"strings"
	"testing"

	"github.com/lbauthz/lbauthz/authz/config"
)

const sourcesBase = "session:\n  cookie: session\n  jwt: { hmac_secret_file: /x, algorithms: [HS256] }\n"

func TestParse_SessionSourcesAreValidatedAndNamed(t *testing.T) {
	cases := []struct {
		name, yaml string
		want       []string
	}{
		{"cookie and bearer in one source", "session:\n  cookie: s\n  bearer: true\n  jwt: { hmac_secret_file: /x, algorithms: [HS256] }\n",
			[]string{"session:", "exactly one of cookie, bearer and header"}},
		{"a source with no credential", sourcesBase + "more_sessions:\n  - session: { jwt: { hmac_secret_file: /y, algorithms: [HS256] } }\n",
			[]string{"more_sessions[0].session.cookie", "required"}},
		{"a source's store named with its index", sourcesBase + "more_sessions:\n  - session: { bearer: true, jwt: { hmac_secret_file: /y, algorithms: [HS256, none] } }\n",
			[]string{"more_sessions[0].session.jwt.algorithms", `"none"`}},
		{"a source without a store", sourcesBase + "more_sessions:\n  - session: { bearer: true }\n",
			[]string{"more_sessions[0].session", "a session store is required"}},
		{"a source without session", sourcesBase + "more_sessions:\n  - identity: { user_id: sub }\n",
			[]string{"more_sessions[0].session", "required"}},
		{"the Cookie header as a credential header", sourcesBase + "more_sessions:\n  - session: { header: Cookie, jwt: { hmac_secret_file: /y, algorithms: [HS256] } }\n",
			[]string{"more_sessions[0].session.header", `"Cookie"`}},
		{"two credential headers", "session:\n  header: X-A\n  jwt: { hmac_secret_file: /x, algorithms: [HS256] }\nmore_sessions:\n  - session: { header: X-B, jwt: { hmac_secret_file: /y, algorithms: [HS256] } }\n",
			[]string{"more_sessions[0].session.header", "the same one"}},
		{"a signed cookie read from a header", sourcesBase + "more_sessions:\n  - session: { header: X-A, signed_cookie: { preset: flask }, app_secret_files: [/y] }\n",
			[]string{"more_sessions[0].session", "signed_cookie"}},
		{"an express-signed bearer token", sourcesBase + "more_sessions:\n  - session: { bearer: true, cookie_format: express, cookie_secret_files: [/z], redis: { address: \"127.0.0.1:6379\" } }\n",
			[]string{"more_sessions[0].session.cookie_format", "plain"}},
		{"too many sources", sourcesBase + "more_sessions:\n" + strings.Repeat("  - session: { bearer: true, jwt: { hmac_secret_file: /y, algorithms: [HS256] } }\n", 8),
			[]string{"more_sessions", "at most 8"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { parseFails(t, tc.yaml, tc.want...) })
	}
}

// A source gets the session defaults, and the identity section as the
// file wrote it unless it has its own; a bearer source gets no preset's
// default cookie.
func TestParse_SessionSourcesGetTheDefaults(t *testing.T) {
	yaml := sourcesBase + `identity: { group_ids: "roles" }
more_sessions:
  - session: { bearer: true, redis: { address: "127.0.0.1:6379", preset: connect-redis }, cookie_format: plain }
  - session: { header: X-Api-Token, jwt: { hmac_secret_file: /y, algorithms: [HS256] } }
    identity: { user_id: "client_id" }
`
	cfg, err := config.Parse("cfg.yaml", []byte(yaml), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	first, second := cfg.MoreSessions[0], cfg.MoreSessions[1]
	if first.Session.Cookie != "" || first.Session.MaxCookieBytes != config.DefaultMaxCookieBytes || first.Session.Cache.GetTtl() == nil {
		t.Errorf("bearer source: cookie %q max %d cache %v, want no cookie and the defaults", first.Session.Cookie, first.Session.MaxCookieBytes, first.Session.Cache)
	}
	if first.Identity.GetGroupIds() != "roles" || first.Identity.GetUserId() != config.DefaultUserIDPath {
		t.Errorf("bearer source identity %v, want the file's identity with the defaults", first.Identity)
	}
	if second.Identity.GetUserId() != "client_id" || second.Identity.GetGroupIds() == "roles" {
		t.Errorf("header source identity %v, want its own", second.Identity)
	}
	if h := config.CredentialHeader(cfg); h != "X-Api-Token" {
		t.Errorf("credential header %q", h)
	}
	files := strings.Join(config.SecretFiles(cfg), " ")
	if !strings.Contains(files, "/x") || !strings.Contains(files, "/y") {
		t.Errorf("secret files %q, want every source's", files)
	}
}
