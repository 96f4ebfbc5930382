package django

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/lbauthz/lbauthz/authz/session/framework"
)

// vectors are values made by the real Django (testdata/make_vectors.py).
type vectors struct {
	Django             string         `json:"django"`
	Secret             string         `json:"secret"`
	OldSecret          string         `json:"old_secret"`
	Doc                map[string]any `json:"doc"`
	SignedCookie       string         `json:"signed_cookie"`
	SmallSignedCookie  string         `json:"small_signed_cookie"`
	OldKeySignedCookie string         `json:"old_key_signed_cookie"`
	SessionData        string         `json:"session_data"`
	LegacySessionData  string         `json:"legacy_session_data"`
	PickledSessionData string         `json:"pickled_session_data"`
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

func signer(t testing.TB, salt string, keys ...string) *Signer {
	t.Helper()
	var kb [][]byte
	for _, k := range keys {
		kb = append(kb, []byte(k))
	}
	s, err := NewSigner(kb, salt)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSigner_ReadsWhatDjangoWrote(t *testing.T) {
	v := loadVectors(t)
	cookies := signer(t, SaltSignedCookies, v.Secret, v.OldSecret)
	stored := signer(t, SaltSessionStore, v.Secret)
	for _, c := range []struct {
		name string
		read func() (map[string]any, error)
	}{
		{"SignedCookie", func() (map[string]any, error) {
			d, _, err := cookies.Load([]byte(v.SignedCookie), 14*24*time.Hour)
			return d, err
		}},
		{"SignedCookieOfAFallbackKey", func() (map[string]any, error) {
			d, _, err := cookies.Load([]byte(v.OldKeySignedCookie), 14*24*time.Hour)
			return d, err
		}},
		{"SessionData", func() (map[string]any, error) { return stored.DecodeSessionData([]byte(v.SessionData)) }},
		{"LegacySessionData", func() (map[string]any, error) { return stored.DecodeSessionData([]byte(v.LegacySessionData)) }},
	} {
		t.Run(c.name, func(t *testing.T) {
			doc, err := c.read()
			if err != nil {
				t.Fatalf("Django %s: %v", v.Django, err)
			}
			if doc["_auth_user_id"] != "42" || doc["note"] != v.Doc["note"] {
				t.Fatalf("doc = %v", doc)
			}
		})
	}
}

func TestSigner_RefusesForgeries(t *testing.T) {
	v := loadVectors(t)
	cookies := signer(t, SaltSignedCookies, v.Secret)
	stored := signer(t, SaltSessionStore, v.Secret)
	flip := func(s string, i int) string {
		b := []byte(s)
		if b[i] == 'A' {
			b[i] = 'B'
		} else {
			b[i] = 'A'
		}
		return string(b)
	}
	huge := strings.Repeat("a", framework.MaxInput+1)
	for _, c := range []struct {
		name, value string
		cookie      bool
		step        string
	}{
		{"BadMAC", flip(v.SignedCookie, len(v.SignedCookie)-3), true, framework.StepBadMAC},
		{"TamperedPayload", flip(v.SignedCookie, 5), true, framework.StepBadMAC},
		{"Truncated", v.SignedCookie[:len(v.SignedCookie)-4], true, framework.StepBadMAC},
		{"CutAtTheSignature", v.SignedCookie[:strings.LastIndexByte(v.SignedCookie, ':')], true, framework.StepBadMAC},
		{"WrongKey", v.OldKeySignedCookie, true, framework.StepBadMAC},
		{"OtherSalt", v.SessionData, true, framework.StepBadMAC},
		{"Oversized", huge, true, framework.StepTooLarge},
		{"NoSeparator", "abc", true, framework.StepMalformed},
		{"Pickled", v.PickledSessionData, false, framework.StepPickled},
		{"LegacyTampered", flip(v.LegacySessionData, len(v.LegacySessionData)-8), false, framework.StepBadMAC},
		{"SessionDataOfTheCookieBackend", v.SignedCookie, false, framework.StepBadMAC},
	} {
		t.Run(c.name, func(t *testing.T) {
			var err error
			if c.cookie {
				_, _, err = cookies.Load([]byte(c.value), time.Hour*24*14)
			} else {
				_, err = stored.DecodeSessionData([]byte(c.value))
			}
			if framework.StepOf(err) != c.step {
				t.Fatalf("err = %v, want step %q", err, c.step)
			}
			if strings.Contains(err.Error(), v.Secret) || strings.Contains(err.Error(), c.value) {
				t.Fatal("the error quotes the secret or the value")
			}
		})
	}
}

func TestSigner_RefusesAValueOlderThanMaxAge(t *testing.T) {
	v := loadVectors(t)
	s := signer(t, SaltSignedCookies, v.Secret)
	s.clock = func() time.Time { return time.Now().Add(15 * 24 * time.Hour) }
	if _, _, err := s.Load([]byte(v.SignedCookie), 14*24*time.Hour); framework.StepOf(err) != framework.StepExpired {
		t.Fatalf("err = %v", err)
	}
}

func TestSigner_DumpIsReadBack(t *testing.T) {
	s := signer(t, SaltSignedCookies, "k1")
	at := time.Now().Truncate(time.Second)
	b, err := s.Dump(map[string]any{"_auth_user_id": "9", "pad": strings.Repeat("y", 100)}, at)
	if err != nil {
		t.Fatal(err)
	}
	doc, when, err := s.Load(b, time.Hour)
	if err != nil || doc["_auth_user_id"] != "9" || !when.Equal(at) {
		t.Fatalf("doc=%v when=%v err=%v", doc, when, err)
	}
}

func TestDecodeJSON_RefusesDeepNesting(t *testing.T) {
	s := signer(t, SaltSignedCookies, "k1")
	deep := map[string]any{}
	cur := deep
	for i := 0; i < framework.MaxDepth+2; i++ {
		next := map[string]any{}
		cur["a"] = next
		cur = next
	}
	b, _ := s.Dump(deep, time.Now())
	if _, _, err := s.Load(b, time.Hour); framework.StepOf(err) != framework.StepTooLarge {
		t.Fatalf("err = %v", err)
	}
}

func BenchmarkSigner_LoadSignedCookie(b *testing.B) {
	v := loadVectors(b)
	s := signer(b, SaltSignedCookies, v.Secret)
	val := []byte(v.SignedCookie)
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := s.Load(val, 14*24*time.Hour); err != nil {
			b.Fatal(err)
		}
	}
}

func TestAuthHash_ChecksDjangosSessionAuthHash(t *testing.T) {
	b, _ := os.ReadFile("testdata/vectors.json")
	var v struct {
		S        string `json:"secret"`
		O        string `json:"old_secret"`
		Password string `json:"password_hash"`
		Hash     string `json:"session_auth_hash"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	a, err := NewAuthHash([][]byte{[]byte(v.O), []byte(v.S)})
	if err != nil {
		t.Fatal(err)
	}
	if !a.Valid(v.Hash, v.Password) {
		t.Fatal("Django's session auth hash is not accepted")
	}
	for _, c := range []struct{ hash, password string }{
		{v.Hash, v.Password + "x"}, {strings.Repeat("0", 64), v.Password}, {"zz", v.Password}, {"", v.Password},
	} {
		if a.Valid(c.hash, c.password) {
			t.Fatalf("accepted %q", c.hash)
		}
	}
}
