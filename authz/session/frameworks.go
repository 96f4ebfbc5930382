package session

import (
	"bytes"
	"context"
	"errors"
	"net/url"
	"time"

	"github.com/lbauthz/lbauthz/authz/session/framework"
	"github.com/lbauthz/lbauthz/authz/session/framework/django"
	"github.com/lbauthz/lbauthz/authz/session/framework/flask"
	"github.com/lbauthz/lbauthz/authz/session/framework/php"
	"github.com/lbauthz/lbauthz/authz/session/framework/rails"
)

// refused turns a framework decoder's refusal into an *InvalidError whose
// reason names the format and the step ("django signed value: bad
// signature"); other errors are returned as they are.
func refused(err error) error {
	var r *framework.Refusal
	if errors.As(err, &r) {
		return &InvalidError{Reason: r.Error(), Step: r.Step}
	}
	return err
}

// DjangoSessionData returns a decoder of django_session.session_data (for
// SQLOptions.DecodeColumn), checked with the app's SECRET_KEY and
// fallbacks. salt "" is the db and cached_db backends' own.
func DjangoSessionData(keys [][]byte, salt string) (func([]byte) (map[string]any, error), error) {
	if salt == "" {
		salt = django.SaltSessionStore
	}
	s, err := django.NewSigner(keys, salt)
	if err != nil {
		return nil, err
	}
	return func(b []byte) (map[string]any, error) {
		doc, err := s.DecodeSessionData(b)
		return doc, refused(err)
	}, nil
}

// DjangoUserCheck returns the check of a session's user (for
// SQLOptions.CheckUser) that django.contrib.auth makes: the user is active
// (is_active) and the session's "_auth_user_hash" is still the hash of the
// user's password, so a password change or a deactivation ends the user's
// other sessions here as in Django. user holds the columns "password" and
// "is_active" (a boolean, or MySQL's 0 or 1).
func DjangoUserCheck(keys [][]byte) (func(doc, user map[string]any) error, error) {
	a, err := django.NewAuthHash(keys)
	if err != nil {
		return nil, err
	}
	return func(doc, user map[string]any) error {
		if !truthy(user["is_active"]) {
			return &InvalidError{Reason: "django session: the user is not active", Step: "inactive user"}
		}
		password, _ := user["password"].(string)
		hash, _ := doc["_auth_user_hash"].(string)
		if password == "" || !a.Valid(hash, password) {
			return &InvalidError{Reason: "django session: the password changed since the login", Step: "password changed"}
		}
		return nil
	}, nil
}

// truthy reads a boolean column: a bool (PostgreSQL) or a number
// (MySQL's BOOLEAN is TINYINT(1)).
func truthy(v any) bool {
	switch x := v.(type) {
	case bool:
		return x
	case int64:
		return x != 0
	}
	return false
}

// PHPSessionData returns a decoder of PHP's session data (for
// RedisOptions.Decode) written by the serialize handler ("php" or
// "php_serialize").
func PHPSessionData(handler string) (func([]byte) (map[string]any, error), error) {
	switch handler {
	case "", php.HandlerPHP, php.HandlerPHPSerialize:
	default:
		return nil, errors.New("php: serialize handler " + handler + " is not one of php, php_serialize")
	}
	return func(b []byte) (map[string]any, error) {
		doc, err := php.DecodeSession(b, handler)
		return doc, refused(err)
	}, nil
}

// PHPSessionID checks a PHP session id before it names a Redis key or a
// file.
type PHPSessionID struct{ Next Store }

// Lookup refuses an id PHP would not have made, and asks the next store
// for the others.
func (p PHPSessionID) Lookup(ctx context.Context, id string) (Data, error) {
	if !php.ValidSessionID(id) {
		return Data{}, Invalid("php session: malformed (not a PHP session id)")
	}
	return p.Next.Lookup(ctx, id)
}

// Close closes the next store.
func (p PHPSessionID) Close() error { return closeStore(p.Next) }

// RailsStoredSession returns a decoder of a session that a Rails
// server-side store wrote (redis-store, activerecord-session_store), for
// RedisOptions.Decode and SQLOptions.DecodeColumn: JSON only, a Marshal
// dump refused unread. format names the store in refusals.
func RailsStoredSession(format string) func([]byte) (map[string]any, error) {
	return func(b []byte) (map[string]any, error) {
		doc, err := rails.DecodeStoredSession(format, b)
		return doc, refused(err)
	}
}

// RackSessionID reads the public session id of a Rack session cookie
// (Rails' Redis and ActiveRecord session stores) and asks the next store
// for Prefix and the id's SHA-256, the private id under which Rack 2.0.8
// and later keep the session. Sessions kept under the public id itself
// (written before that version) are not read: the cookie could then name
// another session's private id.
type RackSessionID struct {
	Next Store
	// Prefix goes before the hash: "2::" (Rack's version) for a SQL
	// column; "" for Redis, whose key template holds it.
	Prefix string
}

// Lookup refuses a value that is not a Rack session id (hex digits) and
// asks the next store for the others' private id.
func (r RackSessionID) Lookup(ctx context.Context, value string) (Data, error) {
	hash, ok := rails.PrivateSessionID(value)
	if !ok {
		return Data{}, &InvalidError{Reason: "rails session id: " + framework.StepMalformed + " (not a Rack session id)", Step: framework.StepMalformed}
	}
	return r.Next.Lookup(ctx, r.Prefix+hash)
}

// Close closes the next store.
func (r RackSessionID) Close() error { return closeStore(r.Next) }

// SignedCookieStore reads a session the app's framework keeps in the cookie
// itself (Django's signed_cookies backend, Flask's default session). A
// lookup is a signature check and a decode, without I/O.
type SignedCookieStore struct {
	// load returns the session and when it was signed, or, with
	// expiresAt, when it ends.
	load      func([]byte) (map[string]any, time.Time, error)
	maxAge    time.Duration
	expiresAt bool
}

// Cookie presets of NewSignedCookieStore.
const (
	SignedCookieDjango = "django"
	SignedCookieFlask  = "flask"
	SignedCookieRails  = "rails"
)

// NewSignedCookieStore returns a store for preset ("django", "flask" or
// "rails") with the app's secret keys (the current one first, then the
// fallbacks), the app's cookie age and its signing salt ("" for the
// framework's). Rails' cookies are bound to the cookie's name: salt is
// that name for "rails".
func NewSignedCookieStore(preset string, keys [][]byte, maxAge time.Duration, salt string) (*SignedCookieStore, error) {
	st := &SignedCookieStore{maxAge: maxAge}
	switch preset {
	case SignedCookieDjango:
		if salt == "" {
			salt = django.SaltSignedCookies
		}
		s, err := django.NewSigner(keys, salt)
		if err != nil {
			return nil, err
		}
		st.load = func(b []byte) (map[string]any, time.Time, error) { return s.Load(b, maxAge) }
	case SignedCookieFlask:
		c, err := flask.NewCodec(keys, salt)
		if err != nil {
			return nil, err
		}
		st.load = func(b []byte) (map[string]any, time.Time, error) { return c.Load(b, maxAge) }
	case SignedCookieRails:
		c, err := rails.NewCodec(keys)
		if err != nil {
			return nil, err
		}
		name := salt
		// Rails' expiry is in the cookie's metadata, not an age.
		st.maxAge = 0
		st.load = func(b []byte) (map[string]any, time.Time, error) {
			if bytes.IndexByte(b, '%') >= 0 {
				u, err := url.PathUnescape(string(b))
				if err != nil {
					return nil, time.Time{}, framework.Refuse(rails.Format, framework.StepMalformed, "bad URL encoding")
				}
				b = []byte(u)
			}
			doc, exp, err := c.Load(b, name, time.Now())
			return doc, exp, err
		}
		st.expiresAt = true
	default:
		return nil, errors.New("signed cookie: preset " + preset + " is not one of django, flask, rails")
	}
	return st, nil
}

// Lookup checks the cookie's signature and age and returns its session,
// which ends maxAge after it was signed.
func (s *SignedCookieStore) Lookup(_ context.Context, value string) (Data, error) {
	doc, signedAt, err := s.load([]byte(value))
	if err != nil {
		return Data{}, refused(err)
	}
	d := Data{Doc: doc}
	switch {
	case s.expiresAt:
		d.Expires = signedAt
	case s.maxAge > 0:
		d.Expires = signedAt.Add(s.maxAge)
	}
	return d, nil
}
