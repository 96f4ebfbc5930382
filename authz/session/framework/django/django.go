// Package django reads Django's sessions: the signed values of
// django.core.signing (the signed_cookies backend, and session_data of the
// db and cached_db backends since Django 3.1) and session_data's legacy
// encoding (before 3.1), with the JSON serializer.
//
// A pickled session (Django's removed PickleSerializer) is refused, never
// unpickled. Keys are the app's SECRET_KEY followed by its
// SECRET_KEY_FALLBACKS: a value signed with any of them is accepted, as
// Django does while rotating.
package django

import (
	"bytes"
	"compress/zlib"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"hash"
	"strings"
	"time"

	"github.com/lbauthz/lbauthz/authz/session/framework"
)

// Salts of Django's session backends (django.contrib.sessions), for
// NewSigner.
const (
	// SaltSessionStore is session_data's salt for the db and cached_db
	// backends ("django.contrib.sessions." + the store's class name).
	SaltSessionStore = "django.contrib.sessions.SessionStore"
	// SaltSignedCookies is the signed_cookies backend's salt.
	SaltSignedCookies = "django.contrib.sessions.backends.signed_cookies"
	// legacySalt is the key salt of session_data's pre-3.1 encoding.
	legacySalt = "django.contrib.sessionsSessionStore"
)

// Formats named in refusals.
const (
	FormatSigned      = "django signed value"
	FormatSessionData = "django session_data"
)

// Signer verifies values signed by django.core.signing.TimestampSigner with
// one salt and the app's keys. It is safe for concurrent use.
type Signer struct {
	salt  string
	keys  []derivedKeys
	clock func() time.Time
}

// derivedKeys are the HMAC keys Django derives from one secret: for its
// signatures (salt + "signer", SHA-256 and Django 3.x's legacy SHA-1) and
// for session_data's legacy encoding.
type derivedKeys struct {
	sha256, sha1, legacy []byte
}

// NewSigner returns a signer for salt. keys are SECRET_KEY then
// SECRET_KEY_FALLBACKS, at least one, none empty.
func NewSigner(keys [][]byte, salt string) (*Signer, error) {
	if len(keys) == 0 {
		return nil, errors.New("django: no SECRET_KEY")
	}
	s := &Signer{salt: salt, clock: time.Now}
	for _, k := range keys {
		if len(k) == 0 {
			return nil, errors.New("django: an empty SECRET_KEY")
		}
		s.keys = append(s.keys, derivedKeys{
			sha256: saltedKey(sha256.New, salt+"signer", k),
			sha1:   saltedKey(sha1.New, salt+"signer", k),
			legacy: saltedKey(sha1.New, legacySalt, k),
		})
	}
	return s, nil
}

// saltedKey is the key of django.utils.crypto.salted_hmac: H(salt + secret).
func saltedKey(h func() hash.Hash, salt string, secret []byte) []byte {
	d := h()
	d.Write([]byte(salt))
	d.Write(secret)
	return d.Sum(nil)
}

// Load verifies a value of signing.dumps (payload:timestamp:signature) and
// returns its JSON object and when it was signed. maxAge, when positive,
// refuses a value signed longer ago (Django's max_age).
func (s *Signer) Load(value []byte, maxAge time.Duration) (map[string]any, time.Time, error) {
	if len(value) > framework.MaxInput {
		return nil, time.Time{}, framework.Refuse(FormatSigned, framework.StepTooLarge, "")
	}
	sigAt := bytes.LastIndexByte(value, ':')
	if sigAt < 0 {
		return nil, time.Time{}, framework.Refuse(FormatSigned, framework.StepMalformed, "no signature")
	}
	signed, sig := value[:sigAt], value[sigAt+1:]
	if !s.verify(signed, sig) {
		return nil, time.Time{}, framework.Refuse(FormatSigned, framework.StepBadMAC, "")
	}
	tsAt := bytes.LastIndexByte(signed, ':')
	if tsAt < 0 {
		return nil, time.Time{}, framework.Refuse(FormatSigned, framework.StepMalformed, "no timestamp")
	}
	ts, ok := base62(signed[tsAt+1:])
	if !ok {
		return nil, time.Time{}, framework.Refuse(FormatSigned, framework.StepMalformed, "bad timestamp")
	}
	signedAt := time.Unix(ts, 0)
	if maxAge > 0 && s.clock().Sub(signedAt) > maxAge {
		return nil, signedAt, framework.Refuse(FormatSigned, framework.StepExpired, "")
	}
	doc, err := payload(FormatSigned, signed[:tsAt])
	return doc, signedAt, err
}

// verify checks sig against each key: SHA-256 (Django 3.1+), and the SHA-1
// signatures Django 3.1 and 3.2 still accept. The signature's length says
// which.
func (s *Signer) verify(signed, sig []byte) bool {
	if len(sig) > base64.RawURLEncoding.EncodedLen(sha256.Size) {
		return false
	}
	var buf [sha256.Size]byte
	n, err := base64.RawURLEncoding.Decode(buf[:], sig)
	if err != nil {
		return false
	}
	got := buf[:n]
	ok := false
	for _, k := range s.keys {
		var key []byte
		var h func() hash.Hash
		switch n {
		case sha256.Size:
			key, h = k.sha256, sha256.New
		case sha1.Size:
			key, h = k.sha1, sha1.New
		default:
			return false
		}
		mac := hmac.New(h, key)
		mac.Write(signed)
		// Every key is tried: the time taken does not say which matched.
		if hmac.Equal(mac.Sum(nil), got) {
			ok = true
		}
	}
	return ok
}

// payload decodes signing.dumps' payload: base64 (URL alphabet, no
// padding) of the serialized session, zlib-compressed when it starts with
// ".".
func payload(format string, p []byte) (map[string]any, error) {
	compressed := len(p) > 0 && p[0] == '.'
	if compressed {
		p = p[1:]
	}
	data := make([]byte, base64.RawURLEncoding.DecodedLen(len(p)))
	n, err := base64.RawURLEncoding.Decode(data, p)
	if err != nil {
		return nil, framework.Refuse(format, framework.StepMalformed, "bad base64")
	}
	data = data[:n]
	if compressed {
		if data, err = framework.Inflate(format, data); err != nil {
			return nil, err
		}
	}
	return serialized(format, data)
}

// serialized decodes a session serialized by JSONSerializer, and refuses a
// pickled one (PickleSerializer writes pickle protocol 2 and up, which
// starts with 0x80) without reading it.
func serialized(format string, data []byte) (map[string]any, error) {
	if len(data) > 0 && data[0] == 0x80 {
		return nil, framework.Refuse(format, framework.StepPickled,
			"the app uses PickleSerializer; only JSONSerializer sessions are read")
	}
	return framework.DecodeJSONObject(format, data)
}

// DecodeSessionData decodes django_session.session_data: the signing format
// of Django 3.1 and later, or the legacy base64(hash:serialized) encoding of
// earlier versions, both checked with the keys. s must be made with
// SaltSessionStore (or a custom store's salt). Stored sessions have no
// max_age: the row's expire_date bounds them.
func (s *Signer) DecodeSessionData(data []byte) (map[string]any, error) {
	if len(data) > framework.MaxInput {
		return nil, framework.Refuse(FormatSessionData, framework.StepTooLarge, "")
	}
	// The signing format always holds ':' and base64 never does.
	if bytes.IndexByte(data, ':') >= 0 {
		doc, _, err := s.Load(data, 0)
		if err != nil {
			var r *framework.Refusal
			if errors.As(err, &r) {
				return nil, framework.Refuse(FormatSessionData, r.Step, r.Detail)
			}
		}
		return doc, err
	}
	return s.legacy(data)
}

// legacy decodes the pre-3.1 encoding: standard base64 of
// hex(HMAC-SHA1) + ":" + serialized.
func (s *Signer) legacy(data []byte) (map[string]any, error) {
	dec := make([]byte, base64.StdEncoding.DecodedLen(len(data)))
	n, err := base64.StdEncoding.Decode(dec, bytes.TrimSpace(data))
	if err != nil {
		return nil, framework.Refuse(FormatSessionData, framework.StepMalformed, "bad base64")
	}
	dec = dec[:n]
	colon := bytes.IndexByte(dec, ':')
	if colon != 2*sha1.Size {
		return nil, framework.Refuse(FormatSessionData, framework.StepMalformed, "no hash")
	}
	var want [sha1.Size]byte
	if _, err := hex.Decode(want[:], dec[:colon]); err != nil {
		return nil, framework.Refuse(FormatSessionData, framework.StepMalformed, "bad hash")
	}
	ser := dec[colon+1:]
	ok := false
	for _, k := range s.keys {
		mac := hmac.New(sha1.New, k.legacy)
		mac.Write(ser)
		if hmac.Equal(mac.Sum(nil), want[:]) {
			ok = true
		}
	}
	if !ok {
		return nil, framework.Refuse(FormatSessionData, framework.StepBadMAC, "")
	}
	return serialized(FormatSessionData, ser)
}

const base62Digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// base62 decodes Django's timestamps (django.utils.baseconv.base62).
func base62(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 10 { // 62^10 > 2^59: far past any date
		return 0, false
	}
	var n int64
	for _, c := range b {
		d := strings.IndexByte(base62Digits, c)
		if d < 0 {
			return 0, false
		}
		n = n*62 + int64(d)
	}
	return n, true
}

// Dump signs doc as signing.dumps(doc, salt, compress=True) does at time
// at, with the first key and SHA-256 (for tools and tests).
func (s *Signer) Dump(doc map[string]any, at time.Time) ([]byte, error) {
	data, err := json.Marshal(doc)
	if err != nil {
		return nil, err
	}
	p := base64.RawURLEncoding.EncodeToString(data)
	var zb bytes.Buffer
	zw := zlib.NewWriter(&zb)
	if _, err := zw.Write(data); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	if zb.Len() < len(data)-1 {
		p = "." + base64.RawURLEncoding.EncodeToString(zb.Bytes())
	}
	signed := p + ":" + encode62(at.Unix())
	mac := hmac.New(sha256.New, s.keys[0].sha256)
	mac.Write([]byte(signed))
	return []byte(signed + ":" + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))), nil
}

func encode62(n int64) string {
	if n <= 0 {
		return "0"
	}
	var b []byte
	for ; n > 0; n /= 62 {
		b = append([]byte{base62Digits[n%62]}, b...)
	}
	return string(b)
}
