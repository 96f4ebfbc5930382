package rails

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"

	"github.com/lbauthz/lbauthz/authz/session/framework"
)

// Formats of the server-side stores, named in refusals.
const (
	FormatRedisStore        = "rails redis store"
	FormatActiveRecordStore = "rails activerecord store"
)

// marshalSignature starts every Ruby Marshal dump (format version 4.8).
var marshalSignature = []byte{4, 8}

// DecodeStoredSession reads a session that a Rails server-side store wrote
// as JSON: redis-store with `serializer: JSON`, or activerecord-session_store
// with the :json or :hybrid serializer. A Marshal dump (the default of both
// stores) is refused without being read, raw or in Base64 (the
// activerecord store's :marshal serializer). Devise's user is offered as
// WardenUserID, as for the cookie store.
func DecodeStoredSession(format string, b []byte) (map[string]any, error) {
	if len(b) > framework.MaxInput {
		return nil, framework.Refuse(format, framework.StepTooLarge, "")
	}
	if isMarshal(b) {
		return nil, framework.Refuse(format, framework.StepObject,
			"the app uses the Marshal serializer; only JSON sessions are read (serializer: JSON)")
	}
	doc, err := framework.DecodeJSONObject(format, b)
	if err != nil {
		return nil, err
	}
	wardenUser(doc)
	return doc, nil
}

// wardenUser adds WardenUserID from Devise/Warden's [[id], salt] under
// "warden.user.user.key".
func wardenUser(doc map[string]any) {
	if w, ok := doc["warden.user.user.key"].([]any); ok && len(w) > 0 {
		if ids, ok := w[0].([]any); ok && len(ids) == 1 {
			doc[WardenUserID] = ids[0]
		}
	}
}

// Bounds of a Rack session id: hex digits, 128 bits by default (Rack's
// sidbits option), from 64 up to 512 bits.
const (
	minSessionIDHex = 16
	maxSessionIDHex = 128
)

// PrivateSessionID returns the id under which Rack 2.0.8 and later (and so
// redis-rack and activerecord-session_store) keep the session of a cookie's
// public session id: the hex SHA-256 of it, without Rack's "2::" version
// prefix. ok is false when public is not a session id Rack makes (hex
// digits), such as a private id itself or a Rails signed cookie.
func PrivateSessionID(public string) (hash string, ok bool) {
	if len(public) < minSessionIDHex || len(public) > maxSessionIDHex {
		return "", false
	}
	for i := 0; i < len(public); i++ {
		c := public[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return "", false
		}
	}
	sum := sha256.Sum256([]byte(public))
	return hex.EncodeToString(sum[:]), true
}

// isMarshal reports whether b is a Marshal dump, raw or in Base64 (as the
// activerecord store's :marshal serializer writes it): only its first bytes
// are looked at.
func isMarshal(b []byte) bool {
	if bytes.HasPrefix(b, marshalSignature) {
		return true
	}
	b = bytes.TrimLeft(b, " \t\r\n")
	if len(b) < 4 {
		return false
	}
	var head [3]byte
	n, err := base64.StdEncoding.Decode(head[:], b[:4])
	return err == nil && n == 3 && bytes.HasPrefix(head[:], marshalSignature)
}
