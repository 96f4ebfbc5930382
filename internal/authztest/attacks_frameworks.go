package authztest

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lbauthz/lbauthz/authz/session/framework/django"
	"github.com/lbauthz/lbauthz/authz/session/framework/flask"
	"github.com/lbauthz/lbauthz/internal/testenv"
)

// The framework presets' forgeries: for each cookie decoder (Django's
// signed_cookies, Flask's session, Laravel's and Rails' encrypted cookies,
// and Laravel's encrypted sessions), a value signed with the app's secret
// holds, and a bad MAC, a truncated value, another key, an oversized value
// and a pickled or object payload do not.
// The values are made with the frameworks' documented algorithms (the
// decoders' own Dump, checked against values written by the real frameworks
// in their packages' tests). The checks of stored sessions' ids (PHP's
// files) are tested in the session package.

// FrameworkAttack is one preset's config and attack cases.
type FrameworkAttack struct {
	Name  string
	YAML  string // SECRET_FILE is replaced by FrameworkAttacks
	Cases []Case
}

// Secrets of the framework attack configs: the app's, and the attacker's
// guess.
const (
	frameworkAppSecret   = "the app's framework secret key 0123456789"
	frameworkOtherSecret = "an attacker's guess at the secret 98765"
)

// FrameworkAttacks returns the attack table of each cookie preset, its
// config's secret file written in a temporary folder.
func FrameworkAttacks(t testing.TB) []FrameworkAttack {
	t.Helper()
	f := filepath.Join(t.TempDir(), "app-secret")
	if err := os.WriteFile(f, []byte(frameworkAppSecret), 0o600); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	djangoSigner := func(secret string) *django.Signer {
		s, err := django.NewSigner([][]byte{[]byte(secret)}, django.SaltSignedCookies)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	flaskCodec := func(secret string) *flask.Codec {
		c, err := flask.NewCodec([][]byte{[]byte(secret)}, "")
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	mustDump := func(b []byte, err error) string {
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	alice := func(key string) map[string]any { return map[string]any{key: "alice", "groups": []any{"eng"}} }
	big := func(key string) map[string]any {
		m := alice(key)
		noise := make([]byte, 3500) // over max_cookie_bytes, compressed or not
		_, _ = rand.Read(noise)
		m["noise"] = base64.StdEncoding.EncodeToString(noise)
		return m
	}
	replace := func(s string, i int, c byte) string {
		b := []byte(s)
		if b[i] == c {
			c++
		}
		b[i] = c
		return string(b)
	}

	var out []FrameworkAttack
	// Django signed_cookies.
	{
		good := mustDump(djangoSigner(frameworkAppSecret).Dump(alice("_auth_user_id"), now))
		var cases []Case
		add := casesFor(&cases, "sessionid=", "alice")
		add(true, "WithTheAppsDjangoCookie", good)
		add(false, "WithABadDjangoMAC", replace(good, len(good)-2, 'A'))
		add(false, "WithATruncatedDjangoCookie", good[:len(good)-6])
		add(false, "WithADjangoCookieCutAtTheSignature", good[:strings.LastIndexByte(good, ':')])
		add(false, "WithADjangoCookieOfAnotherKey", mustDump(djangoSigner(frameworkOtherSecret).Dump(alice("_auth_user_id"), now)))
		add(false, "WithAnExpiredDjangoCookie", mustDump(djangoSigner(frameworkAppSecret).Dump(alice("_auth_user_id"), now.Add(-15*24*time.Hour))))
		add(false, "WithAnOversizedDjangoCookie", mustDump(djangoSigner(frameworkAppSecret).Dump(big("_auth_user_id"), now)))
		add(false, "WithAPickledDjangoCookie", djangoPickled(frameworkAppSecret, now))
		add(false, "WithADjangoCookieWithoutAUser", mustDump(djangoSigner(frameworkAppSecret).Dump(map[string]any{"cart": "1"}, now)))
		out = append(out, FrameworkAttack{Name: "DjangoSignedCookies", Cases: cases, YAML: `
liveblocks: { timeout: "2s" }
session:
  signed_cookie: { preset: django }
  app_secret_files: ["` + f + `"]
identity: { group_ids: "groups" }
`})
	}
	// Flask.
	{
		good := mustDump(flaskCodec(frameworkAppSecret).Dump(alice("_user_id"), now))
		var cases []Case
		add := casesFor(&cases, "session=", "alice")
		add(true, "WithTheAppsFlaskCookie", good)
		add(false, "WithABadFlaskMAC", replace(good, len(good)-2, 'A'))
		add(false, "WithATruncatedFlaskCookie", good[:len(good)-6])
		add(false, "WithAFlaskCookieCutAtTheSignature", good[:strings.LastIndexByte(good, '.')])
		add(false, "WithAFlaskCookieOfAnotherKey", mustDump(flaskCodec(frameworkOtherSecret).Dump(alice("_user_id"), now)))
		add(false, "WithAnExpiredFlaskCookie", mustDump(flaskCodec(frameworkAppSecret).Dump(alice("_user_id"), now.Add(-32*24*time.Hour))))
		add(false, "WithAnOversizedFlaskCookie", mustDump(flaskCodec(frameworkAppSecret).Dump(big("_user_id"), now)))
		add(false, "WithAFlaskCookieHoldingAPickle", flaskSignedRaw(frameworkAppSecret, now, []byte("\x80\x04\x95\x0b\x00\x00\x00\x00\x00\x00\x00}\x94.")))
		add(false, "WithAFlaskCookieWithoutAUser", mustDump(flaskCodec(frameworkAppSecret).Dump(map[string]any{"cart": "1"}, now)))
		out = append(out, FrameworkAttack{Name: "Flask", Cases: cases, YAML: `
liveblocks: { timeout: "2s" }
session:
  signed_cookie: { preset: flask }
  app_secret_files: ["` + f + `"]
identity: { group_ids: "groups" }
`})
	}
	// Laravel's file driver: the cookie is encrypted (AES-256-CBC and
	// HMAC-SHA256 with APP_KEY) and names a session file.
	{
		dir := t.TempDir()
		key := []byte("0123456789abcdef0123456789abcdef")
		other := []byte("fedcba9876543210fedcba9876543210")
		kf := filepath.Join(t.TempDir(), "app-key")
		if err := os.WriteFile(kf, []byte("base64:"+base64.StdEncoding.EncodeToString(key)), 0o600); err != nil {
			t.Fatal(err)
		}
		id := strings.Repeat("aB3", 13) + "x" // 40 letters and digits
		write := func(id, data string) {
			if err := os.WriteFile(filepath.Join(dir, id), []byte(data), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		write(id, `a:2:{s:50:"login_web_59ba36addc2b2f9401580f014c7f58ea4e30989d";s:5:"alice";s:6:"groups";a:1:{i:0;s:3:"eng";}}`)
		objectID := strings.Repeat("Ob7", 13) + "y"
		write(objectID, `a:1:{s:50:"login_web_59ba36addc2b2f9401580f014c7f58ea4e30989d";O:8:"stdClass":0:{}}`)
		// SESSION_ENCRYPT: the file holds Encrypter::encrypt (serialized)
		// of the session's serialize().
		session := `a:2:{s:50:"login_web_59ba36addc2b2f9401580f014c7f58ea4e30989d";s:5:"alice";s:6:"groups";a:1:{i:0;s:3:"eng";}}`
		encrypted := func(k []byte) string {
			return laravelEncrypt(k, `s:`+strconv.Itoa(len(session))+`:"`+session+`";`)
		}
		encryptedID := strings.Repeat("En4", 13) + "c"
		write(encryptedID, encrypted(key))
		otherKeyID := strings.Repeat("Ok5", 13) + "d"
		write(otherKeyID, encrypted(other))
		tamperedID := strings.Repeat("Tp6", 13) + "e"
		write(tamperedID, laravelTampered(encrypted(key)))
		good := laravelCookie(key, "laravel_session", id)
		var cases []Case
		add := casesFor(&cases, "laravel_session=", "alice")
		add(true, "WithTheAppsLaravelCookieOfAnEncryptedSession", laravelCookie(key, "laravel_session", encryptedID))
		add(false, "WithALaravelSessionEncryptedWithAnotherKey", laravelCookie(key, "laravel_session", otherKeyID))
		add(false, "WithATamperedEncryptedLaravelSession", laravelCookie(key, "laravel_session", tamperedID))
		add(true, "WithTheAppsLaravelCookie", good)
		add(false, "WithABadLaravelMAC", laravelTampered(good))
		add(false, "WithATruncatedLaravelCookie", good[:len(good)-10])
		add(false, "WithALaravelCookieOfAnotherKey", laravelCookie(other, "laravel_session", id))
		add(false, "WithALaravelCookieMadeForAnotherCookie", laravelCookie(key, "XSRF-TOKEN", id))
		add(false, "WithALaravelCookieNamingAPath", laravelCookie(key, "laravel_session", "../../../../../../../../etc/passwd"))
		add(false, "WithALaravelSessionHoldingAnObject", laravelCookie(key, "laravel_session", objectID))
		out = append(out, FrameworkAttack{Name: "LaravelFiles", Cases: cases, YAML: `
liveblocks: { timeout: "2s" }
session:
  files: { preset: laravel, path: "` + dir + `" }
  app_secret_files: ["` + kf + `"]
identity: { group_ids: "groups" }
`})
	}
	// Rails' cookie store: cookies of Devise's user 42 made by the real
	// Rails app (authz/session/framework/rails/testdata/vectors.json).
	{
		b, err := os.ReadFile(filepath.Join(testenv.RepoRoot(), "authz", "session", "framework", "rails", "testdata", "vectors.json"))
		if err != nil {
			t.Fatal(err)
		}
		var v struct {
			Secret                      string `json:"secret"`
			GCM, CBC, Marshal, Expiring struct{ Cookie string }
			OldKey                      struct{ Cookie string } `json:"old_key"`
		}
		if err := json.Unmarshal(b, &v); err != nil {
			t.Fatal(err)
		}
		sf := filepath.Join(t.TempDir(), "secret-key-base")
		if err := os.WriteFile(sf, []byte(v.Secret), 0o600); err != nil {
			t.Fatal(err)
		}
		good := v.GCM.Cookie // URL-encoded, as browsers send it
		var cases []Case
		add := casesFor(&cases, "_app_session=", "42")
		add(true, "WithTheAppsRailsCookie", good)
		add(true, "WithTheAppsOlderCBCRailsCookie", v.CBC.Cookie)
		add(false, "WithATamperedRailsCookie", replace(good, 4, 'A'))
		add(false, "WithATruncatedRailsCookie", good[:len(good)-8])
		add(false, "WithARailsCookieCutAtTheTag", good[:strings.LastIndex(good, "--")])
		add(false, "WithARailsCookieOfAnotherKey", v.OldKey.Cookie)
		add(false, "WithAMarshalledRailsCookie", v.Marshal.Cookie)
		out = append(out, FrameworkAttack{Name: "Rails", Cases: cases, YAML: `
liveblocks: { timeout: "2s" }
session:
  cookie: _app_session
  signed_cookie: { preset: rails }
  app_secret_files: ["` + sf + `"]
identity: { group_ids: "groups" }
`})
		// The same cookie under another name: Rails binds a cookie to its
		// name (the purpose in its metadata).
		var renamed []Case
		add = casesFor(&renamed, "_other_session=", "42")
		add(false, "WithARailsCookieMovedToAnotherCookiesName", good)
		out = append(out, FrameworkAttack{Name: "RailsOtherCookie", Cases: renamed, YAML: `
liveblocks: { timeout: "2s" }
session:
  cookie: _other_session
  signed_cookie: { preset: rails }
  app_secret_files: ["` + sf + `"]
`})
	}
	return out
}

// laravelCookie encrypts a session id as Laravel's EncryptCookies does
// (Encrypter::encrypt without serialize, AES-256-CBC, the cookie value
// prefix), URL-encoded as Laravel sends it.
func laravelCookie(key []byte, name, id string) string {
	prefix := hmac.New(sha1.New, key)
	prefix.Write([]byte(name + "v2"))
	return url.PathEscape(laravelEncrypt(key, hex.EncodeToString(prefix.Sum(nil))+"|"+id))
}

// laravelEncrypt is Laravel's Encrypter::encrypt of text with AES-256-CBC
// and its HMAC-SHA256.
func laravelEncrypt(key []byte, text string) string {
	plain := []byte(text)
	pad := aes.BlockSize - len(plain)%aes.BlockSize
	plain = append(plain, bytes.Repeat([]byte{byte(pad)}, pad)...)
	iv := make([]byte, aes.BlockSize)
	_, _ = rand.Read(iv)
	block, _ := aes.NewCipher(key)
	ct := make([]byte, len(plain))
	cipher.NewCBCEncrypter(block, iv).CryptBlocks(ct, plain)
	ivB, ctB := base64.StdEncoding.EncodeToString(iv), base64.StdEncoding.EncodeToString(ct)
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(ivB + ctB))
	p, _ := json.Marshal(map[string]string{"iv": ivB, "value": ctB, "mac": hex.EncodeToString(mac.Sum(nil)), "tag": ""})
	return base64.StdEncoding.EncodeToString(p)
}

// laravelTampered flips a bit of the ciphertext and keeps the MAC.
func laravelTampered(cookie string) string {
	escaped := strings.Contains(cookie, "%")
	v, _ := url.PathUnescape(cookie)
	raw, _ := base64.StdEncoding.DecodeString(v)
	var p map[string]string
	_ = json.Unmarshal(raw, &p)
	ct, _ := base64.StdEncoding.DecodeString(p["value"])
	ct[0] ^= 1
	p["value"] = base64.StdEncoding.EncodeToString(ct)
	b, _ := json.Marshal(p)
	if !escaped {
		return base64.StdEncoding.EncodeToString(b)
	}
	return url.PathEscape(base64.StdEncoding.EncodeToString(b))
}

// casesFor returns a function adding, for one cookie value, a page request
// and a token request: user's identity and token when good, an anonymous
// page and a 401 otherwise. The proxies refuse a header over their buffers
// themselves (see Cases), which these values never reach.
func casesFor(cases *[]Case, prefix, user string) func(good bool, name, value string) {
	return func(good bool, name, value string) {
		page := Outcome{Allowed: true, Status: 200}
		auth := Outcome{Status: 401}
		if good {
			page.UserID, auth = user, Outcome{Status: 200, UserID: user}
		}
		*cases = append(*cases,
			Case{Name: "Page" + name, Method: "GET", Path: "/docs", Cookie: prefix + value, Header: SpoofedIdentity, Want: page},
			Case{Name: "AuthPath" + name, Method: "POST", Path: AuthPath, Cookie: prefix + value, Body: `{"room":"r1"}`, Want: auth},
		)
	}
}

// djangoPickled signs a pickle (what Django's removed PickleSerializer
// wrote) as Django's signing.dumps does: the signature holds, and the
// payload must still be refused without being unpickled.
func djangoPickled(secret string, at time.Time) string {
	pickle := []byte("\x80\x04\x95\x0b\x00\x00\x00\x00\x00\x00\x00}\x94.")
	payload := base64.RawURLEncoding.EncodeToString(pickle)
	signed := payload + ":" + base62(at.Unix())
	key := sha256.Sum256([]byte(django.SaltSignedCookies + "signer" + secret))
	mac := hmac.New(sha256.New, key[:])
	mac.Write([]byte(signed))
	return signed + ":" + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// flaskSignedRaw signs raw payload bytes as itsdangerous does for Flask.
func flaskSignedRaw(secret string, at time.Time, payload []byte) string {
	dk := hmac.New(sha1.New, []byte(secret))
	dk.Write([]byte(flask.DefaultSalt))
	ts := []byte{byte(at.Unix() >> 24), byte(at.Unix() >> 16), byte(at.Unix() >> 8), byte(at.Unix())}
	signed := base64.RawURLEncoding.EncodeToString(payload) + "." + base64.RawURLEncoding.EncodeToString(ts)
	mac := hmac.New(sha1.New, dk.Sum(nil))
	mac.Write([]byte(signed))
	return signed + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

func base62(n int64) string {
	const digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	var b []byte
	for ; n > 0; n /= 62 {
		b = append([]byte{digits[n%62]}, b...)
	}
	return string(b)
}
