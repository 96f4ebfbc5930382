package rails

import (
	"encoding/json"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/lbauthz/lbauthz/authz/session/framework"
)

type railsCookie struct {
	Rails, Cookie string
}

// vectors are cookies made by the real Rails app of
// internal/testenv/frameworks/rails_app.rb (Debian's ruby-rails), through
// its own cookie store: AES-256-GCM (Rails 6.1's default), the older
// AES-256-CBC, one with an expiry, one of another secret_key_base.
type vectors struct {
	Secret    string      `json:"secret"`
	OldSecret string      `json:"old_secret"`
	GCM       railsCookie `json:"gcm"`
	CBC       railsCookie `json:"cbc"`
	Expiring  railsCookie `json:"expiring"`
	Marshal   railsCookie `json:"marshal"`
	OldKey    railsCookie `json:"old_key"`
}

func loadVectors(t testing.TB) vectors {
	t.Helper()
	b, err := os.ReadFile("testdata/vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var v vectors
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

func unescaped(t testing.TB, s string) []byte {
	t.Helper()
	u, err := url.QueryUnescape(s)
	if err != nil {
		t.Fatal(err)
	}
	return []byte(u)
}

func codec(t testing.TB, secrets ...string) *Codec {
	t.Helper()
	var b [][]byte
	for _, s := range secrets {
		b = append(b, []byte(s))
	}
	c, err := NewCodec(b)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestCodec_ReadsWhatRailsWrote(t *testing.T) {
	v := loadVectors(t)
	c := codec(t, v.Secret, v.OldSecret)
	for name, rc := range map[string]railsCookie{"GCM": v.GCM, "CBC": v.CBC, "Expiring": v.Expiring, "OldKey": v.OldKey} {
		t.Run(name, func(t *testing.T) {
			doc, exp, err := c.Load(unescaped(t, rc.Cookie), "_app_session", time.Now())
			if err != nil {
				t.Fatalf("Rails %s: %v", rc.Rails, err)
			}
			if id, _ := doc[WardenUserID].(json.Number); id != "42" || doc["session_id"] == nil {
				t.Fatalf("doc = %v", doc)
			}
			if (name == "Expiring") == exp.IsZero() {
				t.Fatalf("expiry %v", exp)
			}
		})
	}
}

func TestCodec_RefusesForgeries(t *testing.T) {
	v := loadVectors(t)
	c := codec(t, v.Secret)
	gcm := string(unescaped(t, v.GCM.Cookie))
	cbc := string(unescaped(t, v.CBC.Cookie))
	flip := func(s string, i int) string {
		b := []byte(s)
		if b[i] == 'A' {
			b[i] = 'B'
		} else {
			b[i] = 'A'
		}
		return string(b)
	}
	for _, k := range []struct{ name, value, cookie, step string }{
		{"TamperedCiphertext", flip(gcm, 3), "_app_session", framework.StepBadMAC},
		{"BadTag", flip(gcm, len(gcm)-4), "_app_session", framework.StepBadMAC},
		{"Truncated", gcm[:len(gcm)-10], "_app_session", framework.StepMalformed},
		{"CutAtTheTag", gcm[:strings.LastIndex(gcm, "--")], "_app_session", framework.StepBadMAC},
		{"WrongKey", string(unescaped(t, v.OldKey.Cookie)), "_app_session", framework.StepBadMAC},
		{"AnotherCookiesName", gcm, "_other_session", framework.StepBadMAC},
		{"BadCBCDigest", flip(cbc, len(cbc)-3), "_app_session", framework.StepBadMAC},
		{"MarshalSerializer", string(unescaped(t, v.Marshal.Cookie)), "_app_session", framework.StepObject},
		{"Oversized", strings.Repeat("A", framework.MaxInput+1), "_app_session", framework.StepTooLarge},
	} {
		t.Run(k.name, func(t *testing.T) {
			_, _, err := c.Load([]byte(k.value), k.cookie, time.Now())
			if framework.StepOf(err) != k.step {
				t.Fatalf("err = %v, want step %q", err, k.step)
			}
		})
	}
	if _, _, err := c.Load(unescaped(t, v.Expiring.Cookie), "_app_session", time.Now().Add(11*365*24*time.Hour)); framework.StepOf(err) != framework.StepExpired {
		t.Fatalf("expired: %v", err)
	}
}

func BenchmarkCodec_Load(b *testing.B) {
	v := loadVectors(b)
	c := codec(b, v.Secret)
	val := unescaped(b, v.GCM.Cookie)
	now := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := c.Load(val, "_app_session", now); err != nil {
			b.Fatal(err)
		}
	}
}

// FuzzCodec feeds arbitrary values: no panic, and either a session or a
// typed refusal.
func FuzzCodec(f *testing.F) {
	v := loadVectors(f)
	for _, rc := range []railsCookie{v.GCM, v.CBC, v.Expiring} {
		f.Add(unescaped(f, rc.Cookie))
	}
	f.Add([]byte("a--b--c"))
	c := codec(f, v.Secret)
	now := time.Now()
	f.Fuzz(func(t *testing.T, in []byte) {
		doc, _, err := c.Load(in, "_app_session", now)
		if err == nil && doc == nil || err != nil && framework.StepOf(err) == "" {
			t.Fatalf("doc=%v err=%v", doc, err)
		}
	})
}
