package authz_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/lbauthz/lbauthz/authz"
	"github.com/lbauthz/lbauthz/authz/config"
	"github.com/lbauthz/lbauthz/internal/assemble"
	"github.com/lbauthz/lbauthz/internal/authztest"
	"github.com/lbauthz/lbauthz/internal/testenv"
)

const expressSecret = "the express app's cookie secret, 0123456789"

// expressRedisConfig is what an Express + connect-redis team writes: the
// Redis address and the file holding the app's cookie secret.
const expressRedisConfig = `
liveblocks:
  timeout: "2s"
session:
  redis: { preset: connect-redis, address: "REDIS_ADDR" }
  cookie_secret_files: ["SECRET_FILE"]
  ON_STORE_ERROR
identity:
  user_id: "user.id"
  group_ids: "user.groups"
  user_info: { name: "user.name" }
  groups: { template: "org:{value}" }
`

// storeEngine builds an engine from YAML with the express secret in a file
// and a debug logger whose lines the test reads.
func storeEngine(t *testing.T, yaml, devURL string, repl ...string) (*authz.Engine, *observer.ObservedLogs) {
	t.Helper()
	sf := filepath.Join(t.TempDir(), "express-secret")
	if err := os.WriteFile(sf, []byte(expressSecret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	repl = append(repl, "SECRET_FILE", sf)
	yaml = strings.NewReplacer(repl...).Replace(yaml)
	env := map[string]string{"LIVEBLOCKS_BASE_URL": devURL, "LIVEBLOCKS_SECRET_KEY": testenv.DevSecretKey}
	getenv := func(k string) string { return env[k] }
	cfg, err := config.Parse("test.yaml", []byte(yaml), getenv)
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	sec, err := config.ReadSecrets(cfg, getenv)
	if err != nil {
		t.Fatalf("secrets: %v", err)
	}
	core, logs := observer.New(zapcore.DebugLevel)
	e, err := assemble.Engine(cfg, sec, zap.New(core))
	if err != nil {
		t.Fatalf("engine: %v", err)
	}
	return e, logs
}

func expressCookie(v string) map[string]string {
	return map[string]string{"cookie": "connect.sid=" + v}
}

func tokenOf(t *testing.T, r authztest.CheckResult) map[string]any {
	t.Helper()
	if r.GRPCError != nil || r.Allowed || r.Status != 200 {
		t.Fatalf("want the token (HTTP 200), got status=%d allowed=%v err=%v body=%s", r.Status, r.Allowed, r.GRPCError, r.Body)
	}
	var body struct{ Token string }
	if err := json.Unmarshal([]byte(r.Body), &body); err != nil || body.Token == "" {
		t.Fatalf("body is not {\"token\": ...}: %v", err)
	}
	return authztest.TokenClaims(t, body.Token)
}

func TestCheck_ExpressSessionInRedisGetsTheDevServerToken(t *testing.T) {
	_, lb := authztest.DevServer(t)
	r := testenv.StartRedis(t)
	app := testenv.StartExpressApp(t, testenv.ExpressOptions{Store: "redis", RedisURL: r.URL(), Secrets: []string{expressSecret}})
	e, logs := storeEngine(t, expressRedisConfig, lb.URL, "REDIS_ADDR", r.Addr, "ON_STORE_ERROR", "")
	c := authztest.GRPC(t, e)
	cookie := app.Login(t, map[string]any{"id": "alice", "name": "Alice", "groups": []string{"eng", "design"}})

	claims := tokenOf(t, authztest.Check(t, c, authztest.CheckRequest("POST", authPath, expressCookie(cookie), `{"room":"r1"}`), 2*time.Second))
	if claims["k"] != "id" || claims["uid"] != "alice" {
		t.Fatalf("claims k=%v uid=%v", claims["k"], claims["uid"])
	}
	if g, _ := json.Marshal(claims["gids"]); string(g) != `["org:eng","org:design"]` {
		t.Fatalf("gids = %s", g)
	}
	if ui, _ := json.Marshal(claims["ui"]); string(ui) != `{"name":"Alice"}` {
		t.Fatalf("ui = %s", ui)
	}

	// Pass-through: the identity goes to the app in headers.
	res := authztest.Check(t, c, authztest.CheckRequest("GET", "/dashboard", expressCookie(cookie), ""), 2*time.Second)
	if !res.Allowed || res.Set["x-user-id"] != "alice" || res.Set["x-user-groups"] != "org:eng,org:design" {
		t.Fatalf("pass-through: allowed=%v headers=%v", res.Allowed, res.Set)
	}

	// A tampered cookie and a logged-out session: 401, the reason in the
	// debug line, no session value anywhere in the logs.
	tampered := strings.Replace(cookie, "s%3A", "s%3AX", 1)
	if res := authztest.Check(t, c, authztest.CheckRequest("POST", authPath, expressCookie(tampered), `{}`), 2*time.Second); res.Status != 401 {
		t.Fatalf("tampered cookie: status %d", res.Status)
	}
	app.Logout(t, cookie)
	other := app.Login(t, map[string]any{"id": "bob"})
	app.Logout(t, other)
	if res := authztest.Check(t, c, authztest.CheckRequest("POST", authPath, expressCookie(other), `{}`), 2*time.Second); res.Status != 401 {
		t.Fatalf("logged-out session: status %d", res.Status)
	}
	reasons := map[string]bool{}
	for _, entry := range logs.All() {
		line, _ := json.Marshal(entry.ContextMap())
		for _, secret := range []string{cookie, other, tampered, strings.SplitN(strings.TrimPrefix(cookie, "s%3A"), ".", 2)[0]} {
			if strings.Contains(entry.Message+string(line), secret) {
				t.Fatal("a log line holds a session value")
			}
		}
		if r, ok := entry.ContextMap()["reason"].(string); ok {
			reasons[r] = true
		}
	}
	if !reasons["bad cookie signature"] || !reasons["unknown session"] {
		t.Fatalf("debug reasons logged: %v", reasons)
	}
}

func TestCheck_RedisDownIs503OnTheAuthPathAndRecoversWithoutRestart(t *testing.T) {
	_, lb := authztest.DevServer(t)
	r := testenv.StartRedis(t)
	app := testenv.StartExpressApp(t, testenv.ExpressOptions{Store: "redis", RedisURL: r.URL(), Secrets: []string{expressSecret}})
	anonymous, _ := storeEngine(t, expressRedisConfig, lb.URL, "REDIS_ADDR", r.Addr, "ON_STORE_ERROR", "")
	strict, _ := storeEngine(t, expressRedisConfig, lb.URL, "REDIS_ADDR", r.Addr, "ON_STORE_ERROR", "on_store_error: unavailable")
	ca, cs := authztest.GRPC(t, anonymous), authztest.GRPC(t, strict)
	alice := app.Login(t, map[string]any{"id": "alice"})
	bob := app.Login(t, map[string]any{"id": "bob"})

	r.Stop()
	// Envoy's default ext_authz timeout: 200ms.
	start := time.Now()
	res := authztest.Check(t, ca, authztest.CheckRequest("POST", authPath, expressCookie(alice), `{}`), 200*time.Millisecond)
	if res.GRPCError != nil || res.Status != 503 {
		t.Fatalf("auth path with Redis down: status %d, err %v (want 503, never 401)", res.Status, res.GRPCError)
	}
	if took := time.Since(start); took > 200*time.Millisecond {
		t.Fatalf("answered in %s, after Envoy's 200ms", took)
	}
	res = authztest.Check(t, ca, authztest.CheckRequest("GET", "/dashboard", expressCookie(bob), ""), 200*time.Millisecond)
	if !res.Allowed || res.Set["x-user-id"] != "" || !contains(res.Removed, "x-user-id") {
		t.Fatalf("pass-through with Redis down (anonymous): allowed=%v set=%v removed=%v", res.Allowed, res.Set, res.Removed)
	}
	res = authztest.Check(t, cs, authztest.CheckRequest("GET", "/dashboard", expressCookie(bob), ""), 200*time.Millisecond)
	if res.Allowed || res.Status != 503 {
		t.Fatalf("pass-through with Redis down (on_store_error: unavailable): allowed=%v status=%d", res.Allowed, res.Status)
	}

	r.Start(t) // same port, same data: no restart of the sidecar
	claims := tokenOf(t, authztest.Check(t, ca, authztest.CheckRequest("POST", authPath, expressCookie(alice), `{}`), 2*time.Second))
	if claims["uid"] != "alice" {
		t.Fatalf("after Redis came back: uid=%v", claims["uid"])
	}
	res = authztest.Check(t, cs, authztest.CheckRequest("GET", "/dashboard", expressCookie(bob), ""), 2*time.Second)
	if !res.Allowed || res.Set["x-user-id"] != "bob" {
		t.Fatalf("pass-through after Redis came back: allowed=%v set=%v", res.Allowed, res.Set)
	}
}

func TestCheck_PostgresDownIs503AndRecovers(t *testing.T) {
	_, lb := authztest.DevServer(t)
	pg := testenv.StartPostgres(t)
	app := testenv.StartExpressApp(t, testenv.ExpressOptions{Store: "pg", PostgresURL: pg.URL(), Secrets: []string{expressSecret}})
	pwFile := filepath.Join(t.TempDir(), "pg-password")
	if err := os.WriteFile(pwFile, []byte(testenv.PostgresPassword), 0o600); err != nil {
		t.Fatal(err)
	}
	e, _ := storeEngine(t, `
liveblocks: { timeout: "2s" }
session:
  sql: { preset: connect-pg-simple, dsn: "DSN", password_file: "PW_FILE" }
  cookie_secret_files: ["SECRET_FILE"]
identity: { user_id: "user.id" }
`, lb.URL, "DSN", pg.DSN(), "PW_FILE", pwFile)
	c := authztest.GRPC(t, e)
	alice := app.Login(t, map[string]any{"id": "alice"})
	bob := app.Login(t, map[string]any{"id": "bob"})
	if claims := tokenOf(t, authztest.Check(t, c, authztest.CheckRequest("POST", authPath, expressCookie(alice), `{}`), 2*time.Second)); claims["uid"] != "alice" {
		t.Fatalf("uid=%v", claims["uid"])
	}
	pg.Stop()
	if res := authztest.Check(t, c, authztest.CheckRequest("POST", authPath, expressCookie(bob), `{}`), 200*time.Millisecond); res.Status != 503 {
		t.Fatalf("auth path with PostgreSQL down: status %d, err %v", res.Status, res.GRPCError)
	}
	if res := authztest.Check(t, c, authztest.CheckRequest("GET", "/", expressCookie(bob), ""), 200*time.Millisecond); !res.Allowed || res.Set["x-user-id"] != "" {
		t.Fatalf("pass-through with PostgreSQL down: allowed=%v set=%v", res.Allowed, res.Set)
	}
	pg.Start(t)
	if claims := tokenOf(t, authztest.Check(t, c, authztest.CheckRequest("POST", authPath, expressCookie(bob), `{}`), 2*time.Second)); claims["uid"] != "bob" {
		t.Fatalf("after PostgreSQL came back: uid=%v", claims["uid"])
	}
}

func TestCheck_IntrospectionAsksTheAppWhoTheUserIs(t *testing.T) {
	_, lb := authztest.DevServer(t)
	r := testenv.StartRedis(t)
	app := testenv.StartExpressApp(t, testenv.ExpressOptions{Store: "redis", RedisURL: r.URL(), Secrets: []string{expressSecret}})
	e, _ := storeEngine(t, `
liveblocks: { timeout: "2s" }
session:
  cookie: connect.sid
  introspection: { url: "APP_URL/api/me" }
identity: { user_id: "id", group_ids: "groups" }
`, lb.URL, "APP_URL", app.URL)
	c := authztest.GRPC(t, e)
	cookie := app.Login(t, map[string]any{"id": "alice", "groups": []string{"eng"}})
	claims := tokenOf(t, authztest.Check(t, c, authztest.CheckRequest("POST", authPath, expressCookie(cookie), `{}`), 2*time.Second))
	if claims["uid"] != "alice" {
		t.Fatalf("uid=%v", claims["uid"])
	}
	bob := app.Login(t, map[string]any{"id": "bob"})
	app.Stop()
	if res := authztest.Check(t, c, authztest.CheckRequest("POST", authPath, expressCookie(bob), `{}`), 200*time.Millisecond); res.Status != 503 {
		t.Fatalf("auth path with the app down: status %d", res.Status)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

const authPath = "/api/liveblocks-auth"

// A 401 tells the client one of a few fixed reasons; what the store said
// (a database error code, the config path of the user id, the signature
// check) stays in the decision's log line. Here a real PostgreSQL refuses
// a cookie that is not a UUID with SQLSTATE 22P02.
func TestAuthPath_401GivesAStableReasonAndLogsTheStoresOwn(t *testing.T) {
	_, lb := authztest.DevServer(t)
	pg := testenv.StartPostgres(t)
	pwFile := filepath.Join(t.TempDir(), "pg-password")
	if err := os.WriteFile(pwFile, []byte(testenv.PostgresPassword), 0o600); err != nil {
		t.Fatal(err)
	}
	e, logs := storeEngine(t, `
liveblocks: { timeout: "2s" }
log: { access_level: debug }
session:
  cookie: "sid"
  sql:
    dsn: "DSN"
    password_file: "PW_FILE"
    query: "SELECT json_build_object('account', json_build_object('id', 'alice')) AS doc WHERE $1::uuid = '6f1c9a53-4d0e-4d8e-9a51-2f3b7c1e0d42'"
    json_column: "doc"
identity: { user_id: "account.id" }
`, lb.URL, "DSN", pg.DSN(), "PW_FILE", pwFile)
	c := authztest.GRPC(t, e)
	for _, tc := range []struct {
		name, cookie, body, logged string
	}{
		{"NoCookie", "", "no session cookie", "no session cookie"},
		{"TwoCookies", "sid=6f1c9a53-4d0e-4d8e-9a51-2f3b7c1e0d42; sid=6f1c9a53-4d0e-4d8e-9a51-2f3b7c1e0d43", "more than one session cookie", "more than one session cookie"},
		{"NotAUUIDForTheQuery", "sid=not-a-uuid", "invalid or expired session", "SQLSTATE 22P02"},
		{"UnknownSession", "sid=00000000-0000-0000-0000-000000000000", "invalid or expired session", "unknown session"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := map[string]string{}
			if tc.cookie != "" {
				h["cookie"] = tc.cookie
			}
			logs.TakeAll()
			r := authztest.Check(t, c, authztest.CheckRequest("POST", authPath, h, `{}`), 2*time.Second)
			want := `{"error":"unauthorized","reason":"` + tc.body + `"}`
			if r.Status != 401 || r.Body != want {
				t.Fatalf("status %d body %s, want 401 %s", r.Status, r.Body, want)
			}
			var reasons []string
			for _, entry := range logs.All() {
				if s, ok := entry.ContextMap()["reason"].(string); ok {
					reasons = append(reasons, s)
				}
			}
			if !strings.Contains(strings.Join(reasons, "|"), tc.logged) {
				t.Fatalf("logged reasons %q, want one holding %q", reasons, tc.logged)
			}
		})
	}
	if r := authztest.Check(t, c, authztest.CheckRequest("POST", authPath, map[string]string{"cookie": "sid=6f1c9a53-4d0e-4d8e-9a51-2f3b7c1e0d42"}, `{}`), 2*time.Second); r.Status != 200 {
		t.Fatalf("the query's one session: status %d %s, want its token", r.Status, r.Body)
	}
}
