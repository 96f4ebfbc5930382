package config_test

import (
	"strings"
	"testing"

	"github.com/lbauthz/lbauthz/authz/config"
)

func TestParse_FrameworkPresetsSetCookieUserAndQuery(t *testing.T) {
	for _, c := range []struct {
		name, yaml, cookie, userID, groups string
	}{
		{"DjangoDB", `
session:
  sql: { preset: django, dsn: "postgres://app@127.0.0.1:5432/app" }
  app_secret_files: ["/run/secrets/django"]
`, "sessionid", "_auth_user_id", "groups"},
		{"DjangoSignedCookies", `
session:
  signed_cookie: { preset: django }
  app_secret_files: ["/run/secrets/django"]
`, "sessionid", "_auth_user_id", ""},
		{"Flask", `
session:
  signed_cookie: { preset: flask }
  app_secret_files: ["/run/secrets/flask"]
`, "session", "_user_id", ""},
		{"PHPFiles", `
session:
  files: { preset: php, path: /var/lib/php/sessions }
identity: { user_id: "user_id" }
`, "PHPSESSID", "user_id", ""},
		{"Rails", `
session:
  cookie: _shop_session
  signed_cookie: { preset: rails }
  app_secret_files: ["/run/secrets/secret-key-base"]
`, "_shop_session", config.DefaultRailsUserID, ""},
		{"LaravelFiles", `
session:
  files: { preset: laravel, path: /srv/app/storage/framework/sessions }
  app_secret_files: ["/run/secrets/app-key"]
`, "laravel_session", config.DefaultLaravelUserID, ""},
		{"LaravelRedis", `
session:
  redis: { preset: laravel, address: "127.0.0.1:6379" }
  app_secret_files: ["/run/secrets/app-key"]
`, "laravel_session", config.DefaultLaravelUserID, ""},
		{"RailsRedis", `
session:
  cookie: _shop_session
  redis: { preset: rails, address: "127.0.0.1:6379" }
`, "_shop_session", config.DefaultRailsUserID, ""},
		{"RailsActiveRecord", `
session:
  cookie: _shop_session
  sql: { preset: rails, dsn: "postgres://app@127.0.0.1:5432/app" }
`, "_shop_session", config.DefaultRailsUserID, ""},
		{"LaravelDatabase", `
session:
  sql: { preset: laravel, driver: mysql, dsn: "app@tcp(127.0.0.1:3306)/app" }
  app_secret_files: ["/run/secrets/app-key"]
`, "laravel_session", config.DefaultLaravelUserID, ""},
		{"PHPRedis", `
session:
  redis: { preset: phpredis, address: "127.0.0.1:6379" }
identity: { user_id: "uid" }
`, "PHPSESSID", "uid", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg, err := config.Parse("c.yaml", []byte(c.yaml), noEnv)
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Session.Cookie != c.cookie || cfg.Identity.UserId != c.userID || cfg.Identity.GroupIds != c.groups {
				t.Fatalf("cookie %q user %q groups %q", cfg.Session.Cookie, cfg.Identity.UserId, cfg.Identity.GroupIds)
			}
		})
	}
	cfg, err := config.Parse("c.yaml", []byte(`
session:
  sql: { preset: django, dsn: "postgres://app@127.0.0.1:5432/app" }
  app_secret_files: ["/run/secrets/django"]
`), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if q := cfg.Session.Sql; q.Query != config.DjangoQuery || q.JsonColumn != "session_data" || q.ExpiresColumn != "expire_date" || q.GroupsQuery != config.DjangoGroupsQuery || q.UserQuery != config.DjangoUserQuery {
		t.Fatalf("django query defaults: %v", q)
	}
	cfg, err = config.Parse("c.yaml", []byte(`
session:
  sql: { preset: django, driver: mysql, dsn: "app@tcp(127.0.0.1:3306)/app" }
  app_secret_files: ["/run/secrets/django"]
`), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if q := cfg.Session.Sql; q.Query != config.DjangoMySQLQuery || q.GroupsQuery != config.DjangoMySQLGroupsQuery || q.UserQuery != config.DjangoMySQLUserQuery {
		t.Fatalf("django mysql query defaults: %v", q)
	}
	cfg, err = config.Parse("c.yaml", []byte(`
session:
  sql: { preset: laravel, dsn: "postgres://app@127.0.0.1:5432/app" }
  app_secret_files: ["/run/secrets/app-key"]
`), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if q := cfg.Session.Sql; q.Query != config.LaravelQuery || q.JsonColumn != "payload" || q.IdleColumn != "last_activity" || q.MaxIdle.AsDuration() != config.DefaultLaravelLifetime {
		t.Fatalf("laravel sql defaults: %v", q)
	}
	cfg, err = config.Parse("c.yaml", []byte("session:\n  cookie: _a_session\n  redis: { preset: rails, address: \"127.0.0.1:6379\" }\n"), noEnv)
	if err != nil || cfg.Session.Redis.KeyTemplate != config.DefaultRailsRedisKey {
		t.Fatalf("rails redis defaults: %v %v", cfg, err)
	}
	cfg, _ = config.Parse("c.yaml", []byte("session:\n  redis: { preset: phpredis, address: \"127.0.0.1:6379\" }\n"), noEnv)
	if r := cfg.Session.Redis; r.KeyTemplate != "PHPREDIS_SESSION:{id}" || r.SerializeHandler != "php" {
		t.Fatalf("phpredis defaults: %v", r)
	}
}

func TestParse_FrameworkPresetErrorsNameTheField(t *testing.T) {
	for _, c := range []struct{ name, yaml, want string }{
		{"SignedCookieWithoutSecret", "session:\n  signed_cookie: { preset: flask }\n", "session.app_secret_files:"},
		{"SignedCookieUnknownPreset", "session:\n  signed_cookie: { preset: sinatra }\n  app_secret_files: [/s]\n", "session.signed_cookie.preset:"},
		{"SecretWithoutAFrameworkStore", "session:\n  files: { preset: php, path: /x }\n  app_secret_files: [/s]\n", "session.app_secret_files:"},
		{"LaravelWithoutAppKey", "session:\n  files: { preset: laravel, path: /x }\n", "session.app_secret_files:"},
		{"RailsWithoutCookieName", "session:\n  signed_cookie: { preset: rails }\n  app_secret_files: [/s]\n", "session.cookie:"},
		{"RailsWithMaxAge", "session:\n  cookie: _a_session\n  signed_cookie: { preset: rails, max_age: 1h }\n  app_secret_files: [/s]\n", "session.signed_cookie.max_age:"},
		{"UserQueryWithoutDjango", "session:\n  sql: { dsn: \"postgres://a@h/d\", query: \"SELECT 1 WHERE $1 = ''\", user_query: \"SELECT 1\" }\n  cookie: sid\n", "session.sql.user_query:"},
		{"LaravelSQLWithoutAppKey", "session:\n  sql: { preset: laravel, dsn: \"postgres://a@h/d\" }\n", "session.app_secret_files:"},
		{"RailsRedisWithoutCookieName", "session:\n  redis: { preset: rails, address: \"127.0.0.1:6379\" }\n", "session.cookie:"},
		{"IdleColumnWithoutMaxIdle", "session:\n  cookie: sid\n  sql: { dsn: \"postgres://a@h/d\", query: \"SELECT 1 WHERE $1 = ''\", idle_column: last }\n", "session.sql.max_idle:"},
		{"FilesWithoutPath", "session:\n  files: { preset: php }\n", "session.files.path:"},
		{"FilesBadHandler", "session:\n  files: { preset: php, path: /x, serialize_handler: wddx }\n", "session.files.serialize_handler:"},
		{"DjangoOnMySQLWithAPostgresUserQuery", "session:\n  sql: { preset: django, driver: mysql, dsn: \"app@tcp(127.0.0.1:3306)/app\", user_query: \"SELECT password, is_active FROM u WHERE id = $1\" }\n  app_secret_files: [/s]\n", "session.sql.user_query:"},
		{"HandlerWithoutPHPRedis", "session:\n  redis: { address: \"127.0.0.1:6379\", serialize_handler: php }\n  cookie: sid\n", "session.redis.serialize_handler:"},
		{"TwoStores", "session:\n  signed_cookie: { preset: flask }\n  files: { preset: php, path: /x }\n  app_secret_files: [/s]\n", "exactly one session store"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := config.Parse("c.yaml", []byte(c.yaml), noEnv)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want one saying %q", err, c.want)
			}
		})
	}
}
