package session

import (
	"context"
	"errors"
	"net/url"
	"strings"

	"github.com/lbauthz/lbauthz/authz/session/framework/laravel"
)

// LaravelCookie reads the session id out of Laravel's encrypted session
// cookie (APP_KEY, then APP_PREVIOUS_KEYS) and asks the next store for it.
// A cookie that does not decrypt, or was made for another cookie name,
// never reaches the store.
type LaravelCookie struct {
	enc  *laravel.Encrypter
	name string
	next Store
}

// NewLaravelCookie returns a store for the cookie named name, with the
// app's keys as .env writes them ("base64:...").
func NewLaravelCookie(keys [][]byte, name string, next Store) (*LaravelCookie, error) {
	ks := make([]string, len(keys))
	for i, k := range keys {
		ks[i] = string(k)
	}
	enc, err := laravel.NewEncrypter(ks)
	if err != nil {
		return nil, err
	}
	if name == "" {
		return nil, errors.New("laravel: no cookie name")
	}
	return &LaravelCookie{enc: enc, name: name, next: next}, nil
}

// Lookup decrypts the cookie's value (URL-encoded or not) and looks its
// session id up.
func (l *LaravelCookie) Lookup(ctx context.Context, value string) (Data, error) {
	if strings.IndexByte(value, '%') >= 0 {
		v, err := url.PathUnescape(value)
		if err != nil {
			return Data{}, Invalid("laravel cookie: malformed (bad URL encoding)")
		}
		value = v
	}
	id, err := l.enc.SessionID(l.name, []byte(value))
	if err != nil {
		return Data{}, refused(err)
	}
	return l.next.Lookup(ctx, id)
}

// Close closes the next store.
func (l *LaravelCookie) Close() error { return closeStore(l.next) }

// LaravelSessionData returns a decoder of a Laravel session payload as the
// file driver (serialize()) and the cache drivers (serialize() of that)
// write it, encrypted or not (SESSION_ENCRYPT), with the app's keys as .env
// writes them (nil: no encrypted session is read).
func LaravelSessionData(keys [][]byte) (func([]byte) (map[string]any, error), error) {
	return laravelDecoder(keys, false)
}

// LaravelDatabaseSessionData returns a decoder of the database driver's
// payload column: base64 of what LaravelSessionData reads.
func LaravelDatabaseSessionData(keys [][]byte) (func([]byte) (map[string]any, error), error) {
	return laravelDecoder(keys, true)
}

func laravelDecoder(keys [][]byte, base64Encoded bool) (func([]byte) (map[string]any, error), error) {
	var enc *laravel.Encrypter
	if len(keys) > 0 {
		ks := make([]string, len(keys))
		for i, k := range keys {
			ks[i] = string(k)
		}
		var err error
		if enc, err = laravel.NewEncrypter(ks); err != nil {
			return nil, err
		}
	}
	return func(b []byte) (map[string]any, error) {
		doc, err := laravel.DecodeSession(b, base64Encoded, enc)
		return doc, refused(err)
	}, nil
}
