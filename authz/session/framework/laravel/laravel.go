// Package laravel reads Laravel's sessions: the encrypted session cookie
// (Illuminate\Encryption\Encrypter with AES-256-CBC and HMAC-SHA256, or
// AES-GCM; the cookie value prefix of Laravel 6 and later) and the session
// payload (PHP's serialize() of the session array, through package php's
// unserializer, which builds only plain values).
//
// Keys are APP_KEY and then APP_PREVIOUS_KEYS, as Laravel's .env writes
// them ("base64:..." or raw): a cookie made with any of them is accepted.
package laravel

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"

	"github.com/lbauthz/lbauthz/authz/session/framework"
	"github.com/lbauthz/lbauthz/authz/session/framework/php"
)

// Formats named in refusals.
const (
	FormatCookie  = "laravel cookie"
	FormatSession = "laravel session"
)

// UserIDKey is where Laravel's web guard keeps the user id:
// "login_web_" + sha1("Illuminate\Auth\SessionGuard").
const UserIDKey = "login_web_59ba36addc2b2f9401580f014c7f58ea4e30989d"

// DefaultCookie is Laravel's session cookie name for APP_NAME "Laravel".
const DefaultCookie = "laravel_session"

// Encrypter decrypts what Laravel's Encrypter encrypted. It is safe for
// concurrent use.
type Encrypter struct {
	keys [][]byte
}

// ParseKey reads an APP_KEY as .env holds it: "base64:" and the key in
// base64, or the raw key. AES-128 takes 16 bytes, AES-256 32.
func ParseKey(s string) ([]byte, error) {
	k := []byte(s)
	if rest, ok := strings.CutPrefix(s, "base64:"); ok {
		var err error
		if k, err = base64.StdEncoding.DecodeString(rest); err != nil {
			return nil, errors.New("laravel: APP_KEY is not valid base64")
		}
	}
	if len(k) != 16 && len(k) != 32 {
		return nil, errors.New("laravel: APP_KEY must be 16 or 32 bytes (AES-128 or AES-256)")
	}
	return k, nil
}

// NewEncrypter returns an encrypter for APP_KEY and APP_PREVIOUS_KEYS, as
// .env writes them.
func NewEncrypter(keys []string) (*Encrypter, error) {
	if len(keys) == 0 {
		return nil, errors.New("laravel: no APP_KEY")
	}
	e := &Encrypter{}
	for _, s := range keys {
		k, err := ParseKey(s)
		if err != nil {
			return nil, err
		}
		e.keys = append(e.keys, k)
	}
	return e, nil
}

type payload struct {
	IV    string `json:"iv"`
	Value string `json:"value"`
	MAC   string `json:"mac"`
	Tag   string `json:"tag"`
}

// Decrypt checks and decrypts a payload of Encrypter::encrypt (base64 of
// {"iv","value","mac","tag"}) and returns the plaintext and the key that
// opened it. A CBC payload needs a valid MAC, a GCM one a valid tag: a
// payload with neither is refused.
func (e *Encrypter) Decrypt(value []byte) (plain, key []byte, err error) {
	return e.decrypt(FormatCookie, value)
}

func (e *Encrypter) decrypt(format string, value []byte) (plain, key []byte, err error) {
	refuse := func(step, detail string) ([]byte, []byte, error) {
		return nil, nil, framework.Refuse(format, step, detail)
	}
	if len(value) > framework.MaxInput {
		return refuse(framework.StepTooLarge, "")
	}
	raw := make([]byte, base64.StdEncoding.DecodedLen(len(value)))
	n, err := base64.StdEncoding.Decode(raw, value)
	if err != nil {
		return refuse(framework.StepMalformed, "bad base64")
	}
	var p payload
	if err := json.Unmarshal(raw[:n], &p); err != nil {
		return refuse(framework.StepMalformed, "not an encrypted payload")
	}
	iv, err1 := base64.StdEncoding.DecodeString(p.IV)
	ct, err2 := base64.StdEncoding.DecodeString(p.Value)
	if err1 != nil || err2 != nil || len(ct) == 0 {
		return refuse(framework.StepMalformed, "bad iv or value")
	}
	switch {
	case p.MAC != "" && len(iv) == aes.BlockSize:
		want, err := hex.DecodeString(p.MAC)
		if err != nil || len(want) != sha256.Size {
			return refuse(framework.StepBadMAC, "")
		}
		for _, k := range e.keys {
			mac := hmac.New(sha256.New, k)
			mac.Write([]byte(p.IV))
			mac.Write([]byte(p.Value))
			if !hmac.Equal(mac.Sum(nil), want) {
				continue
			}
			if plain, ok := decryptCBC(k, iv, ct); ok {
				return plain, k, nil
			}
			return refuse(framework.StepMalformed, "bad padding")
		}
		return refuse(framework.StepBadMAC, "")
	case p.Tag != "" && len(iv) == 12:
		tag, err := base64.StdEncoding.DecodeString(p.Tag)
		if err != nil || len(tag) != 16 {
			return refuse(framework.StepBadMAC, "")
		}
		for _, k := range e.keys {
			block, _ := aes.NewCipher(k)
			gcm, _ := cipher.NewGCM(block)
			if plain, err := gcm.Open(nil, iv, append(ct[:len(ct):len(ct)], tag...), nil); err == nil {
				return plain, k, nil
			}
		}
		return refuse(framework.StepBadMAC, "")
	}
	return refuse(framework.StepMalformed, "neither a MAC nor a tag")
}

func decryptCBC(key, iv, ct []byte) ([]byte, bool) {
	if len(ct)%aes.BlockSize != 0 {
		return nil, false
	}
	block, _ := aes.NewCipher(key)
	out := make([]byte, len(ct))
	cipher.NewCBCDecrypter(block, iv).CryptBlocks(out, ct)
	pad := int(out[len(out)-1])
	if pad == 0 || pad > aes.BlockSize || pad > len(out) {
		return nil, false
	}
	for _, b := range out[len(out)-pad:] {
		if int(b) != pad {
			return nil, false
		}
	}
	return out[:len(out)-pad], true
}

// SessionID returns the session id a session cookie holds: Laravel's
// EncryptCookies decrypts the value (not serialized) and checks its prefix,
// hex(HMAC-SHA1(key, cookieName + "v2")) + "|", which binds the value to the
// cookie's name.
func (e *Encrypter) SessionID(cookieName string, value []byte) (string, error) {
	plain, key, err := e.Decrypt(value)
	if err != nil {
		return "", err
	}
	mac := hmac.New(sha1.New, key)
	mac.Write([]byte(cookieName + "v2"))
	prefix := hex.EncodeToString(mac.Sum(nil)) + "|"
	if len(plain) < len(prefix) || subtle.ConstantTimeCompare(plain[:len(prefix)], []byte(prefix)) != 1 {
		return "", framework.Refuse(FormatCookie, framework.StepBadMAC, "the value is not this cookie's")
	}
	id := string(plain[len(prefix):])
	if !ValidSessionID(id) {
		return "", framework.Refuse(FormatCookie, framework.StepMalformed, "not a Laravel session id")
	}
	return id, nil
}

// ValidSessionID reports whether id has the shape of Laravel's session ids
// (Str::random(40): 40 letters and digits).
func ValidSessionID(id string) bool {
	if len(id) != 40 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}

// maxLayers bounds how many encodings (encryption, serialize() of a
// string) wrap one session.
const maxLayers = 4

// DecodeSession reads a stored session's payload: serialize() of the
// session array (the file driver), base64 of it (the database driver, with
// base64 set), or serialize() of that string (the Redis and other cache
// drivers). With SESSION_ENCRYPT, the payload (or, for the cache drivers,
// the string serialized) is Encrypter::encrypt of serialize() of that:
// it is decrypted with enc's keys, and refused when enc is nil. A payload
// is taken as encrypted when it is Base64 of a JSON object ("eyJ"), which a
// serialize() never starts with.
func DecodeSession(data []byte, base64Encoded bool, enc *Encrypter) (map[string]any, error) {
	if len(data) > framework.MaxInput {
		return nil, framework.Refuse(FormatSession, framework.StepTooLarge, "")
	}
	if base64Encoded {
		dec := make([]byte, base64.StdEncoding.DecodedLen(len(data)))
		n, err := base64.StdEncoding.Decode(dec, bytes.TrimSpace(data))
		if err != nil {
			return nil, framework.Refuse(FormatSession, framework.StepMalformed, "bad base64")
		}
		data = dec[:n]
	}
	var v any
	for layer := 0; ; layer++ {
		if layer == maxLayers {
			return nil, framework.Refuse(FormatSession, framework.StepMalformed, "too many layers")
		}
		if bytes.HasPrefix(data, []byte("eyJ")) {
			if enc == nil {
				return nil, framework.Refuse(FormatSession, framework.StepUnsupported, "an encrypted session (SESSION_ENCRYPT) without the app's key")
			}
			plain, _, err := enc.decrypt(FormatSession, data)
			if err != nil {
				return nil, err
			}
			data = plain
			continue
		}
		var err error
		if v, err = php.Unserialize(data); err != nil {
			return nil, err
		}
		s, ok := v.(string) // a cache driver's or the encrypter's serialize()
		if !ok {
			break
		}
		data = []byte(s)
	}
	switch x := v.(type) {
	case map[string]any:
		return x, nil
	case []any:
		if len(x) == 0 {
			return map[string]any{}, nil
		}
	}
	return nil, framework.Refuse(FormatSession, framework.StepMalformed, "not a session array")
}
