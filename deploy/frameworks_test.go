package deploy_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"github.com/jackc/pgx/v5"
	"google.golang.org/grpc/codes"

	"github.com/lbauthz/lbauthz/authz"
	"github.com/lbauthz/lbauthz/authz/door/httpdoor"
	"github.com/lbauthz/lbauthz/internal/authztest"
	"github.com/lbauthz/lbauthz/internal/testenv"
)

// Each web framework's own sessions read natively: the real framework
// (Django, Flask with Flask-Login, PHP's native sessions) signs alice in
// through its own login code, and lbauthz reads that session through the
// gRPC door and through a real nginx with nginx/nginx.conf: the user id
// and groups, a token from the real Liveblocks dev server, and a refusal
// once the framework has logged the session out or it has expired.

// frameworkRig is one engine served at both doors: gRPC, and the HTTP door
// behind nginx in front of the echo app.
type frameworkRig struct {
	grpc  authv3.AuthorizationClient
	nginx string // http://host:port
	lb    *authztest.Counter
	// cookie is the name of the app's session cookie.
	cookie string
}

// frameworkYAML is completed by each test's session block. The cache is
// short, so a logout shows within the test.
const frameworkYAML = `
liveblocks: { timeout: "5s" }
session:
  cache: { ttl: "300ms", negative_ttl: "300ms" }
SESSION
upstream_headers: { user_id: "x-user-id", group_ids: "x-user-groups" }
`

func newFrameworkRig(t *testing.T, cookie, sessionYAML string) *frameworkRig {
	t.Helper()
	bin := nginxBinary(t)
	_, lb := authztest.DevServer(t)
	yaml := strings.Replace(frameworkYAML, "SESSION\n", sessionYAML, 1)
	e := authztest.Engine(t, yaml, lb.URL, testenv.DevSecretKey)
	h := authz.NewHolder(e)
	srv := httptest.NewServer(httpdoor.New(h, httpdoor.Options{}))
	t.Cleanup(srv.Close)
	app := startApp(t)
	listen := testenv.FreeAddr(t)
	prefix, conf := renderNginx(t, nginxAddrs{
		Listen:  listen,
		Lbauthz: strings.TrimPrefix(srv.URL, "http://"),
		App:     strings.TrimPrefix(app.URL, "http://"),
	})
	p := testenv.Start(t, "nginx", exec.Command(bin, "-p", prefix+"/", "-c", conf, "-g", "daemon off;"))
	testenv.WaitTCP(t, p, listen, 10*time.Second)
	return &frameworkRig{grpc: authztest.GRPC(t, e), nginx: "http://" + listen, lb: lb, cookie: cookie}
}

// secretFile writes an app's secret into a file of its own.
func secretFile(t *testing.T, secret string) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), "app-secret")
	if err := os.WriteFile(f, []byte(secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

// signedIn checks that the session cookie value is the user with groups at
// both doors: the identity headers of a page, and the dev server's token.
func (r *frameworkRig) signedIn(t *testing.T, value, user string, groups []string) {
	t.Helper()
	cookie := r.cookie + "=" + value
	// gRPC: the page passes with the identity, the auth path gets a token.
	res := r.check(t, "GET", "/dashboard", cookie, "")
	if !res.allowed || res.set["x-user-id"] != user || res.set["x-user-groups"] != strings.Join(groups, ",") {
		t.Fatalf("gRPC page: allowed=%v headers=%v, want user %q groups %v", res.allowed, res.set, user, groups)
	}
	res = r.check(t, "POST", authztest.AuthPath, cookie, `{"room":"r1"}`)
	if res.allowed || res.status != 200 {
		t.Fatalf("gRPC auth path: status %d (%s)", res.status, res.body)
	}
	r.tokenIs(t, res.body, user, groups)

	// nginx: the app sees the identity, the auth path answers the token.
	resp, body := through(t, r.nginx, "GET", "/docs", cookie, "", nil)
	a, ok := appAnswer(body)
	if !ok || resp.StatusCode != 200 || strings.Join(a.UserID, "") != user || strings.Join(a.UserGroups, "") != strings.Join(groups, ",") {
		t.Fatalf("nginx page: status %d, app saw %+v", resp.StatusCode, a)
	}
	resp, body = through(t, r.nginx, "POST", authztest.AuthPath, cookie, `{"room":"r1"}`,
		map[string]string{"Content-Type": "application/json"})
	if resp.StatusCode != 200 {
		t.Fatalf("nginx auth path: status %d (%s)", resp.StatusCode, body)
	}
	r.tokenIs(t, body, user, groups)
}

// refused checks that the value holds no session at either door: an
// anonymous page and a 401 on the auth path, without calling Liveblocks.
func (r *frameworkRig) refused(t *testing.T, value string) {
	t.Helper()
	cookie := r.cookie + "=" + value
	before := r.lb.Calls()
	if res := r.check(t, "POST", authztest.AuthPath, cookie, `{"room":"r1"}`); res.allowed || res.status != 401 {
		t.Fatalf("gRPC auth path: allowed=%v status %d, want 401", res.allowed, res.status)
	}
	if res := r.check(t, "GET", "/dashboard", cookie, ""); !res.allowed || res.set["x-user-id"] != "" {
		t.Fatalf("gRPC page: allowed=%v headers=%v, want anonymous", res.allowed, res.set)
	}
	if resp, body := through(t, r.nginx, "POST", authztest.AuthPath, cookie, `{"room":"r1"}`,
		map[string]string{"Content-Type": "application/json"}); resp.StatusCode != 401 {
		t.Fatalf("nginx auth path: status %d (%s), want 401", resp.StatusCode, body)
	}
	if resp, body := through(t, r.nginx, "GET", "/docs", cookie, "", nil); resp.StatusCode != 200 {
		t.Fatalf("nginx page: status %d", resp.StatusCode)
	} else if a, ok := appAnswer(body); !ok || len(a.UserID) != 0 {
		t.Fatalf("nginx page: the app saw %+v, want no identity", a)
	}
	if n := r.lb.Calls() - before; n != 0 {
		t.Fatalf("Liveblocks was called %d times for a refused session", n)
	}
}

func (r *frameworkRig) tokenIs(t *testing.T, body, user string, groups []string) {
	t.Helper()
	var tok struct{ Token string }
	if err := json.Unmarshal([]byte(body), &tok); err != nil || tok.Token == "" {
		t.Fatalf("not a token answer: %s", body)
	}
	claims := authztest.TokenClaims(t, tok.Token)
	g, _ := json.Marshal(claims["gids"])
	want, _ := json.Marshal(groups)
	if len(groups) == 0 && string(g) == "null" {
		g = want // no groups: the token has none
	}
	if claims["uid"] != user || string(g) != string(want) {
		t.Fatalf("token uid=%v gids=%s, want %q %s", claims["uid"], g, user, want)
	}
}

type grpcResult struct {
	allowed bool
	status  int
	set     map[string]string
	body    string
}

func (r *frameworkRig) check(t *testing.T, method, path, cookie, body string) grpcResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := r.grpc.Check(ctx, authztest.CheckRequest(method, path, map[string]string{"cookie": cookie}, body))
	if err != nil {
		t.Fatalf("Check: %v", err)
	}
	out := grpcResult{set: map[string]string{}}
	if codes.Code(resp.GetStatus().GetCode()) == codes.OK {
		out.allowed, out.status = true, 200
		for _, h := range resp.GetOkResponse().GetHeaders() {
			out.set[h.GetHeader().GetKey()] = h.GetHeader().GetValue()
		}
		return out
	}
	d := resp.GetDeniedResponse()
	out.status, out.body = int(d.GetStatus().GetCode()), d.GetBody()
	return out
}

// afterCache waits for the cache to forget what it knew of a session.
func afterCache() { time.Sleep(400 * time.Millisecond) }

func TestFrameworks_DjangoDatabaseSessionsOnPostgres(t *testing.T) {
	for _, engine := range []string{"db", "cached_db"} {
		t.Run(engine, func(t *testing.T) {
			pg := testenv.StartPostgres(t)
			secret := secretFile(t, "django-insecure-test-key-"+engine+"-0123456789abcdef")
			app := testenv.StartDjango(t, testenv.DjangoOptions{Engine: engine, PostgresURL: pg.URL(), SecretKeyFile: secret})
			pw := secretFile(t, testenv.PostgresPassword)
			r := newFrameworkRig(t, "sessionid", `
  sql: { preset: django, dsn: "`+pg.DSN()+`", password_file: "`+pw+`" }
  app_secret_files: ["`+secret+`"]
`)
			// A password reset ends the user's sessions, as in Django.
			cookie, uid := app.Login(t)
			r.signedIn(t, cookie, uid, []string{"editors", "staff"})
			app.Post(t, "/password")
			afterCache()
			r.refused(t, cookie)
			// So does the logout.
			cookie, uid = app.Login(t)
			r.signedIn(t, cookie, uid, []string{"editors", "staff"})
			app.Logout(t, cookie)
			afterCache()
			r.refused(t, cookie)
		})
	}
}

// Django's db backend on MariaDB through Django's own mysql backend
// (Debian's python3-mysqldb), read through the MySQL driver of the sql
// store.
func TestFrameworks_DjangoDatabaseSessionsOnMariaDB(t *testing.T) {
	db := testenv.StartMariaDB(t)
	secret := secretFile(t, "django-insecure-test-key-mariadb-0123456789abcdef")
	app := testenv.StartDjango(t, testenv.DjangoOptions{Engine: "db", MariaDB: db, SecretKeyFile: secret})
	pw := secretFile(t, testenv.MariaDBPassword)
	r := newFrameworkRig(t, "sessionid", `
  sql: { preset: django, driver: mysql, dsn: "`+db.DSN()+`", password_file: "`+pw+`" }
  app_secret_files: ["`+secret+`"]
`)
	cookie, uid := app.Login(t)
	r.signedIn(t, cookie, uid, []string{"editors", "staff"})
	app.Post(t, "/password")
	afterCache()
	r.refused(t, cookie)
	cookie, uid = app.Login(t)
	r.signedIn(t, cookie, uid, []string{"editors", "staff"})
	app.Logout(t, cookie)
	afterCache()
	r.refused(t, cookie)
}

func TestFrameworks_DjangoSignedCookies(t *testing.T) {
	secret := secretFile(t, "django-insecure-signed-cookie-key-0123456789")
	app := testenv.StartDjango(t, testenv.DjangoOptions{Engine: "signed_cookies", SecretKeyFile: secret, CookieAge: 3 * time.Second})
	// signed_cookies sessions carry no groups: Django reads them from the
	// database, which this backend does not involve.
	r := newFrameworkRig(t, "sessionid", `
  signed_cookie: { preset: django, max_age: "3s" }
  app_secret_files: ["`+secret+`"]
`)
	cookie, uid := app.Login(t)
	r.signedIn(t, cookie, uid, []string{})
	// The logout gives a new cookie without the user; the old one stays
	// valid until its age runs out, for Django as for lbauthz.
	if after := app.Logout(t, cookie); after != "" {
		r.refused(t, after)
	}
	time.Sleep(3500 * time.Millisecond)
	r.refused(t, cookie)
}

func TestFrameworks_FlaskLogin(t *testing.T) {
	secret := secretFile(t, "flask-test-secret-key-0123456789abcdef")
	app := testenv.StartFlask(t, testenv.FlaskOptions{SecretKeyFile: secret, Lifetime: 3 * time.Second})
	r := newFrameworkRig(t, "session", `
  signed_cookie: { preset: flask, max_age: "3s" }
  app_secret_files: ["`+secret+`"]
identity: { user_id: "_user_id", group_ids: "groups" }
`)
	cookie, uid := app.Login(t)
	r.signedIn(t, cookie, uid, []string{"editors", "staff"})
	if after := app.Logout(t, cookie); after != "" {
		r.refused(t, after)
	}
	time.Sleep(3500 * time.Millisecond)
	r.refused(t, cookie)
}

func TestFrameworks_PHPNativeSessionsInFiles(t *testing.T) {
	for _, handler := range []string{"php", "php_serialize"} {
		t.Run(handler, func(t *testing.T) {
			dir := t.TempDir()
			app := testenv.StartPHP(t, testenv.PHPOptions{SaveHandler: "files", SavePath: dir, SerializeHandler: handler})
			r := newFrameworkRig(t, "PHPSESSID", `
  files: { preset: php, path: "`+dir+`", serialize_handler: `+handler+` }
identity: { user_id: "user_id", group_ids: "groups" }
`)
			cookie, uid := app.Login(t)
			r.signedIn(t, cookie, uid, []string{"editors", "staff"})
			app.Logout(t, cookie)
			afterCache()
			r.refused(t, cookie)
		})
	}
}

func TestFrameworks_PHPNativeSessionsInRedis(t *testing.T) {
	for _, handler := range []string{"php", "php_serialize"} {
		t.Run(handler, func(t *testing.T) {
			rd := testenv.StartRedis(t)
			app := testenv.StartPHP(t, testenv.PHPOptions{SaveHandler: "redis", SavePath: "tcp://" + rd.Addr, SerializeHandler: handler})
			r := newFrameworkRig(t, "PHPSESSID", `
  redis: { preset: phpredis, address: "`+rd.Addr+`", serialize_handler: `+handler+` }
identity: { user_id: "user_id", group_ids: "groups" }
`)
			cookie, uid := app.Login(t)
			r.signedIn(t, cookie, uid, []string{"editors", "staff"})
			app.Logout(t, cookie)
			afterCache()
			r.refused(t, cookie)
		})
	}
}

// Laravel is not in Debian: the app is a PHP stand-in writing Laravel's
// documented session formats with PHP's own openssl_* functions
// (internal/testenv/frameworks/laravel_format_app.php), not Laravel.
func TestFrameworks_LaravelFormatSessions(t *testing.T) {
	appKey := "base64:" + base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef"))
	oldKey := "base64:" + base64.StdEncoding.EncodeToString([]byte("fedcba9876543210fedcba9876543210"))
	for _, c := range []struct {
		driver, cipher string
		encrypt        bool
	}{
		{"file", "aes-256-cbc", false}, {"file", "aes-256-gcm", false}, {"redis", "aes-256-cbc", false},
		{"database", "aes-256-cbc", false},
		{"file", "aes-256-gcm", true}, {"redis", "aes-256-cbc", true}, {"database", "aes-256-gcm", true},
	} {
		name := c.driver + "/" + c.cipher
		if c.encrypt {
			name += "/encrypted"
		}
		t.Run(name, func(t *testing.T) {
			// The app signs with the old key: lbauthz lists the new key
			// first, as after a rotation with APP_PREVIOUS_KEYS.
			opts := testenv.LaravelFormatOptions{AppKey: oldKey, Cipher: c.cipher, Driver: c.driver, Encrypt: c.encrypt}
			store := ""
			switch c.driver {
			case "redis":
				rd := testenv.StartRedis(t)
				opts.RedisAddr = rd.Addr
				store = `  redis: { preset: laravel, address: "` + rd.Addr + `" }`
			case "database":
				db := testenv.StartMariaDB(t)
				opts.MariaDB = db
				store = `  sql: { preset: laravel, driver: mysql, dsn: "` + db.DSN() + `", password_file: "` + secretFile(t, testenv.MariaDBPassword) + `" }`
			default:
				opts.SessionPath = t.TempDir()
				store = `  files: { preset: laravel, path: "` + opts.SessionPath + `" }`
			}
			app := testenv.StartLaravelFormat(t, opts)
			r := newFrameworkRig(t, "laravel_session", store+`
  app_secret_files: ["`+secretFile(t, appKey)+`", "`+secretFile(t, oldKey)+`"]
identity: { group_ids: "groups" }
`)
			cookie, uid := app.Login(t)
			r.signedIn(t, cookie, uid, []string{"editors", "staff"})
			app.Logout(t, cookie)
			afterCache()
			r.refused(t, cookie)
		})
	}
}

// Devise is not in Debian: the Rails app's login writes what Devise's
// Warden serializer writes ("warden.user.user.key" => [[id], salt]).
func TestFrameworks_RailsCookieStore(t *testing.T) {
	secret := secretFile(t, "rails-secret-key-base-for-tests-0123456789abcdef0123456789abcdef")
	old := secretFile(t, "an-older-secret-key-base-the-app-rotated-from-0123456789")
	app := testenv.StartRails(t, testenv.RailsOptions{SecretKeyBaseFile: secret, ExpireAfter: 3 * time.Second})
	r := newFrameworkRig(t, "_app_session", `  cookie: "_app_session"
  signed_cookie: { preset: rails }
  app_secret_files: ["`+secret+`", "`+old+`"]
identity: { group_ids: "groups" }
`)
	cookie, uid := app.Login(t)
	r.signedIn(t, cookie, uid, []string{"editors", "staff"})
	// reset_session gives a new cookie without the user; the old one
	// holds until its expiry, for Rails as for lbauthz.
	if after := app.Logout(t, cookie); after != "" {
		r.refused(t, after)
	}
	time.Sleep(3500 * time.Millisecond)
	r.refused(t, cookie)
}

// redis-actionpack's Redis session store (Debian's ruby-redis-actionpack)
// in the real Rails app, with redis-store's JSON serializer: the cookie
// holds Rack's public session id, Redis the session under its SHA-256.
func TestFrameworks_RailsRedisStore(t *testing.T) {
	rd := testenv.StartRedis(t)
	secret := secretFile(t, "rails-secret-key-base-for-tests-0123456789abcdef0123456789abcdef")
	app := testenv.StartRails(t, testenv.RailsOptions{SecretKeyBaseFile: secret, RedisAddr: rd.Addr, ExpireAfter: 3 * time.Second})
	r := newFrameworkRig(t, "_app_session", `  cookie: "_app_session"
  redis: { preset: rails, address: "`+rd.Addr+`", key_template: "session:2::{id}" }
identity: { group_ids: "groups" }
`)
	cookie, uid := app.Login(t)
	r.signedIn(t, cookie, uid, []string{"editors", "staff"})
	// reset_session deletes the session from Redis.
	app.Logout(t, cookie)
	afterCache()
	r.refused(t, cookie)
	// expire_after is the key's TTL.
	cookie, uid = app.Login(t)
	r.signedIn(t, cookie, uid, []string{"editors", "staff"})
	time.Sleep(3500 * time.Millisecond)
	r.refused(t, cookie)
}

// activerecord-session_store is not in Debian: its rows are fixtures of the
// gem's documented format (the "sessions" table of its migration, the
// private id "2::" + SHA-256 of the cookie's public id, data written by the
// :json serializer, or Base64 of Marshal by the default :marshal one) made
// with Ruby's own JSON, Marshal and Digest by
// authz/session/framework/rails/testdata/make_store_vectors.rb, not rows the
// gem wrote. PostgreSQL and the doors are real.
func TestFrameworks_RailsActiveRecordStoreFixtures(t *testing.T) {
	raw, err := os.ReadFile("../authz/session/framework/rails/testdata/store_vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		PublicID      string `json:"public_id"`
		PrivateID     string `json:"private_id"`
		JSON          string `json:"json"`
		MarshalBase64 string `json:"marshal_base64"`
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	pg := testenv.StartPostgres(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	db, err := pgx.Connect(ctx, pg.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(context.Background())
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := db.Exec(ctx, q, args...); err != nil {
			t.Fatal(err)
		}
	}
	exec(`CREATE TABLE sessions (id bigserial PRIMARY KEY, session_id varchar NOT NULL, data text,
		created_at timestamp(6) NOT NULL DEFAULT now(), updated_at timestamp(6) NOT NULL DEFAULT now())`)
	exec(`CREATE UNIQUE INDEX index_sessions_on_session_id ON sessions (session_id)`)
	exec(`INSERT INTO sessions (session_id, data) VALUES ($1, $2)`, v.PrivateID, v.JSON)
	// The Marshal row of another public id.
	marshalID := strings.Repeat("0123456789abcdef", 2)
	sum := sha256.Sum256([]byte(marshalID))
	exec(`INSERT INTO sessions (session_id, data) VALUES ($1, $2)`, "2::"+hex.EncodeToString(sum[:]), v.MarshalBase64)
	// A row kept under a public id, as before Rack 2.0.8: never read, so
	// that a cookie cannot name a row by its private id.
	exec(`INSERT INTO sessions (session_id, data) VALUES ($1, $2)`, "fedcba9876543210fedcba9876543210", v.JSON)

	pw := secretFile(t, testenv.PostgresPassword)
	r := newFrameworkRig(t, "_app_session", `  cookie: "_app_session"
  sql: { preset: rails, dsn: "`+pg.DSN()+`", password_file: "`+pw+`" }
identity: { group_ids: "groups" }
`)
	r.signedIn(t, v.PublicID, "42", []string{"editors", "staff"})
	r.refused(t, marshalID)
	r.refused(t, v.PrivateID)
	r.refused(t, "fedcba9876543210fedcba9876543210")
	// The logout (reset_session) destroys the row.
	exec(`DELETE FROM sessions WHERE session_id = $1`, v.PrivateID)
	afterCache()
	r.refused(t, v.PublicID)
}
