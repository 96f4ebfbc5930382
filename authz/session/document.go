package session

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"time"
)

// DecodeDocument reads a session document: a JSON object, numbers kept as
// json.Number (a numeric user id is not rounded).
func DecodeDocument(b []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var doc map[string]any
	if err := dec.Decode(&doc); err != nil {
		return nil, Invalid("the session is not a JSON object")
	}
	if doc == nil {
		return nil, Invalid("the session is not a JSON object")
	}
	if dec.More() {
		return nil, Invalid("the session is not one JSON object")
	}
	return doc, nil
}

// expiresAt reads when a session ends from a document's value: an RFC 3339
// time or a number of seconds since 1970. ok is false when there is no
// usable value.
func expiresAt(v any) (t time.Time, ok bool) {
	switch x := v.(type) {
	case string:
		if t, err := time.Parse(time.RFC3339Nano, x); err == nil {
			return t, true
		}
		if f, err := strconv.ParseFloat(strings.TrimSpace(x), 64); err == nil {
			return unixSeconds(f), true
		}
	case json.Number:
		if f, err := x.Float64(); err == nil {
			return unixSeconds(f), true
		}
	case float64:
		return unixSeconds(x), true
	case int64:
		return time.Unix(x, 0), true
	case time.Time:
		return x, !x.IsZero()
	}
	return time.Time{}, false
}

func unixSeconds(f float64) time.Time {
	sec := int64(f)
	return time.Unix(sec, int64((f-float64(sec))*1e9))
}

// earliest returns the earlier of two expiries, a zero one meaning none.
func earliest(a, b time.Time) time.Time {
	switch {
	case a.IsZero():
		return b
	case b.IsZero():
		return a
	case b.Before(a):
		return b
	}
	return a
}
