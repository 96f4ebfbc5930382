package config

import (
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/lbauthz/lbauthz/internal/mysqlpool"
	configv1 "github.com/lbauthz/lbauthz/proto/lbauthz/config/v1"
)

// Session store defaults and presets.
const (
	DefaultExpressCookie     = "connect.sid"
	DefaultJWKSRefresh       = time.Hour
	DefaultJWKSMinInterval   = 30 * time.Second
	DefaultJWKSTimeout       = 5 * time.Second
	DefaultRedisTimeout      = time.Second
	DefaultSQLTimeout        = time.Second
	DefaultSQLConnectTimeout = 2 * time.Second
	DefaultSQLMaxConns       = 10
	DefaultIntrospectTimeout = 2 * time.Second
	DefaultGroupsKey         = "groups"

	PresetConnectRedis    = "connect-redis"
	PresetConnectPGSimple = "connect-pg-simple"

	CookieFormatPlain   = "plain"
	CookieFormatExpress = "express"

	OnStoreErrorAnonymous   = "anonymous"
	OnStoreErrorUnavailable = "unavailable"
)

// ConnectPGSimpleQuery reads a session from connect-pg-simple's "session"
// table. The expiry is cast to timestamptz in the connection's time zone,
// which is how connect-pg-simple wrote it.
const ConnectPGSimpleQuery = `SELECT sess, expire::timestamptz AS expire FROM "session" WHERE sid = $1`

func applySessionDefaults(cfg *configv1.Config) {
	applyFrameworkDefaults(cfg) // session_frameworks.go
	s := cfg.Session
	express := false
	if j := s.Jwt; j != nil {
		setDuration(&j.Leeway, 0)
		if j.RequireExp == nil {
			required := true
			j.RequireExp = &required
		}
		if j.JwksUrl != "" {
			setDuration(&j.JwksRefresh, DefaultJWKSRefresh)
			setDuration(&j.JwksMinInterval, DefaultJWKSMinInterval)
			setDuration(&j.JwksTimeout, DefaultJWKSTimeout)
		}
	}
	if r := s.Redis; r != nil {
		if r.Preset == PresetConnectRedis {
			express = true
			if r.KeyTemplate == "" {
				r.KeyTemplate = "sess:{id}"
			}
			if r.ExpiresPath == "" {
				r.ExpiresPath = "cookie.expires"
			}
		}
		if r.KeyTemplate == "" {
			r.KeyTemplate = "{id}"
		}
		setDuration(&r.Timeout, DefaultRedisTimeout)
	}
	if q := s.Sql; q != nil {
		if q.Preset == PresetConnectPGSimple {
			express = true
			if q.Query == "" {
				q.Query = ConnectPGSimpleQuery
				if q.JsonColumn == "" {
					q.JsonColumn = "sess"
				}
				if q.ExpiresColumn == "" {
					q.ExpiresColumn = "expire"
				}
			}
		}
		if q.Driver == "" {
			q.Driver = "postgres"
		}
		setDuration(&q.Timeout, DefaultSQLTimeout)
		setDuration(&q.ConnectTimeout, DefaultSQLConnectTimeout)
		if q.MaxConnections == 0 {
			q.MaxConnections = DefaultSQLMaxConns
		}
		if q.GroupsQuery != "" && cfg.Identity != nil && cfg.Identity.GroupIds == "" {
			cfg.Identity.GroupIds = DefaultGroupsKey
		}
	}
	if i := s.Introspection; i != nil {
		setDuration(&i.Timeout, DefaultIntrospectTimeout)
	}
	if express {
		if s.Cookie == "" {
			s.Cookie = DefaultExpressCookie
		}
		if s.CookieFormat == "" {
			s.CookieFormat = CookieFormatExpress
		}
	}
	if s.CookieFormat == "" {
		s.CookieFormat = CookieFormatPlain
	}
	if s.OnStoreError == "" {
		s.OnStoreError = OnStoreErrorAnonymous
	}
}

// validateSession checks the session store (exactly one), the cookie format
// and what happens when the store is down.
func validateSession(add func(string, string, ...any), s *configv1.Session) {
	var stores []string
	if s.Jwt != nil {
		stores = append(stores, "jwt")
		validateJWT(add, s.Jwt)
	}
	if s.Redis != nil {
		stores = append(stores, "redis")
		validateRedis(add, s.Redis, s.CookieFormat)
	}
	if s.Sql != nil {
		stores = append(stores, "sql")
		validateSQL(add, s.Sql)
	}
	if s.Introspection != nil {
		stores = append(stores, "introspection")
		validateIntrospection(add, s.Introspection)
	}
	stores = append(stores, validateFrameworkStores(add, s)...) // session_frameworks.go
	switch len(stores) {
	case 0:
		add("session", "a session store is required (jwt, redis, sql, introspection, signed_cookie or files)")
	case 1:
	default:
		add("session", "exactly one session store may be configured, found %s", strings.Join(stores, ", "))
	}

	switch s.CookieFormat {
	case CookieFormatPlain:
		if len(s.CookieSecretFiles) > 0 {
			add("session.cookie_secret_files", `set, but session.cookie_format is "plain"`)
		}
	case CookieFormatExpress:
		if len(s.CookieSecretFiles) == 0 {
			add("session.cookie_secret_files", "required by the express cookie format: the file(s) holding express-session's secret")
		}
		if s.Redis == nil && s.Sql == nil {
			add("session.cookie_format", `"express" reads a session id, for the redis and sql stores`)
		}
	default:
		add("session.cookie_format", "%q is not one of plain, express", s.CookieFormat)
	}
	for i, f := range s.CookieSecretFiles {
		if f == "" {
			add(fmt.Sprintf("session.cookie_secret_files[%d]", i), "empty file name")
		}
	}
	switch s.OnStoreError {
	case OnStoreErrorAnonymous, OnStoreErrorUnavailable:
	default:
		add("session.on_store_error", "%q is not one of anonymous, unavailable", s.OnStoreError)
	}
}

func validateRedis(add func(string, string, ...any), r *configv1.Redis, cookieFormat string) {
	switch r.Preset {
	case "", PresetConnectRedis, PresetPHPRedis, PresetLaravel, PresetRails:
	default:
		add("session.redis.preset", "%q is not a known preset (connect-redis, phpredis, laravel, rails)", r.Preset)
	}
	if r.Address == "" {
		add("session.redis.address", "the host:port of the Redis server is required")
	} else if _, port, err := net.SplitHostPort(r.Address); err != nil || port == "" {
		add("session.redis.address", "%q is not a host:port address", r.Address)
	}
	if strings.Count(r.KeyTemplate, "{id}") != 1 {
		add("session.redis.key_template", "%q must hold \"{id}\" exactly once", r.KeyTemplate)
	} else if UnprefixedKeyTemplate(r.KeyTemplate) && cookieFormat == CookieFormatPlain {
		add("session.redis.key_template", "%q has no literal prefix: with session.cookie_format \"plain\" every key of the database would be a session whose name the client chooses; "+
			"set the prefix the app uses (e.g. \"sess:{id}\"), or read a signed cookie (session.cookie_format: express)", r.KeyTemplate)
	}
	if r.ExpiresPath != "" {
		checkPath(add, "session.redis.expires_path", r.ExpiresPath)
	}
	checkPositive(add, "session.redis.timeout", r.Timeout, false)
}

// placeholder finds PostgreSQL parameters ($1, $2, ...).
var placeholder = regexp.MustCompile(`\$([0-9]+)`)

func validateSQL(add func(string, string, ...any), q *configv1.SQL) {
	switch q.Preset {
	case "", PresetConnectPGSimple, PresetDjango, PresetRails, PresetLaravel:
	default:
		add("session.sql.preset", "%q is not a known preset (connect-pg-simple, django, rails, laravel)", q.Preset)
	}
	mysqlDriver := q.Driver == "mysql"
	switch q.Driver {
	case "postgres":
	case "mysql":
		if q.Preset == PresetConnectPGSimple {
			add("session.sql.driver", "%q: the %s preset is for postgres", q.Driver, q.Preset)
		}
	default:
		add("session.sql.driver", "%q is not one of postgres, mysql", q.Driver)
	}
	if q.Dsn == "" {
		add("session.sql.dsn", "the connection string is required")
	} else {
		checkDSN(add, "session.sql", q.Dsn, mysqlDriver)
	}
	param := "$1"
	if mysqlDriver {
		param = "?"
	}
	checkQuery := func(field, query string) {
		if mysqlDriver {
			if mysqlParams(query) != 1 {
				add(field, "the query must take exactly one parameter, ?")
			}
			return
		}
		params := map[string]bool{}
		for _, m := range placeholder.FindAllStringSubmatch(query, -1) {
			params[m[1]] = true
		}
		if len(params) != 1 || !params["1"] {
			add(field, "the query must take exactly one parameter, $1")
		}
	}
	if q.Query == "" {
		add("session.sql.query", "required: the query reading one session by its id (%s)", param)
	} else {
		checkQuery("session.sql.query", q.Query)
	}
	if q.GroupsQuery != "" {
		checkQuery("session.sql.groups_query", q.GroupsQuery)
	}
	if q.MaxConnections > 1000 {
		add("session.sql.max_connections", "%d is over the limit of 1000", q.MaxConnections)
	}
	checkPositive(add, "session.sql.timeout", q.Timeout, false)
	checkPositive(add, "session.sql.connect_timeout", q.ConnectTimeout, false)
}

// checkDSN checks the dsn of the SQL section at field: a MySQL DSN must
// parse, and neither form may hold a password (it goes in
// field.password_file). The DSN is never echoed: it can hold a password.
func checkDSN(add func(string, string, ...any), field, dsn string, mysqlDriver bool) {
	if mysqlDriver {
		if c, err := mysql.ParseDSN(dsn); err != nil {
			add(field+".dsn", "not a MySQL DSN, e.g. app@tcp(127.0.0.1:3306)/app")
		} else if c.Passwd != "" {
			add(field+".dsn", "holds a password: put it in %s.password_file", field)
		}
		return
	}
	if u, err := url.Parse(dsn); err == nil && u.User != nil {
		if _, has := u.User.Password(); has {
			add(field+".dsn", "holds a password: put it in %s.password_file", field)
		}
	}
}

// mysqlParams counts the ? parameters of a MySQL query, outside quoted
// strings and names and comments.
func mysqlParams(q string) int { return len(mysqlpool.Placeholders(q)) }

// UnprefixedKeyTemplate reports whether a Redis key template starts with
// the session id, so that the client's cookie chooses the whole key's start.
func UnprefixedKeyTemplate(t string) bool { return strings.HasPrefix(t, "{id}") }

func validateIntrospection(add func(string, string, ...any), i *configv1.Introspection) {
	checkURL(add, "session.introspection.url", i.Url, i.AllowInsecureHttp)
	for k := range i.Headers {
		n := strings.ToLower(k)
		if !isToken(n) {
			add("session.introspection.headers", "%q is not a valid header name", k)
		} else if n == "cookie" || n == "host" || n == "content-length" {
			add("session.introspection.headers", "%q is set by the sidecar", k)
		}
	}
	checkPositive(add, "session.introspection.timeout", i.Timeout, false)
}

func validateGroupRules(add func(string, string, ...any), g *configv1.GroupRules) {
	if g == nil {
		return
	}
	if g.Keep != "" {
		if _, err := regexp.Compile(g.Keep); err != nil {
			add("identity.groups.keep", "%q is not a regular expression: %v", g.Keep, err)
		}
	}
	if g.Template != "" && !strings.Contains(g.Template, "{value}") {
		add("identity.groups.template", "%q does not hold \"{value}\"", g.Template)
	}
	// The groups header joins the ids with ",": an id made with one would
	// always be dropped (session.HeaderSafeGroupID).
	if strings.Contains(g.Template, ",") {
		add("identity.groups.template", "%q holds a \",\", which separates the ids in the groups header", g.Template)
	}
	for k, v := range g.Rename {
		switch {
		case k == "" || v == "":
			add("identity.groups.rename", "%q -> %q: ids may not be empty", k, v)
		case strings.Contains(v, ","):
			add("identity.groups.rename", "%q -> %q: a \",\" separates the ids in the groups header", k, v)
		}
	}
}
