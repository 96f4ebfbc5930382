package php

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/lbauthz/lbauthz/authz/session/framework"
)

// vectors are session data encoded by the real PHP (testdata/make_vectors.php).
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

func TestDecodeSession_ReadsWhatPHPWrote(t *testing.T) {
	v := loadVectors(t)
	want := `{"admin":false,"groups":["eng","design"],"name":"Zoë","none":null,"prefs":{"3":"x","theme":"dark"},"score":1.5,"user_id":42}`
	for _, h := range []string{HandlerPHP, HandlerPHPSerialize} {
		t.Run(h, func(t *testing.T) {
			doc, err := DecodeSession([]byte(v[h]), h)
			if err != nil {
				t.Fatalf("PHP %s: %v", v["php"], err)
			}
			if got, _ := json.Marshal(doc); string(got) != want {
				t.Fatalf("doc = %s\nwant  %s", got, want)
			}
		})
	}
}

func TestDecodeSession_RefusesObjectsAndBrokenData(t *testing.T) {
	v := loadVectors(t)
	deep := strings.Repeat("a:1:{i:0;", framework.MaxDepth+2) + "N;" + strings.Repeat("}", framework.MaxDepth+2)
	for _, c := range []struct {
		name, data, handler, step string
	}{
		{"ObjectWithThePHPHandler", v["php_object"], HandlerPHP, framework.StepObject},
		{"ObjectWithPHPSerialize", v["php_serialize_object"], HandlerPHPSerialize, framework.StepObject},
		{"Reference", "x|" + v["reference"], HandlerPHP, framework.StepObject},
		{"CustomSerializedObject", `x|C:3:"Foo":2:{ab}`, HandlerPHP, framework.StepObject},
		{"Enum", `x|E:7:"Foo:Bar";`, HandlerPHP, framework.StepObject},
		{"Truncated", v["php"][:len(v["php"])-5], HandlerPHP, framework.StepMalformed},
		{"TruncatedArray", v["php_serialize"][:len(v["php_serialize"])-1], HandlerPHPSerialize, framework.StepMalformed},
		{"StringLongerThanTheInput", `x|s:999999:"a";`, HandlerPHP, framework.StepMalformed},
		{"ArrayCountLargerThanTheInput", `x|a:99999999:{}`, HandlerPHP, framework.StepMalformed},
		{"NestedTooDeep", "x|" + deep, HandlerPHP, framework.StepTooLarge},
		{"Oversized", strings.Repeat("x|N;", framework.MaxInput/4+1), HandlerPHP, framework.StepTooLarge},
		{"NotAnArray", "i:1;", HandlerPHPSerialize, framework.StepMalformed},
		{"UnknownHandler", "", "wddx", framework.StepUnsupported},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := DecodeSession([]byte(c.data), c.handler)
			if framework.StepOf(err) != c.step {
				t.Fatalf("err = %v, want step %q", err, c.step)
			}
		})
	}
}

func TestValidSessionID_RefusesPathsAndOddCharacters(t *testing.T) {
	for id, ok := range map[string]bool{
		"k2v9c0jvmq8hu0s2m7e1n1l4e5": true, "a,b-c": true, "": false, "../etc/passwd": false,
		"a/b": false, "a b": false, "a\x00": false, strings.Repeat("a", 257): false,
	} {
		if ValidSessionID(id) != ok {
			t.Errorf("ValidSessionID(%q) = %v", id, !ok)
		}
	}
}

func BenchmarkDecodeSession(b *testing.B) {
	data := []byte(loadVectors(b)["php"])
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeSession(data, HandlerPHP); err != nil {
			b.Fatal(err)
		}
	}
}

// FuzzDecodeSession feeds arbitrary data to both handlers: no panic, and
// either a session of plain values or a typed refusal.
func FuzzDecodeSession(f *testing.F) {
	for _, s := range loadVectors(f) {
		f.Add([]byte(s))
	}
	f.Add([]byte(`a:1:{i:0;a:1:{i:0;N;}}`))
	f.Add([]byte(`x|d:NAN;y|d:-1.5e3;`))
	f.Fuzz(func(t *testing.T, in []byte) {
		for _, h := range []string{HandlerPHP, HandlerPHPSerialize} {
			doc, err := DecodeSession(in, h)
			if err == nil && doc == nil || err != nil && framework.StepOf(err) == "" {
				t.Fatalf("doc=%v err=%v", doc, err)
			}
			if err == nil {
				plain(t, doc)
			}
		}
	})
}

// plain fails unless v holds only the plain values Unserialize builds.
func plain(t *testing.T, v any) {
	switch x := v.(type) {
	case nil, bool, int64, float64, string:
	case []any:
		for _, e := range x {
			plain(t, e)
		}
	case map[string]any:
		for _, e := range x {
			plain(t, e)
		}
	default:
		t.Fatalf("a %T in a session", v)
	}
}
