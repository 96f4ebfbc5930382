package authztest

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/lbauthz/lbauthz/authz"
	"github.com/lbauthz/lbauthz/internal/testenv"
)

// RailsRedisAttackConfig reads Rails' redis-store sessions (the rails
// preset) under redis-rack's default namespace. REDIS_ADDR is replaced by
// RailsRedisAttacks.Engine.
const RailsRedisAttackConfig = `
liveblocks: { timeout: "2s" }
session:
  cookie: _app_session
  redis: { preset: rails, address: "REDIS_ADDR" }
identity: { group_ids: "groups" }
`

// RailsRedisAttacks is a Redis holding Rails sessions as redis-store keeps
// them (the key "rack:session:2::" + the SHA-256 of the cookie's public
// id): Alice's JSON session, a Marshal one (redis-store's default
// serializer, made by Ruby in authz/session/framework/rails/testdata), and
// an admin's session kept under a public id, as before Rack 2.0.8, where a
// cookie holding that key's name would find it if lbauthz looked keys up
// by the cookie as it is.
type RailsRedisAttacks struct {
	addr                            string
	alice, marshal, legacy, private string // cookie values
}

// NewRailsRedisAttacks writes the sessions into the Redis at addr.
func NewRailsRedisAttacks(t testing.TB, addr string) *RailsRedisAttacks {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(testenv.RepoRoot(), "authz", "session", "framework", "rails", "testdata", "store_vectors.json"))
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		MarshalRaw string `json:"marshal_raw_base64"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	marshal, err := base64.StdEncoding.DecodeString(v.MarshalRaw)
	if err != nil {
		t.Fatal(err)
	}
	r := &RailsRedisAttacks{addr: addr,
		alice:   "0f1e2d3c4b5a69788796a5b4c3d2e1f0",
		marshal: "aaaabbbbccccddddeeeeffff00001111",
		legacy:  "1234567890abcdef1234567890abcdef",
	}
	key := func(public string) string {
		sum := sha256.Sum256([]byte(public))
		return "rack:session:2::" + hex.EncodeToString(sum[:])
	}
	r.private = strings.TrimPrefix(key(r.alice), "rack:session:")
	session := func(user string) []byte {
		doc, _ := json.Marshal(map[string]any{"warden.user.user.key": []any{[]any{user}, "salt"}, "groups": []string{"eng"}})
		return doc
	}
	rc := redis.NewClient(&redis.Options{Addr: addr})
	defer rc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for k, val := range map[string][]byte{
		key(r.alice):               session("alice"),
		key(r.marshal):             marshal,
		"rack:session:" + r.legacy: session("admin"),
	} {
		if err := rc.Set(ctx, k, val, time.Hour).Err(); err != nil {
			t.Fatal(err)
		}
	}
	return r
}

// Engine builds an engine from RailsRedisAttackConfig.
func (r *RailsRedisAttacks) Engine(t testing.TB, baseURL, secretKey string) *authz.Engine {
	t.Helper()
	return Engine(t, strings.ReplaceAll(RailsRedisAttackConfig, "REDIS_ADDR", r.addr), baseURL, secretKey)
}

// Cases returns the attack table: Alice's public id holds; her private id
// as the cookie, a session kept under its public id, a Marshal session, a
// Rails signed cookie and an id over Rack's length give an anonymous page
// and a 401.
func (r *RailsRedisAttacks) Cases() []Case {
	var cases []Case
	add := casesFor(&cases, "_app_session=", "alice")
	add(true, "WithARailsRedisSessionID", r.alice)
	add(false, "WithARailsPrivateSessionIDAsTheCookie", r.private)
	add(false, "WithARailsSessionKeptUnderItsPublicID", r.legacy)
	add(false, "WithARailsRedisSessionInMarshal", r.marshal)
	add(false, "WithARailsSignedCookieInsteadOfAnID", "eyJfcmFpbHMiOnt9fQ%3D%3D--0123456789abcdef")
	add(false, "WithARailsSessionIDOf200HexDigits", strings.Repeat("ab", 100))
	return cases
}
