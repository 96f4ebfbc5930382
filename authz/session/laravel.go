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

// LaravelSessionData decodes a Laravel session payload as the file driver
// (serialize()) and the cache drivers (serialize() of that) write it.
func LaravelSessionData(b []byte) (map[string]any, error) {
	doc, err := laravel.DecodeSession(b, false)
	return doc, refused(err)
}
