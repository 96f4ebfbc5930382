package session

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/url"
	"strings"
)

// ExpressCookie reads the session id out of express-session's signed cookie
// and asks the next store for it.
//
// express-session (through the cookie-signature package) writes
// "s:" + id + "." + base64(HMAC-SHA256(secret, id)) with the base64 padding
// removed, URL-encoded in the cookie ("s%3A..."). The signature is checked
// here, against each secret in turn (express-session's rotation), so a
// forged id never reaches the store.
type ExpressCookie struct {
	secrets [][]byte
	next    Store
}

// NewExpressCookie returns a store that checks the signature with secrets
// (at least one) and looks the id up in next.
func NewExpressCookie(secrets [][]byte, next Store) (*ExpressCookie, error) {
	if len(secrets) == 0 {
		return nil, errors.New("express cookie: no secret")
	}
	for _, s := range secrets {
		if len(s) == 0 {
			return nil, errors.New("express cookie: an empty secret")
		}
	}
	return &ExpressCookie{secrets: secrets, next: next}, nil
}

// Lookup checks the cookie's signature and looks its session id up.
func (e *ExpressCookie) Lookup(ctx context.Context, value string) (Data, error) {
	id, err := UnsignExpress(value, e.secrets)
	if err != nil {
		return Data{}, err
	}
	return e.next.Lookup(ctx, id)
}

// Close closes the next store when it holds resources.
func (e *ExpressCookie) Close() error { return closeStore(e.next) }

// UnsignExpress returns the session id of an express-session cookie value
// (as sent, URL-encoded or not), or an *InvalidError when it is not signed
// by one of secrets.
func UnsignExpress(value string, secrets [][]byte) (string, error) {
	if strings.IndexByte(value, '%') >= 0 {
		v, err := url.PathUnescape(value)
		if err != nil {
			return "", Invalid("malformed cookie (bad URL encoding)")
		}
		value = v
	}
	signed, ok := strings.CutPrefix(value, "s:")
	if !ok {
		return "", Invalid("cookie is not signed (no \"s:\" prefix)")
	}
	dot := strings.LastIndexByte(signed, '.')
	if dot <= 0 || dot == len(signed)-1 {
		return "", Invalid("malformed signed cookie")
	}
	id, sig := signed[:dot], signed[dot+1:]
	got, err := base64.RawStdEncoding.Strict().DecodeString(sig)
	if err != nil || len(got) != sha256.Size {
		return "", Invalid("bad cookie signature")
	}
	for _, secret := range secrets {
		mac := hmac.New(sha256.New, secret)
		mac.Write([]byte(id))
		if hmac.Equal(mac.Sum(nil), got) {
			return id, nil
		}
	}
	return "", Invalid("bad cookie signature")
}

// closeStore closes a store that holds resources (a connection pool).
func closeStore(s Store) error {
	if c, ok := s.(interface{ Close() error }); ok {
		return c.Close()
	}
	return nil
}
