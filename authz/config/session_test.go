package config_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lbauthz/lbauthz/authz/config"
)

func TestParse_ConnectRedisPresetNeedsOnlyTheSecretAndTheAddress(t *testing.T) {
	cfg, err := config.Parse("c.yaml", []byte(`
session:
  redis: { preset: connect-redis, address: "127.0.0.1:6379" }
  cookie_secret_files: ["/run/secrets/express"]
`), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	s := cfg.Session
	if s.Cookie != "connect.sid" || s.CookieFormat != "express" || s.Redis.KeyTemplate != "sess:{id}" ||
		s.Redis.ExpiresPath != "cookie.expires" || s.OnStoreError != "anonymous" || s.Redis.Timeout.AsDuration() != config.DefaultRedisTimeout {
		t.Fatalf("preset defaults not applied: %v", s)
	}
}

func TestParse_ConnectPGSimplePresetAndGroupsQueryDefaults(t *testing.T) {
	cfg, err := config.Parse("c.yaml", []byte(`
session:
  sql:
    preset: connect-pg-simple
    dsn: "postgres://app@127.0.0.1:5432/app"
    groups_query: "SELECT group_id FROM memberships WHERE user_id = $1"
  cookie_secret_files: ["/run/secrets/express"]
identity: { user_id: "user.id" }
`), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	q := cfg.Session.Sql
	if q.Query != config.ConnectPGSimpleQuery || q.JsonColumn != "sess" || q.ExpiresColumn != "expire" || q.Driver != "postgres" ||
		cfg.Session.Cookie != "connect.sid" || cfg.Identity.GroupIds != "groups" {
		t.Fatalf("preset defaults not applied: %v %v", q, cfg.Identity)
	}
}

func TestParse_MySQLDriverTakesQuestionMarkParameters(t *testing.T) {
	cfg, err := config.Parse("c.yaml", []byte(`
session:
  cookie: sessionid
  sql:
    driver: mysql
    dsn: "app@tcp(127.0.0.1:3306)/app"
    query: "SELECT s.user_id, JSON_VALUE(u.meta, '$.name') AS name, '?' AS q FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id = ? -- one ?"
    groups_query: "SELECT group_id FROM memberships /* by user? */ WHERE user_id = ?"
identity: { user_id: "user_id" }
`), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	q := cfg.Session.Sql
	if q.Driver != "mysql" || q.Timeout.AsDuration() != config.DefaultSQLTimeout || q.MaxConnections != config.DefaultSQLMaxConns ||
		cfg.Identity.GroupIds != "groups" {
		t.Fatalf("defaults not applied: %v %v", q, cfg.Identity)
	}
}

func TestParse_SessionStoreErrorsNameTheField(t *testing.T) {
	cases := []struct{ name, yaml, want string }{
		{"no store", "session: {cookie: s}", "a session store is required"},
		{"two stores", "session:\n  cookie: s\n  jwt: {algorithms: [HS256], hmac_secret_file: /f}\n  redis: {address: \"h:1\"}", "exactly one session store may be configured, found jwt, redis"},
		{"express without secrets", "session:\n  redis: {preset: connect-redis, address: \"h:1\"}", "session.cookie_secret_files: required"},
		{"secrets with plain", "session:\n  cookie: s\n  redis: {address: \"h:1\"}\n  cookie_secret_files: [/f]", `session.cookie_secret_files: set, but session.cookie_format is "plain"`},
		{"express with jwt", "session:\n  cookie: s\n  cookie_format: express\n  cookie_secret_files: [/f]\n  jwt: {algorithms: [HS256], hmac_secret_file: /f}", `session.cookie_format: "express" reads a session id`},
		{"bad cookie format", "session:\n  cookie: s\n  cookie_format: rails\n  redis: {address: \"h:1\"}", `session.cookie_format: "rails" is not one of plain, express`},
		{"bad on_store_error", "session:\n  cookie: s\n  on_store_error: deny\n  redis: {address: \"h:1\"}", `session.on_store_error: "deny" is not one of anonymous, unavailable`},
		{"redis without address", "session:\n  cookie: s\n  redis: {}", "session.redis.address: the host:port"},
		{"redis bad template", "session:\n  cookie: s\n  redis: {address: \"h:1\", key_template: \"sess:\"}", `session.redis.key_template: "sess:" must hold "{id}" exactly once`},
		{"unknown preset", "session:\n  cookie: s\n  redis: {address: \"h:1\", preset: connect-mongo}", `session.redis.preset: "connect-mongo" is not a known preset`},
		{"sql two params", "session:\n  cookie: s\n  sql: {dsn: \"postgres://a@h/db\", query: \"SELECT * FROM s WHERE id = $1 AND x = $2\"}", "session.sql.query: the query must take exactly one parameter, $1"},
		{"sql no param", "session:\n  cookie: s\n  sql: {dsn: \"postgres://a@h/db\", query: \"SELECT * FROM s\"}", "session.sql.query: the query must take exactly one parameter"},
		{"sql password in dsn", "session:\n  cookie: s\n  sql: {dsn: \"postgres://a:hunter2@h/db\", query: \"SELECT 1 WHERE $1\"}", "session.sql.dsn: holds a password"},
		{"sql unknown driver", "session:\n  cookie: s\n  sql: {driver: sqlite, dsn: \"a.db\", query: \"SELECT 1 WHERE $1\"}", `session.sql.driver: "sqlite" is not one of postgres, mysql`},
		{"mysql with $1", "session:\n  cookie: s\n  sql: {driver: mysql, dsn: \"a@tcp(h:3306)/db\", query: \"SELECT 1 WHERE $1\"}", "session.sql.query: the query must take exactly one parameter, ?"},
		{"mysql two params", "session:\n  cookie: s\n  sql: {driver: mysql, dsn: \"a@tcp(h:3306)/db\", query: \"SELECT * FROM s WHERE id = ? AND x = ?\"}", "session.sql.query: the query must take exactly one parameter, ?"},
		{"mysql groups no param", "session:\n  cookie: s\n  sql: {driver: mysql, dsn: \"a@tcp(h:3306)/db\", query: \"SELECT * FROM s WHERE id = ?\", groups_query: \"SELECT g FROM m WHERE u = '?'\"}", "session.sql.groups_query: the query must take exactly one parameter, ?"},
		{"mysql password in dsn", "session:\n  cookie: s\n  sql: {driver: mysql, dsn: \"a:hunter2@tcp(h:3306)/db\", query: \"SELECT 1 WHERE ?\"}", "session.sql.dsn: holds a password"},
		{"mysql bad dsn", "session:\n  cookie: s\n  sql: {driver: mysql, dsn: \"mysql://a:hunter2@h/db\", query: \"SELECT 1 WHERE ?\"}", "session.sql.dsn: not a MySQL DSN"},
		{"mysql connect-pg-simple", "session:\n  cookie_secret_files: [/f]\n  sql: {driver: mysql, preset: connect-pg-simple, dsn: \"a@tcp(h:3306)/db\"}", `session.sql.driver: "mysql": the connect-pg-simple preset is for postgres`},
		{"introspection bad url", "session:\n  cookie: s\n  introspection: {url: \"/api/me\"}", `session.introspection.url: "/api/me" is not an http(s) URL`},
		{"introspection cookie header", "session:\n  cookie: s\n  introspection: {url: \"http://a/me\", headers: {Cookie: x}}", `session.introspection.headers: "Cookie" is set by the sidecar`},
		{"jwks and a key file", "session:\n  cookie: s\n  jwt: {algorithms: [RS256], public_key_file: /f, jwks_url: \"https://idp/jwks\"}", "session.jwt.jwks_url: set with session.jwt.public_key_file"},
		{"jwks for HMAC", "session:\n  cookie: s\n  jwt: {algorithms: [HS256], hmac_secret_file: /f, jwks_url: \"https://idp/jwks\"}", "session.jwt.jwks_url: set, but session.jwt.algorithms has no public-key algorithm"},
		{"jwks not a URL", "session:\n  cookie: s\n  jwt: {algorithms: [RS256], jwks_url: \"idp/jwks\"}", `session.jwt.jwks_url: "idp/jwks" is not an http(s) URL`},
		{"groups keep", "session:\n  cookie: s\n  redis: {address: \"h:1\"}\nidentity: {groups: {keep: \"(\"}}", `identity.groups.keep: "(" is not a regular expression`},
		{"groups template", "session:\n  cookie: s\n  redis: {address: \"h:1\"}\nidentity: {groups: {template: \"org:\"}}", `identity.groups.template: "org:" does not hold "{value}"`},
		{"organization path", "session:\n  cookie: s\n  redis: {address: \"h:1\"}\nidentity: {organization_id: \"ws..id\"}", `identity.organization_id: "ws..id" is not a dotted path`},
		{"organization template without path", "session:\n  cookie: s\n  redis: {address: \"h:1\"}\nidentity: {organization_template: \"ws-{value}\"}", "identity.organization_template: needs identity.organization_id"},
		{"organization template without value", "session:\n  cookie: s\n  redis: {address: \"h:1\"}\nidentity: {organization_id: ws, organization_template: \"ws-\"}", `identity.organization_template: "ws-" does not hold "{value}"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := config.Parse("c.yaml", []byte(tc.yaml), noEnv)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("want an error with %q, got %v", tc.want, err)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Fatal("the error holds the DSN's password")
			}
		})
	}
}

func TestParse_JWKSDefaults(t *testing.T) {
	cfg, err := config.Parse("c.yaml", []byte("session:\n  cookie: s\n  jwt: {algorithms: [RS256, ES256], jwks_url: \"https://idp.example.com/.well-known/jwks.json\", issuer: \"https://idp.example.com/\"}\n"), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	j := cfg.Session.Jwt
	if j.JwksRefresh.AsDuration() != config.DefaultJWKSRefresh || j.JwksMinInterval.AsDuration() != config.DefaultJWKSMinInterval || j.JwksTimeout.AsDuration() != config.DefaultJWKSTimeout {
		t.Fatalf("jwks defaults: %v", j)
	}
}

func TestReadSecrets_SessionStoreSecrets(t *testing.T) {
	dir := t.TempDir()
	write := func(name, v string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(v), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	yaml := `
session:
  redis: { preset: connect-redis, address: "127.0.0.1:6379", password_file: "` + write("redis", "redis-pw\n") + `" }
  cookie_secret_files: ["` + write("new", "new secret\n") + `", "` + write("old", "old secret") + `"]
`
	env := func(k string) string {
		if k == "LIVEBLOCKS_SECRET_KEY" {
			return "sk_localdev"
		}
		return ""
	}
	cfg, err := config.Parse("c.yaml", []byte(yaml), env)
	if err != nil {
		t.Fatal(err)
	}
	sec, err := config.ReadSecrets(cfg, env)
	if err != nil {
		t.Fatal(err)
	}
	s := sec.Session
	if len(s.CookieSecrets) != 2 || string(s.CookieSecrets[0]) != "new secret" || string(s.CookieSecrets[1]) != "old secret" || s.RedisPassword != "redis-pw" {
		t.Fatalf("session secrets not read in order")
	}
	cfg.Session.CookieSecretFiles = append(cfg.Session.CookieSecretFiles, filepath.Join(dir, "missing"))
	if _, err := config.ReadSecrets(cfg, env); err == nil || !strings.Contains(err.Error(), "session.cookie_secret_files[2]") {
		t.Fatalf("a missing secret file: %v", err)
	}
}
