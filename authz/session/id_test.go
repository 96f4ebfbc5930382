package session

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/lbauthz/lbauthz/internal/testenv"
)

func TestCheckID_AcceptsWhatSessionLibrariesMakeAndRefusesTheRest(t *testing.T) {
	for _, id := range []string{
		"Yq0bC2y3bVQ2cKk7wR2l3eX9ZQkz5mQx",     // express-session (uid-safe, base64url)
		"2b0c84e0-3f4e-4d8e-9a44-5e0f3c5a7b1d", // UUID
		"9f86d081884c7d659a2feaa0c55ad015",     // hex
		"abc+/def==",                           // standard base64
		"node0abc123.node0",                    // Jetty's JSESSIONID
		"a,b-c",                                // PHP with 6 bits per character
		strings.Repeat("a", MaxIDBytes),
	} {
		if err := CheckID(id); err != nil {
			t.Errorf("%q refused: %v", id, err)
		}
	}
	for _, id := range []string{
		"", "cache:user:1", "*", "sess*", "a b", "a\tb", "a\x00b", "a\nb", "{tag}x", "%", "a'b", `a"b`, "é",
		strings.Repeat("a", MaxIDBytes+1),
	} {
		if err := CheckID(id); !IsInvalid(err) {
			t.Errorf("%q: want an invalid session, got %v", id, err)
		}
	}
}

// TestRedis_AnIDOutsideTheAlphabetNeverReachesRedis stores, under the
// sessions' own prefix, documents an attacker would like to reach: a key
// with a ":" below a session's, the literal key "*", a key with a space,
// and one longer than any session id. Each is refused as malformed, the
// same as if it did not exist, while an ordinary id resolves.
func TestRedis_AnIDOutsideTheAlphabetNeverReachesRedis(t *testing.T) {
	r := testenv.StartRedis(t)
	rc := redis.NewClient(&redis.Options{Addr: r.Addr})
	defer rc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	admin, _ := json.Marshal(map[string]any{"user": map[string]any{"id": "admin", "groups": []string{"admins"}}})
	long := strings.Repeat("x", MaxIDBytes+1)
	for _, k := range []string{"sess:alice:meta", "sess:*", "sess:a b", "sess:" + long} {
		if err := rc.Set(ctx, k, admin, time.Hour).Err(); err != nil {
			t.Fatal(err)
		}
	}
	aliceDoc, _ := json.Marshal(map[string]any{"user": alice()})
	if err := rc.Set(ctx, "sess:alice", aliceDoc, time.Hour).Err(); err != nil {
		t.Fatal(err)
	}
	rs, err := NewRedisStore(RedisOptions{Address: r.Addr, KeyTemplate: "sess:{id}"})
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	id, err := resolveOnce(t, rs, expressMapping(), "alice")
	wantUser(t, id, err, "alice", "eng", "design")
	for _, v := range []string{"alice:meta", "*", "a b", long} {
		_, err := resolveOnce(t, rs, expressMapping(), v)
		wantInvalid(t, err, "malformed session id", v)
	}
}
