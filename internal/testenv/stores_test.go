package testenv_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"

	"github.com/lbauthz/lbauthz/internal/testenv"
)

func TestStartRedis_RestartOnTheSameAddressKeepsTheData(t *testing.T) {
	r := testenv.StartRedis(t)
	c := redis.NewClient(&redis.Options{Addr: r.Addr})
	defer c.Close()
	ctx := context.Background()
	if err := c.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	r.Stop()
	if err := c.Ping(ctx).Err(); err == nil {
		t.Fatal("PING answered while Redis was stopped")
	}
	r.Start(t)
	if v, err := c.Get(ctx, "k").Result(); err != nil || v != "v" {
		t.Fatalf("after restart: GET k = %q, %v", v, err)
	}
}

func TestStartPostgres_AcceptsThePasswordAndRestarts(t *testing.T) {
	p := testenv.StartPostgres(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := pgx.Connect(ctx, strings.Replace(p.URL(), testenv.PostgresPassword, "wrong", 1)); err == nil {
		t.Fatal("a wrong password was accepted")
	}
	conn, err := pgx.Connect(ctx, p.URL())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, "CREATE TABLE t (x int); INSERT INTO t VALUES (7)"); err != nil {
		t.Fatal(err)
	}
	conn.Close(ctx)
	p.Stop()
	p.Start(t)
	conn, err = pgx.Connect(ctx, p.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var x int
	if err := conn.QueryRow(ctx, "SELECT x FROM t").Scan(&x); err != nil || x != 7 {
		t.Fatalf("after restart: x = %d, %v", x, err)
	}
}

func TestExpressApp_SetsASignedCookieAndKnowsTheUser(t *testing.T) {
	r := testenv.StartRedis(t)
	app := testenv.StartExpressApp(t, testenv.ExpressOptions{Store: "redis", RedisURL: r.URL(), Secrets: []string{"keyboard cat"}})
	cookie := app.Login(t, map[string]any{"id": "alice"})
	if !strings.HasPrefix(cookie, "s%3A") {
		t.Fatalf("the cookie is not express-session's signed, URL-encoded form (%d bytes)", len(cookie))
	}
	req, _ := http.NewRequest("GET", app.URL+"/api/me", nil)
	req.Header.Set("Cookie", "connect.sid="+cookie)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("/api/me with the cookie answered %d", resp.StatusCode)
	}
	keys, err := redis.NewClient(&redis.Options{Addr: r.Addr}).Keys(context.Background(), "sess:*").Result()
	if err != nil || len(keys) != 1 {
		t.Fatalf("connect-redis keys: %d, %v", len(keys), err)
	}
}
