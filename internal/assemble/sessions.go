package assemble

import (
	"fmt"
	"math"
	"net/http"

	"go.opentelemetry.io/otel/trace"

	"github.com/lbauthz/lbauthz/authz"
	"github.com/lbauthz/lbauthz/authz/config"
	"github.com/lbauthz/lbauthz/authz/session"
	configv1 "github.com/lbauthz/lbauthz/proto/lbauthz/config/v1"
)

// sessionsFromConfig builds the session resolver: the configured store
// (behind the express cookie check when the cookie is express-signed), the
// identity mapping, and the cache every store goes through.
func sessionsFromConfig(cfg *configv1.Config, sec *config.Secrets, b buildOptions) (*session.Resolver, error) {
	store, err := storeFromConfig(cfg, sec)
	if err != nil {
		return nil, err
	}
	var tracer trace.Tracer
	if b.tracing != nil {
		tracer = b.tracing.Tracer(authz.TracerName)
	}
	store = authz.ObserveStore(store, storeKind(cfg.Session), b.metrics, tracer)
	mapping, err := mappingFromConfig(cfg.Identity)
	if err != nil {
		return nil, err
	}
	if f := b.replicas.CacheStore; f != nil {
		store = f(store, identityPaths(mapping))
	}
	c := cfg.Session.Cache
	opts := session.CacheOptions{
		TTL: c.Ttl.AsDuration(), NegativeTTL: c.NegativeTtl.AsDuration(),
		MaxEntries: int(c.MaxEntries), MaxBytes: int64(min(c.MaxBytes, math.MaxInt64)), Disabled: c.Disabled,
	}
	if b.metrics != nil {
		opts.Observe = b.metrics.CacheLookup
	}
	return session.NewResolver(store, mapping, opts), nil
}

// moreSources builds the session sources of more_sessions, each from the
// config it reads with (config.SourceConfig) and its secrets.
func moreSources(cfg *configv1.Config, sec *config.Secrets, b buildOptions) ([]authz.Source, error) {
	var out []authz.Source
	for i := range cfg.MoreSessions {
		c := config.SourceConfig(cfg, i+1)
		r, err := sessionsFromConfig(c, sec.More[i], b)
		if err != nil {
			for _, s := range out {
				_ = s.Sessions.Close()
			}
			return nil, fmt.Errorf("more_sessions[%d]: %w", i, err)
		}
		out = append(out, authz.Source{Cookie: c.Session.Cookie, Bearer: c.Session.Bearer, Header: c.Session.Header,
			MaxBytes: int(c.Session.MaxCookieBytes), Sessions: r, StoreKind: storeKind(c.Session)})
	}
	return out, nil
}

// storeKind names the session store of a config, for metrics and explain,
// with its framework preset when it has one ("sql/django").
func storeKind(s *configv1.Session) string {
	if p := config.FrameworkPreset(s); p != "" {
		return baseStoreKind(s) + "/" + p
	}
	return baseStoreKind(s)
}

func baseStoreKind(s *configv1.Session) string {
	switch {
	case s.GetRedis() != nil:
		return "redis"
	case s.GetSql() != nil:
		return "sql"
	case s.GetIntrospection() != nil:
		return "introspection"
	case s.GetSignedCookie() != nil:
		return "signed_cookie"
	case s.GetFiles() != nil:
		return "files"
	}
	return "jwt"
}

func mappingFromConfig(id *configv1.Identity) (*session.Mapping, error) {
	m := &session.Mapping{UserID: id.UserId, GroupIDs: id.GroupIds, UserInfo: id.UserInfo}
	if g := id.Groups; g != nil {
		rules, err := session.NewGroupRules(g.Keep, g.Rename, g.Template)
		if err != nil {
			return nil, fmt.Errorf("identity.groups: %w", err)
		}
		m.Groups = rules
	}
	if id.OrganizationId != "" {
		org, err := session.NewOrganizationRule(id.OrganizationId, id.OrganizationTemplate)
		if err != nil {
			return nil, fmt.Errorf("identity.organization_id: %w", err)
		}
		m.Organization = org
	}
	return m, nil
}

func storeFromConfig(cfg *configv1.Config, sec *config.Secrets) (session.Store, error) {
	s := cfg.Session
	var store session.Store
	var err error
	switch {
	case s.Redis != nil:
		store, err = redisStore(s.Redis, sec)
	case s.Sql != nil:
		store, err = sqlStore(s.Sql, cfg.Identity, sec)
	case s.Introspection != nil:
		store, err = introspectionStore(s.Introspection, s)
	case s.SignedCookie != nil:
		store, err = signedCookieStore(s.SignedCookie, s.Cookie, sec) // build_session_frameworks.go
	case s.Files != nil:
		store, err = phpFilesStore(s.Files, sec)
	default:
		store, err = jwtStore(s.Jwt, sec)
	}
	if err != nil {
		return nil, err
	}
	if store, err = frameworkCookie(s, sec, store); err != nil { // build_session_frameworks.go
		return nil, err
	}
	if s.CookieFormat == config.CookieFormatExpress {
		ec, err := session.NewExpressCookie(sec.Session.CookieSecrets, store)
		if err != nil {
			return nil, fmt.Errorf("session.cookie_secret_files: %w", err)
		}
		store = ec
	}
	return store, nil
}

func jwtStore(j *configv1.JWT, sec *config.Secrets) (session.Store, error) {
	opts := session.JWTOptions{
		Algorithms: j.Algorithms, HMACSecret: sec.HMACSecret,
		Issuer: j.Issuer, Audience: j.Audience, Leeway: j.Leeway.AsDuration(),
		ExpOptional: j.RequireExp != nil && !*j.RequireExp,
	}
	if len(sec.PublicKeysPEM) > 0 {
		keys, err := session.ParsePublicKeys(sec.PublicKeysPEM)
		if err != nil {
			return nil, fmt.Errorf("session.jwt.public_key_file: %w", err)
		}
		opts.PublicKeys = keys
	}
	if j.JwksUrl != "" {
		jwks, err := session.NewJWKS(session.JWKSOptions{
			URL: j.JwksUrl, Refresh: j.JwksRefresh.AsDuration(),
			MinInterval: j.JwksMinInterval.AsDuration(), Timeout: j.JwksTimeout.AsDuration(),
		})
		if err != nil {
			return nil, fmt.Errorf("session.jwt.jwks_url: %w", err)
		}
		opts.JWKS = jwks
	}
	st, err := session.NewJWTStore(opts)
	if err != nil {
		return nil, fmt.Errorf("session.jwt: %w", err)
	}
	return st, nil
}

func redisStore(r *configv1.Redis, sec *config.Secrets) (session.Store, error) {
	decode, err := redisDecoder(r, sec) // build_session_frameworks.go
	if err != nil {
		return nil, err
	}
	st, err := session.NewRedisStore(session.RedisOptions{
		Decode:  decode,
		Address: r.Address, Username: r.Username, Password: sec.Session.RedisPassword,
		DB: int(r.Db), TLS: r.Tls, PoolSize: int(r.PoolSize),
		KeyTemplate: r.KeyTemplate, ExpiresPath: r.ExpiresPath, Timeout: r.Timeout.AsDuration(),
	})
	if err != nil {
		return nil, fmt.Errorf("session.redis: %w", err)
	}
	switch r.Preset {
	case config.PresetPHPRedis:
		return session.PHPSessionID{Next: st}, nil
	case config.PresetRails:
		return session.RackSessionID{Next: st}, nil // the key template holds Rack's "2::"
	}
	return st, nil
}

func sqlStore(q *configv1.SQL, id *configv1.Identity, sec *config.Secrets) (session.Store, error) {
	decode, err := sqlDecoder(q, sec) // build_session_frameworks.go
	if err != nil {
		return nil, err
	}
	userQuery, checkUser, err := sqlUserCheck(q, sec) // build_session_frameworks.go
	if err != nil {
		return nil, err
	}
	st, err := session.NewSQLStore(session.SQLOptions{
		DecodeColumn: decode, UserQuery: userQuery, CheckUser: checkUser,
		Driver: q.Driver, DSN: q.Dsn, Password: sec.Session.SQLPassword,
		Query: q.Query, JSONColumn: q.JsonColumn, ExpiresColumn: q.ExpiresColumn,
		IdleColumn: q.IdleColumn, MaxIdle: q.MaxIdle.AsDuration(),
		GroupsQuery: q.GroupsQuery, UserIDPath: id.UserId, GroupsKey: config.DefaultGroupsKey,
		Timeout: q.Timeout.AsDuration(), ConnectTimeout: q.ConnectTimeout.AsDuration(),
		MaxConns: int32(q.MaxConnections),
	})
	if err != nil {
		return nil, fmt.Errorf("session.sql: %w", err)
	}
	if q.Preset == config.PresetRails {
		return session.RackSessionID{Next: st, Prefix: "2::"}, nil
	}
	return st, nil
}

func introspectionStore(i *configv1.Introspection, s *configv1.Session) (session.Store, error) {
	h := http.Header{}
	for k, v := range i.Headers {
		h.Set(k, v)
	}
	st, err := session.NewIntrospectionStore(session.IntrospectionOptions{
		URL: i.Url, CookieName: s.Cookie, Bearer: s.Bearer, SendHeader: s.Header, Header: h, Timeout: i.Timeout.AsDuration(),
	})
	if err != nil {
		return nil, fmt.Errorf("session.introspection: %w", err)
	}
	return st, nil
}

// identityPaths are the paths of a session document that the identity is
// made of: what a shared cache keeps.
func identityPaths(m *session.Mapping) []string {
	keep := []string{m.UserID}
	if m.GroupIDs != "" {
		keep = append(keep, m.GroupIDs)
	}
	for _, p := range m.UserInfo {
		keep = append(keep, p)
	}
	return keep
}
