package laravel

import (
	"encoding/base64"
	"encoding/json"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/lbauthz/lbauthz/authz/session/framework"
)

// vectors are fixtures of Laravel's documented formats made with PHP's own
// openssl_* functions (testdata/make_vectors.php), not by Laravel, which
// is not in Debian.
func loadVectors(t testing.TB) map[string]string {
	t.Helper()
	b, err := os.ReadFile("testdata/vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var v map[string]string
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

func encrypter(t testing.TB, keys ...string) *Encrypter {
	t.Helper()
	e, err := NewEncrypter(keys)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestEncrypter_ReadsTheSessionIDOfLaravelFormatCookies(t *testing.T) {
	v := loadVectors(t)
	e := encrypter(t, v["app_key"], v["old_app_key"])
	for _, name := range []string{"cbc_cookie", "gcm_cookie", "old_key_cookie"} {
		id, err := e.SessionID(DefaultCookie, []byte(v[name]))
		if err != nil || id != v["session_id"] {
			t.Fatalf("%s: id %q err %v", name, id, err)
		}
	}
}

func TestEncrypter_RefusesForgeries(t *testing.T) {
	v := loadVectors(t)
	e := encrypter(t, v["app_key"])
	// A payload whose MAC was removed: CBC without a MAC is never
	// decrypted.
	raw, _ := base64.StdEncoding.DecodeString(v["cbc_cookie"])
	var p map[string]string
	_ = json.Unmarshal(raw, &p)
	p["mac"] = ""
	noMAC, _ := json.Marshal(p)
	p["mac"] = strings.Repeat("0", 64)
	zeroMAC, _ := json.Marshal(p)
	for _, c := range []struct{ name, value, step string }{
		{"WrongKey", v["old_key_cookie"], framework.StepBadMAC},
		{"BadMAC", base64.StdEncoding.EncodeToString(zeroMAC), framework.StepBadMAC},
		{"NoMAC", base64.StdEncoding.EncodeToString(noMAC), framework.StepMalformed},
		{"Truncated", v["cbc_cookie"][:len(v["cbc_cookie"])-12], framework.StepMalformed},
		{"AnotherCookiesValue", v["other_cookie_name"], framework.StepBadMAC},
		{"Oversized", strings.Repeat("A", framework.MaxInput+4), framework.StepTooLarge},
		{"NotBase64", "%%%", framework.StepMalformed},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := e.SessionID(DefaultCookie, []byte(c.value))
			if framework.StepOf(err) != c.step {
				t.Fatalf("err = %v, want step %q", err, c.step)
			}
		})
	}
}

func TestDecodeSession_ReadsEveryDriversPayload(t *testing.T) {
	v := loadVectors(t)
	e := encrypter(t, v["app_key"], v["old_app_key"])
	for _, c := range []struct {
		name string
		b64  bool
	}{
		{"file_payload", false}, {"database_payload", true}, {"cache_payload", false},
		{"encrypted_file_payload", false}, {"encrypted_database_payload", true},
		{"encrypted_cache_payload", false}, {"encrypted_old_key_payload", false},
	} {
		doc, err := DecodeSession([]byte(v[c.name]), c.b64, e)
		if err != nil || doc[UserIDKey] != int64(42) {
			t.Fatalf("%s: doc %v err %v", c.name, doc, err)
		}
	}
	if _, err := DecodeSession([]byte(`a:1:{s:1:"u";O:8:"stdClass":0:{}}`), false, e); framework.StepOf(err) != framework.StepObject {
		t.Fatalf("an object: %v", err)
	}
}

func TestDecodeSession_RefusesForgedEncryptedPayloads(t *testing.T) {
	v := loadVectors(t)
	e := encrypter(t, v["app_key"])
	enc := v["encrypted_file_payload"]
	raw, _ := base64.StdEncoding.DecodeString(enc)
	var p map[string]string
	_ = json.Unmarshal(raw, &p)
	p["mac"] = strings.Repeat("0", 64)
	badMAC, _ := json.Marshal(p)
	// serialize() of a string holding serialize() of a string ...: more
	// layers than any driver writes.
	nested := `a:0:{}`
	for range maxLayers + 1 {
		nested = `s:` + strconv.Itoa(len(nested)) + `:"` + nested + `";`
	}
	for _, c := range []struct {
		name, value string
		enc         *Encrypter
		step        string
	}{
		{"WrongKey", v["encrypted_old_key_payload"], e, framework.StepBadMAC},
		{"BadMAC", base64.StdEncoding.EncodeToString(badMAC), e, framework.StepBadMAC},
		{"Truncated", enc[:len(enc)-12], e, framework.StepMalformed},
		{"WithoutTheKey", enc, nil, framework.StepUnsupported},
		{"Oversized", strings.Repeat("a", framework.MaxInput+1), e, framework.StepTooLarge},
		{"TooManyLayers", nested, e, framework.StepMalformed},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := DecodeSession([]byte(c.value), false, c.enc)
			if framework.StepOf(err) != c.step {
				t.Fatalf("err = %v, want step %q", err, c.step)
			}
			if err != nil && strings.Contains(err.Error(), "laravel cookie") {
				t.Fatalf("a payload's refusal names the cookie: %v", err)
			}
		})
	}
}

func BenchmarkEncrypter_SessionID(b *testing.B) {
	v := loadVectors(b)
	e := encrypter(b, v["app_key"])
	val := []byte(v["cbc_cookie"])
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.SessionID(DefaultCookie, val); err != nil {
			b.Fatal(err)
		}
	}
}

// FuzzEncrypter feeds arbitrary cookie values and payloads: no panic, and
// either a result or a typed refusal.
func FuzzEncrypter(f *testing.F) {
	v := loadVectors(f)
	for _, k := range []string{"cbc_cookie", "gcm_cookie", "old_key_cookie", "file_payload", "cache_payload",
		"encrypted_file_payload", "encrypted_cache_payload"} {
		f.Add([]byte(v[k]))
	}
	e := encrypter(f, v["app_key"])
	f.Fuzz(func(t *testing.T, in []byte) {
		if _, err := e.SessionID(DefaultCookie, in); err != nil && framework.StepOf(err) == "" {
			t.Fatal(err)
		}
		for _, b64 := range []bool{false, true} {
			if doc, err := DecodeSession(in, b64, e); err == nil && doc == nil || err != nil && framework.StepOf(err) == "" {
				t.Fatalf("doc=%v err=%v", doc, err)
			}
		}
	})
}
