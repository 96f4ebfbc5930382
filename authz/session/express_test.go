package session

import (
	"net/url"
	"strings"
	"testing"
)

// A value signed by cookie-signature 1.0.7 (express-session's own copy):
// sign("uL4ZbTaGq2xQk3m0VvO1n8Bf5Jd7Hc9E", "keyboard cat"), as the browser
// sends it back (encodeURIComponent of "s:" + signed).
const nodeSigned = "s%3AuL4ZbTaGq2xQk3m0VvO1n8Bf5Jd7Hc9E.7YlmNv6y%2FD2%2BXarY10%2BGS9uDuWWgJvEpVPOLa1PQpZ4"

func TestUnsignExpress(t *testing.T) {
	secret := [][]byte{[]byte("keyboard cat")}
	id, err := UnsignExpress(nodeSigned, secret)
	if err != nil || id != "uL4ZbTaGq2xQk3m0VvO1n8Bf5Jd7Hc9E" {
		t.Fatalf("UnsignExpress = %q, %v", id, err)
	}
	// Not URL-encoded (a proxy or framework that decoded it) works too.
	if id2, err := UnsignExpress("s:uL4ZbTaGq2xQk3m0VvO1n8Bf5Jd7Hc9E.7YlmNv6y/D2+XarY10+GS9uDuWWgJvEpVPOLa1PQpZ4", secret); err != nil || id2 != id {
		t.Fatalf("decoded form: %q, %v", id2, err)
	}
	if got := SignExpress(id, secret[0]); got != "s:uL4ZbTaGq2xQk3m0VvO1n8Bf5Jd7Hc9E.7YlmNv6y/D2+XarY10+GS9uDuWWgJvEpVPOLa1PQpZ4" {
		t.Fatalf("SignExpress = %q", got)
	}
	rotated := [][]byte{[]byte("new secret"), []byte("keyboard cat")}
	if _, err := UnsignExpress(nodeSigned, rotated); err != nil {
		t.Fatalf("an old secret still listed: %v", err)
	}
	lastChar := nodeSigned[:len(nodeSigned)-1] + "5" // same bytes in loose base64, not in cookie-signature
	for name, v := range map[string]string{
		"wrong secret only":    "",
		"tampered id":          strings.Replace(nodeSigned, "uL4Z", "uL4Y", 1),
		"tampered signature":   strings.Replace(nodeSigned, "7Ylm", "7Ylx", 1),
		"other trailing bits":  lastChar,
		"padding added":        nodeSigned + "%3D",
		"no prefix":            strings.TrimPrefix(nodeSigned, "s%3A"),
		"no signature":         "s%3AuL4ZbTaGq2xQk3m0VvO1n8Bf5Jd7Hc9E",
		"empty signature":      "s%3AuL4ZbTaGq2xQk3m0VvO1n8Bf5Jd7Hc9E.",
		"bad URL escape":       "s%3AuL4Z%ZZ.abc",
		"signature not base64": "s%3Aabc.!!!!",
	} {
		secrets := secret
		if name == "wrong secret only" {
			v, secrets = nodeSigned, [][]byte{[]byte("another secret")}
		}
		if id, err := UnsignExpress(v, secrets); !IsInvalid(err) || id != "" {
			t.Errorf("%s: got %q, %v", name, id, err)
		} else if strings.Contains(err.Error(), "uL4Z") {
			t.Errorf("%s: the error holds the session id", name)
		}
	}
}

func FuzzUnsignExpress(f *testing.F) {
	f.Add(nodeSigned)
	f.Add("s:a.b")
	f.Add("%")
	secret := [][]byte{[]byte("keyboard cat")}
	f.Fuzz(func(t *testing.T, v string) {
		id, err := UnsignExpress(v, secret)
		if err == nil {
			// Accepted only what cookie-signature itself would have written.
			if u, _ := url.PathUnescape(v); SignExpress(id, secret[0]) != u {
				t.Fatalf("accepted %q", v)
			}
		}
		if err != nil && !IsInvalid(err) {
			t.Fatalf("error is not an *InvalidError: %v", err)
		}
	})
}
