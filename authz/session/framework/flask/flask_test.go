package flask

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/lbauthz/lbauthz/authz/session/framework"
)

// vectors are cookies made by the real Flask (testdata/make_vectors.py).
type vectors struct {
	Flask        string `json:"flask"`
	Secret       string `json:"secret"`
	OldSecret    string `json:"old_secret"`
	Cookie       string `json:"cookie"`
	SmallCookie  string `json:"small_cookie"`
	OldKeyCookie string `json:"old_key_cookie"`
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

func codec(t testing.TB, keys ...string) *Codec {
	t.Helper()
	var kb [][]byte
	for _, k := range keys {
		kb = append(kb, []byte(k))
	}
	c, err := NewCodec(kb, "")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestCodec_ReadsWhatFlaskWrote(t *testing.T) {
	v := loadVectors(t)
	c := codec(t, v.Secret, v.OldSecret)
	for _, value := range []string{v.Cookie, v.OldKeyCookie} {
		doc, _, err := c.Load([]byte(value), DefaultMaxAge)
		if err != nil {
			t.Fatalf("Flask %s: %v", v.Flask, err)
		}
		got, _ := json.Marshal(doc)
		want := `{" t":"a key that looks like a tag","_fresh":true,"_user_id":"42","html":"\u003cb\u003ehi\u003c/b\u003e",` +
			`"note":"Zoë ` + strings.Repeat("x", 300) + `","raw":"AAE=","roles":["editors","admins"],"uid":"12345678123456781234567812345678"}`
		if string(got) != want {
			t.Fatalf("doc = %s\nwant  %s", got, want)
		}
	}
}

func TestCodec_RefusesForgeries(t *testing.T) {
	v := loadVectors(t)
	c := codec(t, v.Secret)
	flip := func(s string, i int) string {
		b := []byte(s)
		if b[i] == 'A' {
			b[i] = 'B'
		} else {
			b[i] = 'A'
		}
		return string(b)
	}
	for _, k := range []struct {
		name, value, step string
	}{
		{"BadMAC", flip(v.Cookie, len(v.Cookie)-3), framework.StepBadMAC},
		{"TamperedPayload", flip(v.SmallCookie, 3), framework.StepBadMAC},
		{"Truncated", v.Cookie[:len(v.Cookie)-2], framework.StepBadMAC},
		{"CutAtTheSignature", v.Cookie[:strings.LastIndexByte(v.Cookie, '.')], framework.StepBadMAC},
		{"WrongKey", v.OldKeyCookie, framework.StepBadMAC},
		{"Oversized", strings.Repeat("a", framework.MaxInput+1), framework.StepTooLarge},
		{"NoSeparator", "abc", framework.StepMalformed},
	} {
		t.Run(k.name, func(t *testing.T) {
			_, _, err := c.Load([]byte(k.value), DefaultMaxAge)
			if framework.StepOf(err) != k.step {
				t.Fatalf("err = %v, want step %q", err, k.step)
			}
			if strings.Contains(err.Error(), v.Secret) {
				t.Fatal("the error quotes the secret")
			}
		})
	}
}

func TestCodec_RefusesACookieOlderThanMaxAge(t *testing.T) {
	v := loadVectors(t)
	c := codec(t, v.Secret)
	c.clock = func() time.Time { return time.Now().Add(32 * 24 * time.Hour) }
	if _, _, err := c.Load([]byte(v.Cookie), DefaultMaxAge); framework.StepOf(err) != framework.StepExpired {
		t.Fatalf("err = %v", err)
	}
}

func TestCodec_DumpIsReadBack(t *testing.T) {
	c := codec(t, "k")
	at := time.Now().Truncate(time.Second)
	b, err := c.Dump(map[string]any{"_user_id": "5"}, at)
	if err != nil {
		t.Fatal(err)
	}
	doc, when, err := c.Load(b, time.Hour)
	if err != nil || doc["_user_id"] != "5" || !when.Equal(at) {
		t.Fatalf("doc=%v when=%v err=%v", doc, when, err)
	}
}

func BenchmarkCodec_Load(b *testing.B) {
	v := loadVectors(b)
	c := codec(b, v.Secret)
	val := []byte(v.Cookie)
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := c.Load(val, DefaultMaxAge); err != nil {
			b.Fatal(err)
		}
	}
}

// FuzzCodec feeds arbitrary values to the codec: no panic, and either a
// session or a typed refusal naming its step.
func FuzzCodec(f *testing.F) {
	v := loadVectors(f)
	for _, s := range []string{v.Cookie, v.SmallCookie, v.OldKeyCookie, "a.b.c", ".", "..", "e30.AA.x"} {
		f.Add([]byte(s))
	}
	c := codec(f, v.Secret)
	f.Fuzz(func(t *testing.T, in []byte) {
		doc, _, err := c.Load(in, 0)
		if err == nil && doc == nil || err != nil && framework.StepOf(err) == "" {
			t.Fatalf("doc=%v err=%v", doc, err)
		}
	})
}
