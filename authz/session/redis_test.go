package session

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/lbauthz/lbauthz/internal/testenv"
)

// expressRedis starts real Redis, a real Express app keeping its sessions
// there with connect-redis, and the store lbauthz builds for the
// connect-redis preset.
func expressRedis(t *testing.T, maxAge time.Duration) (*testenv.Redis, *testenv.ExpressApp, Store) {
	t.Helper()
	r := testenv.StartRedis(t)
	app := testenv.StartExpressApp(t, testenv.ExpressOptions{
		Store: "redis", RedisURL: r.URL(), Secrets: []string{expressSecret}, MaxAge: maxAge,
	})
	rs, err := NewRedisStore(RedisOptions{Address: r.Addr, KeyTemplate: "sess:{id}", ExpiresPath: "cookie.expires", Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rs.Close() })
	store, err := NewExpressCookie([][]byte{[]byte(expressSecret)}, rs)
	if err != nil {
		t.Fatal(err)
	}
	return r, app, store
}

func alice() map[string]any {
	return map[string]any{"id": "alice", "name": "Alice", "groups": []string{"eng", "design"}}
}

func TestRedis_ExpressSessionOfTheRealAppResolves(t *testing.T) {
	_, app, store := expressRedis(t, time.Hour)
	cookie := app.Login(t, alice())
	id, err := resolveOnce(t, store, expressMapping(), cookie)
	wantUser(t, id, err, "alice", "eng", "design")
	if id.UserInfo()["name"] != "Alice" {
		t.Fatalf("userInfo = %v", id.UserInfo())
	}
	// The key's TTL (and cookie.expires) bound the session.
	if id.Expires().IsZero() || time.Until(id.Expires()) > time.Hour || time.Until(id.Expires()) < 50*time.Minute {
		t.Fatalf("expires in %s, want about an hour", time.Until(id.Expires()))
	}
}

func TestRedis_TamperedUnsignedAndWrongSecretAreInvalid(t *testing.T) {
	_, app, store := expressRedis(t, time.Hour)
	cookie := app.Login(t, alice())
	_, err := resolveOnce(t, store, expressMapping(), tamper(cookie))
	wantInvalid(t, err, "bad cookie signature", cookie)

	sid, _ := UnsignExpress(cookie, [][]byte{[]byte(expressSecret)})
	_, err = resolveOnce(t, store, expressMapping(), sid) // the bare id, unsigned
	wantInvalid(t, err, "not signed", sid)

	other, _ := NewExpressCookie([][]byte{[]byte("another app's secret")}, store.(*ExpressCookie).next)
	_, err = resolveOnce(t, other, expressMapping(), cookie)
	wantInvalid(t, err, "bad cookie signature", cookie)
}

func TestRedis_SecretRotationAcceptsTheOldSecret(t *testing.T) {
	r := testenv.StartRedis(t)
	// The app signs with its old secret; lbauthz already lists the new one
	// first and keeps the old one, as express-session does while rotating.
	app := testenv.StartExpressApp(t, testenv.ExpressOptions{Store: "redis", RedisURL: r.URL(), Secrets: []string{"old secret"}})
	rs, err := NewRedisStore(RedisOptions{Address: r.Addr, KeyTemplate: "sess:{id}"})
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	store, _ := NewExpressCookie([][]byte{[]byte("new secret"), []byte("old secret")}, rs)
	id, err := resolveOnce(t, store, expressMapping(), app.Login(t, alice()))
	wantUser(t, id, err, "alice", "eng", "design")
}

func TestRedis_LoggedOutSessionIsUnknown(t *testing.T) {
	_, app, store := expressRedis(t, time.Hour)
	cookie := app.Login(t, alice())
	app.Logout(t, cookie)
	_, err := resolveOnce(t, store, expressMapping(), cookie)
	wantInvalid(t, err, "unknown session", cookie)
}

func TestRedis_ExpiredSessionIsInvalidAndNotCachedPastItsEnd(t *testing.T) {
	r, app, store := expressRedis(t, 1500*time.Millisecond)
	cookie := app.Login(t, alice())
	res := NewResolver(store, expressMapping(), CacheOptions{TTL: time.Minute, NegativeTTL: time.Second, MaxEntries: 100})
	if _, err := res.Resolve(context.Background(), cookie); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1700 * time.Millisecond)
	// Redis dropped the key; the cache must not answer for it either.
	_, err := res.Resolve(context.Background(), cookie)
	wantInvalid(t, err, "", cookie)

	// A session whose cookie.expires has passed while its key lives on.
	c := redis.NewClient(&redis.Options{Addr: r.Addr})
	defer c.Close()
	doc, _ := json.Marshal(map[string]any{"cookie": map[string]any{"expires": time.Now().Add(-time.Minute).UTC().Format(time.RFC3339Nano)}, "user": alice()})
	if err := c.Set(context.Background(), "sess:stale-id", doc, time.Hour).Err(); err != nil {
		t.Fatal(err)
	}
	_, err = resolveOnce(t, store, expressMapping(), SignExpress("stale-id", []byte(expressSecret)))
	wantInvalid(t, err, "expired")
}

func TestRedis_SessionWithoutUserOrNotJSONIsInvalid(t *testing.T) {
	r, _, store := expressRedis(t, time.Hour)
	c := redis.NewClient(&redis.Options{Addr: r.Addr})
	defer c.Close()
	ctx := context.Background()
	c.Set(ctx, "sess:anon", `{"cookie":{"path":"/"}}`, time.Hour)
	c.Set(ctx, "sess:garbage", `not json`, time.Hour)
	c.HSet(ctx, "sess:hash", "a", "b")
	_, err := resolveOnce(t, store, expressMapping(), SignExpress("anon", []byte(expressSecret)))
	wantInvalid(t, err, "no user id")
	_, err = resolveOnce(t, store, expressMapping(), SignExpress("garbage", []byte(expressSecret)))
	wantInvalid(t, err, "not a JSON object")
	_, err = resolveOnce(t, store, expressMapping(), SignExpress("hash", []byte(expressSecret)))
	wantUnavailable(t, err, "hash")
}

func TestRedis_DownOrSlowIsUnavailableInTimeAndRecoversWithoutRestart(t *testing.T) {
	r, app, store := expressRedis(t, time.Hour)
	first := app.Login(t, alice())
	second := app.Login(t, map[string]any{"id": "bob"})
	res := NewResolver(store, expressMapping(), CacheOptions{TTL: time.Minute, NegativeTTL: time.Second, MaxEntries: 100})
	ask := func(cookie string, deadline time.Duration) (*Identity, time.Duration, error) {
		ctx, cancel := context.WithTimeout(context.Background(), deadline)
		defer cancel()
		start := time.Now()
		id, err := res.Resolve(ctx, cookie)
		return id, time.Since(start), err
	}
	if _, _, err := ask(first, time.Second); err != nil {
		t.Fatal(err)
	}

	r.Stop()
	_, took, err := ask(second, 200*time.Millisecond)
	wantUnavailable(t, err, second)
	if took > 250*time.Millisecond {
		t.Fatalf("a stopped Redis took %s to report (deadline 200ms)", took)
	}
	// The session already resolved is still served from the cache.
	if id, _, err := ask(first, 200*time.Millisecond); err != nil || id.UserID != "alice" {
		t.Fatalf("cached session while Redis is down: %v", err)
	}

	r.Start(t) // same address, same data
	id, _, err := ask(second, time.Second)
	wantUser(t, id, err, "bob")

	// A frozen Redis (accepts, never answers): unavailable within the deadline.
	third := app.Login(t, map[string]any{"id": "carol"})
	r.Pause()
	_, took, err = ask(third, 200*time.Millisecond)
	wantUnavailable(t, err, third)
	if took > 300*time.Millisecond {
		t.Fatalf("a frozen Redis took %s to report (deadline 200ms)", took)
	}
	r.Resume()
	id, _, err = ask(third, 2*time.Second)
	wantUser(t, id, err, "carol")
}
