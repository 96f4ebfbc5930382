package session

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"strconv"
	"strings"
	"testing"
	"time"
)

const fuzzSecret = "fuzz-secret-0123456789abcdef-0123456789abcdef"

func signHS256(header, payload string) string {
	enc := base64.RawURLEncoding
	unsigned := enc.EncodeToString([]byte(header)) + "." + enc.EncodeToString([]byte(payload))
	mac := hmac.New(sha256.New, []byte(fuzzSecret))
	mac.Write([]byte(unsigned))
	return unsigned + "." + enc.EncodeToString(mac.Sum(nil))
}

// FuzzJWTSession feeds arbitrary cookie values through the JWT store and the
// mapping, as a request's session cookie would go. Whatever the input: no
// panic, and an accepted value is one whose HMAC really verifies.
func FuzzJWTSession(f *testing.F) {
	exp := time.Now().Add(24 * time.Hour).Unix()
	valid := signHS256(`{"alg":"HS256","typ":"JWT"}`, `{"sub":"alice","groups":["a","b"],"name":"A","exp":`+strconv.FormatInt(exp, 10)+`}`)
	f.Add(valid)
	f.Add(signHS256(`{"alg":"HS256"}`, `{"sub":123,"groups":"one"}`))
	f.Add(signHS256(`{"alg":"none"}`, `{"sub":"x"}`))
	f.Add(strings.TrimSuffix(valid, valid[len(valid)-5:]))
	f.Add("e30.e30.")
	f.Add("a.b.c.d")
	f.Add(signHS256(`{"alg":"HS256","kid":"../../etc/passwd","jku":"http://127.0.0.1:1/"}`, `{"sub":"k"}`))
	store, err := NewJWTStore(JWTOptions{Algorithms: []string{"HS256"}, HMACSecret: []byte(fuzzSecret)})
	if err != nil {
		f.Fatal(err)
	}
	m := &Mapping{UserID: "sub", GroupIDs: "groups", UserInfo: map[string]string{"name": "name"}}
	r := NewResolver(store, m, CacheOptions{TTL: time.Minute, NegativeTTL: time.Second, MaxEntries: 1000})
	f.Fuzz(func(t *testing.T, value string) {
		id, err := r.Resolve(context.Background(), value)
		if err != nil {
			if !IsInvalid(err) {
				t.Fatalf("a JWT store error must say invalid, got %v", err)
			}
			if strings.Contains(err.Error(), value) && len(value) > 8 {
				t.Fatal("the error repeats the cookie value")
			}
			return
		}
		if id == nil || id.UserID == "" {
			t.Fatal("accepted without a user id")
		}
		parts := strings.Split(value, ".")
		if len(parts) != 3 {
			t.Fatalf("accepted a value with %d parts", len(parts))
		}
		mac := hmac.New(sha256.New, []byte(fuzzSecret))
		mac.Write([]byte(parts[0] + "." + parts[1]))
		sig, err := base64.RawURLEncoding.DecodeString(parts[2])
		if err != nil || !hmac.Equal(sig, mac.Sum(nil)) {
			t.Fatal("accepted a token whose signature does not verify")
		}
	})
}
