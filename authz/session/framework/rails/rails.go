// Package rails reads the session of Rails' default cookie store: the
// encrypted cookie (AES-256-GCM since Rails 5.2, and the AES-256-CBC with
// HMAC-SHA1 of earlier versions), with keys derived from secret_key_base as
// Rails' key generator does (PBKDF2, 1000 iterations, SHA-1 up to Rails 6.1
// and SHA-256 from 7.0), the JSON cookie serializer and the message
// metadata (purpose and expiry) of Rails 5.2 and later.
//
// Secrets are secret_key_base and then older ones the app still accepts
// (cookie rotations): a cookie made with any of them is accepted.
package rails

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"hash"
	"time"

	"github.com/lbauthz/lbauthz/authz/session/framework"
)

// Format is the name refusals give.
const Format = "rails cookie"

// WardenUserID is the document key Load adds for Devise's user:
// Warden keeps it at "warden.user.user.key" as [[id], salt], which a
// dotted path cannot name.
const WardenUserID = "warden_user_user_id"

// Salts of Rails' cookie jar (config.action_dispatch.*_cookie_salt).
const (
	saltGCM     = "authenticated encrypted cookie"
	saltCBC     = "encrypted cookie"
	saltCBCSign = "signed encrypted cookie"
)

// Codec reads Rails cookie-store sessions. It is safe for concurrent use.
type Codec struct {
	gcm []cipher.AEAD
	cbc []cbcKeys
}

type cbcKeys struct{ enc, sign []byte }

// NewCodec derives the cookie keys of each secret_key_base, with both of
// the key generator's digests (SHA-1, Rails' default up to 6.1, and
// SHA-256, from 7.0).
func NewCodec(secrets [][]byte) (*Codec, error) {
	if len(secrets) == 0 {
		return nil, errors.New("rails: no secret_key_base")
	}
	c := &Codec{}
	for _, s := range secrets {
		if len(s) == 0 {
			return nil, errors.New("rails: an empty secret_key_base")
		}
		for _, h := range []func() hash.Hash{sha1.New, sha256.New} {
			k, err := pbkdf2.Key(h, string(s), []byte(saltGCM), 1000, 32)
			if err != nil {
				return nil, err
			}
			block, _ := aes.NewCipher(k)
			aead, _ := cipher.NewGCM(block)
			c.gcm = append(c.gcm, aead)
			enc, _ := pbkdf2.Key(h, string(s), []byte(saltCBC), 1000, 32)
			sign, _ := pbkdf2.Key(h, string(s), []byte(saltCBCSign), 1000, 64)
			c.cbc = append(c.cbc, cbcKeys{enc: enc, sign: sign})
		}
	}
	return c, nil
}

// Load decrypts a cookie value (URL-decoded) of the cookie named name and
// returns its session and when the cookie's metadata says it expires (zero
// when it does not). A cookie made for another name (its purpose) is
// refused.
func (c *Codec) Load(value []byte, name string, now time.Time) (map[string]any, time.Time, error) {
	if len(value) > framework.MaxInput {
		return nil, time.Time{}, framework.Refuse(Format, framework.StepTooLarge, "")
	}
	parts := bytes.Split(value, []byte("--"))
	var plain []byte
	var err error
	switch len(parts) {
	case 3:
		plain, err = c.openGCM(parts[0], parts[1], parts[2])
	case 2:
		plain, err = c.openCBC(parts[0], parts[1])
	default:
		err = framework.Refuse(Format, framework.StepMalformed, "not an encrypted cookie")
	}
	if err != nil {
		return nil, time.Time{}, err
	}
	return unwrap(plain, name, now)
}

func b64(b []byte) ([]byte, bool) {
	out := make([]byte, base64.StdEncoding.DecodedLen(len(b)))
	n, err := base64.StdEncoding.Strict().Decode(out, b)
	return out[:n], err == nil
}

func (c *Codec) openGCM(data, iv, tag []byte) ([]byte, error) {
	ct, ok1 := b64(data)
	nonce, ok2 := b64(iv)
	t, ok3 := b64(tag)
	if !ok1 || !ok2 || !ok3 || len(nonce) != 12 || len(t) != 16 {
		return nil, framework.Refuse(Format, framework.StepMalformed, "bad base64")
	}
	sealed := append(ct, t...)
	for _, a := range c.gcm {
		if plain, err := a.Open(nil, nonce, sealed, nil); err == nil {
			return plain, nil
		}
	}
	return nil, framework.Refuse(Format, framework.StepBadMAC, "")
}

// openCBC reads Rails' older format: base64(base64(data)--base64(iv)) and
// hex(HMAC-SHA1(sign key, that)).
func (c *Codec) openCBC(signed, digest []byte) ([]byte, error) {
	want, err := hex.DecodeString(string(digest))
	if err != nil || len(want) != sha1.Size {
		return nil, framework.Refuse(Format, framework.StepBadMAC, "")
	}
	for _, k := range c.cbc {
		mac := hmac.New(sha1.New, k.sign)
		mac.Write(signed)
		if !hmac.Equal(mac.Sum(nil), want) {
			continue
		}
		inner, ok := b64(signed)
		if !ok {
			return nil, framework.Refuse(Format, framework.StepMalformed, "bad base64")
		}
		parts := bytes.Split(inner, []byte("--"))
		if len(parts) != 2 {
			return nil, framework.Refuse(Format, framework.StepMalformed, "not an encrypted cookie")
		}
		ct, ok1 := b64(parts[0])
		iv, ok2 := b64(parts[1])
		if !ok1 || !ok2 || len(iv) != aes.BlockSize || len(ct) == 0 || len(ct)%aes.BlockSize != 0 {
			return nil, framework.Refuse(Format, framework.StepMalformed, "bad ciphertext")
		}
		block, _ := aes.NewCipher(k.enc)
		out := make([]byte, len(ct))
		cipher.NewCBCDecrypter(block, iv).CryptBlocks(out, ct)
		pad := int(out[len(out)-1])
		if pad == 0 || pad > aes.BlockSize {
			return nil, framework.Refuse(Format, framework.StepMalformed, "bad padding")
		}
		return out[:len(out)-pad], nil
	}
	return nil, framework.Refuse(Format, framework.StepBadMAC, "")
}

// unwrap reads the message metadata of Rails 5.2+ ({"_rails": {"message",
// "exp", "pur"}}) when there is one, then the session's JSON.
func unwrap(plain []byte, name string, now time.Time) (map[string]any, time.Time, error) {
	doc, err := decodeJSON(plain)
	if err != nil {
		return nil, time.Time{}, err
	}
	var exp time.Time
	if meta, ok := doc["_rails"].(map[string]any); ok && len(doc) == 1 {
		if pur, _ := meta["pur"].(string); pur != "" && pur != "cookie."+name {
			return nil, time.Time{}, framework.Refuse(Format, framework.StepBadMAC, "made for another cookie")
		}
		if e, ok := meta["exp"].(string); ok {
			t, err := time.Parse(time.RFC3339Nano, e)
			if err != nil {
				return nil, time.Time{}, framework.Refuse(Format, framework.StepMalformed, "bad expiry")
			}
			if !now.Before(t) {
				return nil, t, framework.Refuse(Format, framework.StepExpired, "")
			}
			exp = t
		}
		msg, _ := meta["message"].(string)
		inner, ok := b64([]byte(msg))
		if !ok {
			return nil, time.Time{}, framework.Refuse(Format, framework.StepMalformed, "bad message")
		}
		if doc, err = decodeJSON(inner); err != nil {
			return nil, time.Time{}, err
		}
	}
	wardenUser(doc)
	return doc, exp, nil
}

// decodeJSON reads the session as the :json cookie serializer writes it,
// and refuses, without reading it, one written by Ruby's Marshal (the
// :marshal serializer, whose data starts with its version, 4.8).
func decodeJSON(b []byte) (map[string]any, error) {
	if len(b) >= 2 && b[0] == 4 && b[1] == 8 {
		return nil, framework.Refuse(Format, framework.StepObject,
			"the app uses the Marshal cookie serializer; only :json cookies are read")
	}
	return framework.DecodeJSONObject(Format, b)
}
