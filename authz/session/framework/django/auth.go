package django

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"hash"
)

// authHashSalt is the key salt of AbstractBaseUser.get_session_auth_hash.
const authHashSalt = "django.contrib.auth.models.AbstractBaseUser.get_session_auth_hash"

// AuthHash checks the "_auth_user_hash" of a session against the user's
// password hash, as django.contrib.auth.get_user does: a session whose hash
// no longer matches (the password changed since the login) is no longer
// the user's. It is safe for concurrent use.
type AuthHash struct {
	keys []derivedAuthKeys
}

type derivedAuthKeys struct{ sha256, sha1 []byte }

// NewAuthHash returns a checker for SECRET_KEY and its fallbacks.
func NewAuthHash(keys [][]byte) (*AuthHash, error) {
	if len(keys) == 0 {
		return nil, errors.New("django: no SECRET_KEY")
	}
	a := &AuthHash{}
	for _, k := range keys {
		a.keys = append(a.keys, derivedAuthKeys{
			sha256: saltedKey(sha256.New, authHashSalt, k),
			sha1:   saltedKey(sha1.New, authHashSalt, k),
		})
	}
	return a, nil
}

// Valid reports whether sessionHash (hex) is the session auth hash of the
// password hash, with any key: SHA-256 (Django 3.1+) or the SHA-1 of
// earlier versions, which Django 3.x still accepts.
func (a *AuthHash) Valid(sessionHash, password string) bool {
	got, err := hex.DecodeString(sessionHash)
	if err != nil {
		return false
	}
	ok := false
	for _, k := range a.keys {
		var key []byte
		var h func() hash.Hash
		switch len(got) {
		case sha256.Size:
			key, h = k.sha256, sha256.New
		case sha1.Size:
			key, h = k.sha1, sha1.New
		default:
			return false
		}
		mac := hmac.New(h, key)
		mac.Write([]byte(password))
		if hmac.Equal(mac.Sum(nil), got) {
			ok = true
		}
	}
	return ok
}
