package assemble

import (
	"fmt"

	"github.com/lbauthz/lbauthz/authz/config"
	"github.com/lbauthz/lbauthz/authz/session"
	"github.com/lbauthz/lbauthz/authz/session/framework/rails"
	configv1 "github.com/lbauthz/lbauthz/proto/lbauthz/config/v1"
)

// The stores and decoders of web frameworks' own session formats (the
// framework presets of session.signed_cookie, session.files, session.sql
// and session.redis).

func signedCookieStore(c *configv1.SignedCookie, cookie string, sec *config.Secrets) (session.Store, error) {
	salt := c.Salt
	if c.Preset == config.PresetRails {
		salt = cookie // Rails binds a cookie to its name
	}
	st, err := session.NewSignedCookieStore(c.Preset, sec.Session.AppSecrets, c.MaxAge.AsDuration(), salt)
	if err != nil {
		return nil, fmt.Errorf("session.signed_cookie: %w", err)
	}
	return st, nil
}

func phpFilesStore(f *configv1.Files, sec *config.Secrets) (session.Store, error) {
	opts := session.PHPFilesOptions{
		Dir: f.Path, Handler: f.SerializeHandler, MaxIdle: f.MaxIdle.AsDuration(),
		Laravel: f.Preset == config.PresetLaravel,
	}
	if opts.Laravel {
		opts.LaravelKeys = sec.Session.AppSecrets
	}
	st, err := session.NewPHPFilesStore(opts)
	if err != nil {
		return nil, fmt.Errorf("session.files: %w", err)
	}
	return st, nil
}

// redisDecoder returns how a preset's sessions are read from Redis; nil
// for JSON documents.
func redisDecoder(r *configv1.Redis, sec *config.Secrets) (func([]byte) (map[string]any, error), error) {
	switch r.Preset {
	case config.PresetLaravel:
		return session.LaravelSessionData(sec.Session.AppSecrets)
	case config.PresetRails:
		return session.RailsStoredSession(rails.FormatRedisStore), nil
	}
	if r.Preset != config.PresetPHPRedis {
		return nil, nil
	}
	dec, err := session.PHPSessionData(r.SerializeHandler)
	if err != nil {
		return nil, fmt.Errorf("session.redis.serialize_handler: %w", err)
	}
	return dec, nil
}

// sqlDecoder returns how a preset's session column is read; nil for JSON
// documents.
func sqlDecoder(q *configv1.SQL, sec *config.Secrets) (func([]byte) (map[string]any, error), error) {
	switch q.Preset {
	case config.PresetRails:
		return session.RailsStoredSession(rails.FormatActiveRecordStore), nil
	case config.PresetLaravel:
		return session.LaravelDatabaseSessionData(sec.Session.AppSecrets)
	case config.PresetDjango:
	default:
		return nil, nil
	}
	dec, err := session.DjangoSessionData(sec.Session.AppSecrets, "")
	if err != nil {
		return nil, fmt.Errorf("session.app_secret_files: %w", err)
	}
	return dec, nil
}

// frameworkCookie puts the check of a framework's encrypted session cookie
// in front of the store that reads the session id (Laravel's presets).
func frameworkCookie(s *configv1.Session, sec *config.Secrets, store session.Store) (session.Store, error) {
	if s.Files.GetPreset() != config.PresetLaravel && s.Redis.GetPreset() != config.PresetLaravel && s.Sql.GetPreset() != config.PresetLaravel {
		return store, nil
	}
	lc, err := session.NewLaravelCookie(sec.Session.AppSecrets, s.Cookie, store)
	if err != nil {
		return nil, fmt.Errorf("session.app_secret_files: %w", err)
	}
	return lc, nil
}

// sqlUserCheck returns the query and check of a session's user that a
// preset makes (Django: active, and the password unchanged since the
// login); none for the others.
func sqlUserCheck(q *configv1.SQL, sec *config.Secrets) (string, func(doc, user map[string]any) error, error) {
	if q.Preset != config.PresetDjango || q.UserQuery == "" {
		return "", nil, nil
	}
	check, err := session.DjangoUserCheck(sec.Session.AppSecrets)
	if err != nil {
		return "", nil, fmt.Errorf("session.app_secret_files: %w", err)
	}
	return q.UserQuery, check, nil
}
