package rails

import (
	"encoding/base64"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/lbauthz/lbauthz/authz/session/framework"
)

// storeVectors are sessions in the formats of Rails' server-side stores,
// made by testdata/make_store_vectors.rb with Ruby's own JSON, Marshal,
// Base64 and Digest following the stores' code: fixtures of
// activerecord-session_store's format (the gem is not in Debian), not rows
// the gem wrote. redis-store's own writes are read in
// deploy/frameworks_test.go, from the real store.
type storeVectors struct {
	PublicID            string `json:"public_id"`
	PrivateID           string `json:"private_id"`
	JSON                string `json:"json"`
	MarshalBase64       string `json:"marshal_base64"`
	MarshalRawBase64    string `json:"marshal_raw_base64"`
	MarshalObjectBase64 string `json:"marshal_object_base64"`
}

func loadStoreVectors(t testing.TB) storeVectors {
	t.Helper()
	b, err := os.ReadFile("testdata/store_vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var v storeVectors
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

func TestDecodeStoredSession_ReadsAJSONSessionWithDevisesUser(t *testing.T) {
	v := loadStoreVectors(t)
	doc, err := DecodeStoredSession(FormatActiveRecordStore, []byte(v.JSON))
	if err != nil {
		t.Fatal(err)
	}
	if id, _ := doc[WardenUserID].(json.Number); id != "42" {
		t.Fatalf("doc = %v", doc)
	}
}

func TestDecodeStoredSession_RefusesMarshalUnread(t *testing.T) {
	v := loadStoreVectors(t)
	raw, err := base64.StdEncoding.DecodeString(v.MarshalRawBase64)
	if err != nil {
		t.Fatal(err)
	}
	deep := strings.Repeat(`{"a":`, framework.MaxDepth+1) + "1" + strings.Repeat("}", framework.MaxDepth+1)
	for _, c := range []struct{ name, data, step string }{
		{"ActiveRecordMarshalSerializer", v.MarshalBase64, framework.StepObject},
		{"RawMarshal", string(raw), framework.StepObject},
		{"MarshalOfAnObject", v.MarshalObjectBase64, framework.StepObject},
		{"Truncated", v.JSON[:len(v.JSON)-5], framework.StepMalformed},
		{"NotAnObject", `["a"]`, framework.StepMalformed},
		{"NestedTooDeep", deep, framework.StepTooLarge},
		{"Oversized", `{"a":"` + strings.Repeat("x", framework.MaxInput) + `"}`, framework.StepTooLarge},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := DecodeStoredSession(FormatActiveRecordStore, []byte(c.data))
			if framework.StepOf(err) != c.step {
				t.Fatalf("err = %v, want step %q", err, c.step)
			}
			if c.step == framework.StepObject && !strings.Contains(err.Error(), "serializer: JSON") {
				t.Fatalf("the refusal does not say what to change: %v", err)
			}
		})
	}
}

func TestPrivateSessionID_IsRacksHashOfThePublicID(t *testing.T) {
	v := loadStoreVectors(t)
	if h, ok := PrivateSessionID(v.PublicID); !ok || "2::"+h != v.PrivateID {
		t.Fatalf("PrivateSessionID = %q %v, want %q", h, ok, v.PrivateID)
	}
	for _, bad := range []string{
		v.PrivateID, // a private id as the cookie: never looked up as it is
		"", "abc", strings.ToUpper(v.PublicID), v.PublicID + "--sig", strings.Repeat("a", maxSessionIDHex+1),
	} {
		if _, ok := PrivateSessionID(bad); ok {
			t.Errorf("PrivateSessionID(%.12q...) accepted", bad)
		}
	}
}

// FuzzDecodeStoredSession feeds arbitrary stored sessions: no panic, and
// either a session or a typed refusal.
func FuzzDecodeStoredSession(f *testing.F) {
	v := loadStoreVectors(f)
	for _, s := range []string{v.JSON, v.MarshalBase64, v.MarshalObjectBase64, `{}`, `BA`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		doc, err := DecodeStoredSession(FormatRedisStore, in)
		if err == nil && doc == nil || err != nil && framework.StepOf(err) == "" {
			t.Fatalf("doc=%v err=%v", doc, err)
		}
		PrivateSessionID(string(in))
	})
}
