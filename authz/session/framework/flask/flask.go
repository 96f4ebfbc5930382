// Package flask reads Flask's default session cookie: an itsdangerous
// URLSafeTimedSerializer value (salt "cookie-session", HMAC key derivation,
// SHA-1), optionally zlib-compressed, holding Flask's tagged JSON.
//
// Keys are the app's SECRET_KEY and its fallbacks (SECRET_KEY_FALLBACKS):
// a cookie signed with any of them is accepted.
package flask

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"errors"
	"time"

	"github.com/lbauthz/lbauthz/authz/session/framework"
)

// Format is the name refusals give.
const Format = "flask session cookie"

// DefaultSalt is the salt of Flask's SecureCookieSessionInterface.
const DefaultSalt = "cookie-session"

// DefaultMaxAge is Flask's PERMANENT_SESSION_LIFETIME default (31 days):
// Flask refuses a cookie signed longer ago, permanent session or not.
const DefaultMaxAge = 31 * 24 * time.Hour

// Codec reads Flask session cookies. It is safe for concurrent use.
type Codec struct {
	keys  [][]byte // derived: HMAC-SHA1(secret, salt)
	clock func() time.Time
}

// NewCodec returns a codec for the app's secret keys (SECRET_KEY first, then
// fallbacks) and salt ("" for DefaultSalt).
func NewCodec(secrets [][]byte, salt string) (*Codec, error) {
	if len(secrets) == 0 {
		return nil, errors.New("flask: no SECRET_KEY")
	}
	if salt == "" {
		salt = DefaultSalt
	}
	c := &Codec{clock: time.Now}
	for _, s := range secrets {
		if len(s) == 0 {
			return nil, errors.New("flask: an empty SECRET_KEY")
		}
		mac := hmac.New(sha1.New, s)
		mac.Write([]byte(salt))
		c.keys = append(c.keys, mac.Sum(nil))
	}
	return c, nil
}

// Load verifies a cookie value (payload.timestamp.signature) and returns
// the session and when it was signed. A cookie signed more than maxAge ago
// is refused (maxAge <= 0: no limit).
func (c *Codec) Load(value []byte, maxAge time.Duration) (map[string]any, time.Time, error) {
	if len(value) > framework.MaxInput {
		return nil, time.Time{}, framework.Refuse(Format, framework.StepTooLarge, "")
	}
	dot := bytes.LastIndexByte(value, '.')
	if dot < 0 {
		return nil, time.Time{}, framework.Refuse(Format, framework.StepMalformed, "no signature")
	}
	signed, sig := value[:dot], value[dot+1:]
	if !c.verify(signed, sig) {
		return nil, time.Time{}, framework.Refuse(Format, framework.StepBadMAC, "")
	}
	dot = bytes.LastIndexByte(signed, '.')
	if dot < 0 {
		return nil, time.Time{}, framework.Refuse(Format, framework.StepMalformed, "no timestamp")
	}
	var tb [8]byte
	if len(signed)-dot-1 > base64.RawURLEncoding.EncodedLen(len(tb)) {
		return nil, time.Time{}, framework.Refuse(Format, framework.StepMalformed, "bad timestamp")
	}
	n, err := base64.RawURLEncoding.Decode(tb[:], signed[dot+1:])
	if err != nil || n == 0 {
		return nil, time.Time{}, framework.Refuse(Format, framework.StepMalformed, "bad timestamp")
	}
	var ts int64
	for _, b := range tb[:n] {
		ts = ts<<8 | int64(b)
	}
	signedAt := time.Unix(ts, 0)
	if maxAge > 0 && c.clock().Sub(signedAt) > maxAge {
		return nil, signedAt, framework.Refuse(Format, framework.StepExpired, "")
	}
	doc, err := payload(signed[:dot])
	return doc, signedAt, err
}

func (c *Codec) verify(signed, sig []byte) bool {
	if len(sig) != base64.RawURLEncoding.EncodedLen(sha1.Size) {
		return false
	}
	var got [sha1.Size]byte
	if _, err := base64.RawURLEncoding.Decode(got[:], sig); err != nil {
		return false
	}
	ok := false
	for _, k := range c.keys {
		mac := hmac.New(sha1.New, k)
		mac.Write(signed)
		if hmac.Equal(mac.Sum(nil), got[:]) {
			ok = true
		}
	}
	return ok
}

func payload(p []byte) (map[string]any, error) {
	compressed := len(p) > 0 && p[0] == '.'
	if compressed {
		p = p[1:]
	}
	data := make([]byte, base64.RawURLEncoding.DecodedLen(len(p)))
	n, err := base64.RawURLEncoding.Decode(data, p)
	if err != nil {
		return nil, framework.Refuse(Format, framework.StepMalformed, "bad base64")
	}
	data = data[:n]
	if compressed {
		if data, err = framework.Inflate(Format, data); err != nil {
			return nil, err
		}
	}
	doc, err := framework.DecodeJSONObject(Format, data)
	if err != nil {
		return nil, err
	}
	v := untag(doc)
	m, ok := v.(map[string]any)
	if !ok {
		return nil, framework.Refuse(Format, framework.StepMalformed, "not a session object")
	}
	return m, nil
}

// untag undoes Flask's TaggedJSONSerializer: a one-key object whose key is a
// tag (" t" tuple, " u" UUID, " b" bytes, " m" Markup, " d" date, " di" a
// dict whose keys look like tags) becomes the plain value: a list, or a
// string (bytes stay in their base64 form).
func untag(v any) any {
	switch x := v.(type) {
	case map[string]any:
		if len(x) == 1 {
			for k, inner := range x {
				switch k {
				case " t":
					return untag(inner)
				case " u", " b", " m", " d":
					if s, ok := inner.(string); ok {
						return s
					}
				case " di":
					if m, ok := inner.(map[string]any); ok {
						for mk, mv := range m {
							m[mk] = untag(mv)
						}
						return m
					}
				}
			}
		}
		for k, e := range x {
			x[k] = untag(e)
		}
		return x
	case []any:
		for i, e := range x {
			x[i] = untag(e)
		}
		return x
	}
	return v
}

// Dump signs doc as Flask does at time at, with the first key (for tools
// and tests). doc must hold plain JSON values.
func (c *Codec) Dump(doc map[string]any, at time.Time) ([]byte, error) {
	data, err := json.Marshal(doc)
	if err != nil {
		return nil, err
	}
	var ts [8]byte
	i := len(ts)
	for n := at.Unix(); n > 0; n >>= 8 {
		i--
		ts[i] = byte(n)
	}
	signed := base64.RawURLEncoding.EncodeToString(data) + "." + base64.RawURLEncoding.EncodeToString(ts[i:])
	mac := hmac.New(sha1.New, c.keys[0])
	mac.Write([]byte(signed))
	return []byte(signed + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))), nil
}
