package config

import (
	"fmt"
	"time"

	configv1 "github.com/lbauthz/lbauthz/proto/lbauthz/config/v1"
)

// Presets of web frameworks' own session formats, and their defaults.
const (
	PresetDjango   = "django"   // sql, signed_cookie
	PresetFlask    = "flask"    // signed_cookie
	PresetPHP      = "php"      // files
	PresetPHPRedis = "phpredis" // redis
	PresetLaravel  = "laravel"  // files, redis, sql
	PresetRails    = "rails"    // signed_cookie, redis, sql

	DefaultDjangoCookie    = "sessionid"
	DefaultDjangoUserID    = "_auth_user_id"
	DefaultFlaskCookie     = "session"
	DefaultFlaskUserID     = "_user_id" // Flask-Login's
	DefaultPHPCookie       = "PHPSESSID"
	DefaultPHPRedisKey     = "PHPREDIS_SESSION:{id}"
	DefaultDjangoCookieAge = 1209600 * time.Second // SESSION_COOKIE_AGE
	DefaultFlaskLifetime   = 2678400 * time.Second // PERMANENT_SESSION_LIFETIME
	DefaultPHPMaxIdle      = 1440 * time.Second    // session.gc_maxlifetime
	DefaultRailsUserID     = "warden_user_user_id" // Devise's user, see package rails
	DefaultLaravelCookie   = "laravel_session"
	DefaultLaravelUserID   = "login_web_59ba36addc2b2f9401580f014c7f58ea4e30989d"
	DefaultLaravelLifetime = 120 * time.Minute // SESSION_LIFETIME
	DefaultLaravelRedisKey = "laravel_database_laravel_cache_:{id}"
	DefaultRailsRedisKey   = "rack:session:2::{id}" // {id}: the SHA-256 of the public id
)

// The rails preset's query (activerecord-session_store's table), for
// postgres and for mysql. The parameter is the private id, "2::" and the
// SHA-256 of the cookie's public id.
const (
	RailsQuery      = `SELECT data FROM sessions WHERE session_id = $1`
	RailsMySQLQuery = `SELECT data FROM sessions WHERE session_id = ?`
)

// The laravel preset's query (the database driver's table), for postgres
// and for mysql.
const (
	LaravelQuery      = `SELECT payload, last_activity FROM sessions WHERE id = $1`
	LaravelMySQLQuery = `SELECT payload, last_activity FROM sessions WHERE id = ?`
)

// DjangoQuery reads a session of Django's db and cached_db backends.
const DjangoQuery = `SELECT session_data, expire_date FROM django_session WHERE session_key = $1`

// DjangoGroupsQuery reads the names of a Django user's groups; the user id
// is compared as text, whatever the type of the user model's key.
const DjangoGroupsQuery = `SELECT g.name FROM auth_group g JOIN auth_user_groups ug ON ug.group_id = g.id ` +
	`WHERE ug.user_id::text = $1 ORDER BY g.name`

// DjangoUserQuery reads what django.contrib.auth checks of a session's user.
const DjangoUserQuery = `SELECT password, is_active FROM auth_user WHERE id::text = $1`

// The django preset's queries for MySQL and MariaDB (driver "mysql").
const (
	DjangoMySQLQuery       = `SELECT session_data, expire_date FROM django_session WHERE session_key = ?`
	DjangoMySQLGroupsQuery = `SELECT g.name FROM auth_group g JOIN auth_user_groups ug ON ug.group_id = g.id ` +
		`WHERE CAST(ug.user_id AS CHAR) = ? ORDER BY g.name`
	DjangoMySQLUserQuery = `SELECT password, is_active FROM auth_user WHERE CAST(id AS CHAR) = ?`
)

// applyFrameworkDefaults fills in what a framework preset implies: the
// cookie name, the user id's path, the query or key of the session. It runs
// before the other session defaults.
func applyFrameworkDefaults(cfg *configv1.Config) {
	s := cfg.Session
	cookie, userID := "", ""
	if q := s.Sql; q != nil && q.Preset == PresetDjango {
		cookie, userID = DefaultDjangoCookie, DefaultDjangoUserID
		query, groups, user := DjangoQuery, DjangoGroupsQuery, DjangoUserQuery
		if q.Driver == "mysql" {
			query, groups, user = DjangoMySQLQuery, DjangoMySQLGroupsQuery, DjangoMySQLUserQuery
		}
		if q.Query == "" {
			q.Query = query
			if q.JsonColumn == "" {
				q.JsonColumn = "session_data"
			}
			if q.ExpiresColumn == "" {
				q.ExpiresColumn = "expire_date"
			}
			if q.GroupsQuery == "" {
				q.GroupsQuery = groups
			}
		}
		if q.UserQuery == "" {
			q.UserQuery = user
		}
	}
	if q := s.Sql; q != nil && q.Preset == PresetRails {
		userID = DefaultRailsUserID // the cookie is named after the app: no default
		if q.Query == "" {
			q.Query = RailsQuery
			if q.Driver == "mysql" {
				q.Query = RailsMySQLQuery
			}
			if q.JsonColumn == "" {
				q.JsonColumn = "data"
			}
		}
	}
	if q := s.Sql; q != nil && q.Preset == PresetLaravel {
		cookie, userID = DefaultLaravelCookie, DefaultLaravelUserID
		if q.Query == "" {
			q.Query = LaravelQuery
			if q.Driver == "mysql" {
				q.Query = LaravelMySQLQuery
			}
			if q.JsonColumn == "" {
				q.JsonColumn = "payload"
			}
			if q.IdleColumn == "" {
				q.IdleColumn = "last_activity"
			}
		}
		setDuration(&q.MaxIdle, DefaultLaravelLifetime)
	}
	if r := s.Redis; r != nil && r.Preset == PresetRails {
		userID = DefaultRailsUserID
		if r.KeyTemplate == "" {
			r.KeyTemplate = DefaultRailsRedisKey
		}
	}
	if r := s.Redis; r != nil && r.Preset == PresetPHPRedis {
		cookie = DefaultPHPCookie
		if r.KeyTemplate == "" {
			r.KeyTemplate = DefaultPHPRedisKey
		}
		if r.SerializeHandler == "" {
			r.SerializeHandler = "php"
		}
	}
	if r := s.Redis; r != nil && r.Preset == PresetLaravel {
		cookie, userID = DefaultLaravelCookie, DefaultLaravelUserID
		if r.KeyTemplate == "" {
			r.KeyTemplate = DefaultLaravelRedisKey
		}
	}
	if f := s.Files; f != nil && f.Preset == PresetLaravel {
		cookie, userID = DefaultLaravelCookie, DefaultLaravelUserID
		setDuration(&f.MaxIdle, DefaultLaravelLifetime)
	}
	if f := s.Files; f != nil && f.Preset == PresetPHP {
		cookie = DefaultPHPCookie
		if f.SerializeHandler == "" {
			f.SerializeHandler = "php"
		}
		setDuration(&f.MaxIdle, DefaultPHPMaxIdle)
	}
	if c := s.SignedCookie; c != nil {
		switch c.Preset {
		case PresetDjango:
			cookie, userID = DefaultDjangoCookie, DefaultDjangoUserID
			setDuration(&c.MaxAge, DefaultDjangoCookieAge)
		case PresetFlask:
			cookie, userID = DefaultFlaskCookie, DefaultFlaskUserID
			setDuration(&c.MaxAge, DefaultFlaskLifetime)
		case PresetRails:
			userID = DefaultRailsUserID // the cookie is named after the app: no default
		}
	}
	if s.Cookie == "" {
		s.Cookie = cookie
	}
	if cfg.Identity.UserId == "" {
		cfg.Identity.UserId = userID
	}
}

// validateFrameworkStores names the framework stores configured, for the check
// that exactly one store is, and checks each.
func validateFrameworkStores(add func(string, string, ...any), s *configv1.Session) (stores []string) {
	if c := s.SignedCookie; c != nil {
		stores = append(stores, "signed_cookie")
		switch c.Preset {
		case PresetDjango, PresetFlask:
			checkPositive(add, "session.signed_cookie.max_age", c.MaxAge, false)
		case PresetRails:
			if c.MaxAge != nil {
				add("session.signed_cookie.max_age", "set, but a Rails cookie carries its own expiry")
			}
			if c.Salt != "" {
				add("session.signed_cookie.salt", "set, but Rails' cookies are bound to the cookie's name")
			}
		case "":
			add("session.signed_cookie.preset", "required: django, flask or rails")
		default:
			add("session.signed_cookie.preset", "%q is not one of django, flask, rails", c.Preset)
		}
	}
	if f := s.Files; f != nil {
		stores = append(stores, "files")
		if f.Preset != PresetPHP && f.Preset != PresetLaravel {
			add("session.files.preset", "%q is not a known preset (php, laravel)", f.Preset)
		}
		if f.Path == "" {
			add("session.files.path", "required: the folder of the session files (PHP's session.save_path, Laravel's storage/framework/sessions)")
		}
		if f.Preset == PresetLaravel {
			if f.SerializeHandler != "" {
				add("session.files.serialize_handler", "set, but Laravel's sessions have one format")
			}
		} else {
			checkSerializeHandler(add, "session.files.serialize_handler", f.SerializeHandler)
		}
		checkPositive(add, "session.files.max_idle", f.MaxIdle, false)
	}
	if r := s.Redis; r != nil && r.Preset == PresetPHPRedis {
		checkSerializeHandler(add, "session.redis.serialize_handler", r.SerializeHandler)
	} else if r != nil && r.SerializeHandler != "" {
		add("session.redis.serialize_handler", "set, but the preset is not phpredis")
	}
	if q := s.Sql; q != nil && q.UserQuery != "" {
		if q.Preset != PresetDjango {
			add("session.sql.user_query", "set, but the preset is not django")
		} else if q.Driver == "mysql" {
			if mysqlParams(q.UserQuery) != 1 {
				add("session.sql.user_query", "the query must take exactly one parameter, ?")
			}
		} else if params := placeholder.FindAllString(q.UserQuery, -1); len(params) == 0 {
			add("session.sql.user_query", "the query must take exactly one parameter, $1")
		} else {
			for _, p := range params {
				if p != "$1" {
					add("session.sql.user_query", "the query must take exactly one parameter, $1")
					break
				}
			}
		}
	}
	if q := s.Sql; q != nil {
		if q.IdleColumn != "" && q.MaxIdle == nil {
			add("session.sql.max_idle", "required with idle_column: how long after its last use a session is accepted")
		}
		if q.MaxIdle != nil && q.IdleColumn == "" {
			add("session.sql.max_idle", "set, but no idle_column says when the session was last used")
		}
		checkPositive(add, "session.sql.max_idle", q.MaxIdle, false)
	}
	needSecret := s.SignedCookie != nil || s.Sql.GetPreset() == PresetDjango || s.Sql.GetPreset() == PresetLaravel ||
		s.Files.GetPreset() == PresetLaravel || s.Redis.GetPreset() == PresetLaravel
	switch {
	case needSecret && len(s.AppSecretFiles) == 0:
		add("session.app_secret_files", "required by the %s preset: the file(s) holding the app's secret key (SECRET_KEY, APP_KEY)", FrameworkPreset(s))
	case !needSecret && len(s.AppSecretFiles) > 0:
		add("session.app_secret_files", "set, but no store reads the app's secret (signed_cookie, the django and laravel presets)")
	}
	for i, f := range s.AppSecretFiles {
		if f == "" {
			add(fmt.Sprintf("session.app_secret_files[%d]", i), "empty file name")
		}
	}
	return stores
}

func checkSerializeHandler(add func(string, string, ...any), field, h string) {
	if h != "php" && h != "php_serialize" {
		add(field, "%q is not one of php, php_serialize", h)
	}
}

// FrameworkPreset names the framework preset of a session config ("" when
// none), for messages and explain.
func FrameworkPreset(s *configv1.Session) string {
	switch {
	case s.GetSignedCookie() != nil:
		return s.SignedCookie.Preset
	case s.GetFiles() != nil:
		return s.Files.Preset
	case s.GetSql().GetPreset() == PresetDjango, s.GetSql().GetPreset() == PresetRails, s.GetSql().GetPreset() == PresetLaravel:
		return s.Sql.Preset
	case s.GetRedis().GetPreset() == PresetPHPRedis, s.GetRedis().GetPreset() == PresetLaravel, s.GetRedis().GetPreset() == PresetRails:
		return s.Redis.Preset
	}
	return ""
}
