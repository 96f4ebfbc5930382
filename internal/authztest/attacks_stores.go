package authztest

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/lbauthz/lbauthz/authz"
)

func init() { moreAttacks = append(moreAttacks, (*Attacks).claimCases) }

// claimCases are tokens signed by the issuer whose claims or headers must
// still not hold: no "exp" (it would be valid forever), and a critical
// header extension the sidecar does not understand (RFC 7515 §4.1.11).
func (a *Attacks) claimCases() []Case {
	room := `{"room":"r1"}`
	var cases []Case
	for _, c := range []struct{ name, cookie string }{
		{"WithoutExp", "session=" + a.Session(nil, with(AliceClaims(), "exp", nil))},
		{"WithAnUnknownCriticalHeader", "session=" + a.Session(map[string]any{"crit": []any{"exp-v2"}, "exp-v2": false}, AliceClaims())},
	} {
		cases = append(cases, badCases(c.name, c.cookie, room)...)
	}
	return cases
}

// badCases are a page request and a token request with a credential that
// must not hold: an anonymous page, a 401.
func badCases(name, cookie, body string) []Case {
	return []Case{
		{Name: "Page" + name + "PassesAnonymous", Method: "GET", Path: "/docs", Cookie: cookie,
			Header: SpoofedIdentity, Want: Outcome{Allowed: true, Status: 200}},
		{Name: "AuthPath" + name + "Is401", Method: "POST", Path: AuthPath, Cookie: cookie,
			Body: body, Want: Outcome{Status: 401}},
	}
}

// RedisAttackConfig reads plain session ids from Redis under the prefix
// "sess:", as a Redis session library with unsigned cookies writes them.
// REDIS_ADDR is replaced by RedisAttacks.Engine.
const RedisAttackConfig = ConfigHead + `  redis: { address: "REDIS_ADDR", key_template: "sess:{id}" }
` + ConfigTail

// RedisAliceID is the session id of Alice's session in RedisAttacks.
const RedisAliceID = "Yq0bC2y3bVQ2cKk7wR2l3eX9ZQkz5mQx"

// RedisAttacks is a Redis holding Alice's session and, where an attacker
// would like a cookie to lead, documents of an admin: other keys of the
// database and keys under the sessions' prefix that no session library
// makes.
type RedisAttacks struct {
	addr string
	// adminKeys are the keys holding the admin's document, and the cookie
	// value that would reach each.
	adminKeys map[string]string
}

// NewRedisAttacks writes the sessions and the traps into the Redis at addr.
func NewRedisAttacks(t testing.TB, addr string) *RedisAttacks {
	t.Helper()
	long := strings.Repeat("A", 300)
	r := &RedisAttacks{addr: addr, adminKeys: map[string]string{
		"cache:user:1":                   "cache:user:1", // the app's cache, outside the prefix
		"sess:" + RedisAliceID + ":meta": RedisAliceID + ":meta",
		"sess:*":                         "*",
		"sess:{admin}":                   "{admin}",
		"sess:" + long:                   long,
	}}
	rc := redis.NewClient(&redis.Options{Addr: addr})
	defer rc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	admin, _ := json.Marshal(map[string]any{"sub": "admin", "groups": []string{"admins"}, "name": "Admin"})
	for k := range r.adminKeys {
		if err := rc.Set(ctx, k, admin, time.Hour).Err(); err != nil {
			t.Fatal(err)
		}
	}
	alice, _ := json.Marshal(Alice())
	if err := rc.Set(ctx, "sess:"+RedisAliceID, alice, time.Hour).Err(); err != nil {
		t.Fatal(err)
	}
	return r
}

// Engine builds an engine from RedisAttackConfig.
func (r *RedisAttacks) Engine(t testing.TB, baseURL, secretKey string) *authz.Engine {
	t.Helper()
	return Engine(t, strings.ReplaceAll(RedisAttackConfig, "REDIS_ADDR", r.addr), baseURL, secretKey)
}

// Cases returns the attack table of a Redis store: Alice's own id holds;
// every cookie that would name another key, or a key under the prefix that
// no session library makes (a ":" below a session, a pattern, a hash tag,
// an id of 300 characters), gives an anonymous page and a 401, never the
// admin.
func (r *RedisAttacks) Cases() []Case {
	room := `{"room":"r1"}`
	cases := []Case{
		{Name: "PageWithAliceSessionIDPassesAsAlice", Method: "GET", Path: "/docs", Cookie: "session=" + RedisAliceID,
			Header: SpoofedIdentity, Want: Outcome{Allowed: true, Status: 200, UserID: "alice"}},
		{Name: "AuthPathWithAliceSessionIDGetsAlicesToken", Method: "POST", Path: AuthPath, Cookie: "session=" + RedisAliceID,
			Body: room, Want: Outcome{Status: 200, UserID: "alice"}},
	}
	for _, c := range []struct{ name, key string }{
		{"WithAnotherKeyOfTheDatabase", "cache:user:1"},
		{"WithAKeyBelowASession", "sess:" + RedisAliceID + ":meta"},
		{"WithAStar", "sess:*"},
		{"WithAHashTag", "sess:{admin}"},
		{"WithAnIDOf300Characters", "sess:" + strings.Repeat("A", 300)},
	} {
		cases = append(cases, badCases("RedisKey"+c.name, "session="+r.adminKeys[c.key], room)...)
	}
	return cases
}
