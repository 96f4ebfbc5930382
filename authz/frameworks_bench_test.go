package authz_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/lbauthz/lbauthz/authz"
	"github.com/lbauthz/lbauthz/authz/door/envoygrpc"
	"github.com/lbauthz/lbauthz/authz/session"
	"github.com/lbauthz/lbauthz/authz/session/framework/django"
	"github.com/lbauthz/lbauthz/authz/session/framework/flask"
	"github.com/lbauthz/lbauthz/internal/authztest"
	"github.com/lbauthz/lbauthz/internal/testenv"
)

const benchAppSecret = "the app's framework secret key 0123456789"

// frameworkBench is a framework preset's engine config (no Liveblocks
// call: pass-through only) and a cookie header holding a valid session.
type frameworkBench struct {
	name, yaml, cookie string
	// value is the cookie's value, store the preset's store alone.
	value string
	store func() (session.Store, error)
}

func frameworkBenches(tb testing.TB) []frameworkBench {
	tb.Helper()
	dir := tb.TempDir()
	secret := filepath.Join(dir, "secret")
	if err := os.WriteFile(secret, []byte(benchAppSecret), 0o600); err != nil {
		tb.Fatal(err)
	}
	keys := [][]byte{[]byte(benchAppSecret)}
	ds, _ := django.NewSigner(keys, django.SaltSignedCookies)
	dv, err := ds.Dump(map[string]any{"_auth_user_id": "42", "_auth_user_backend": "django.contrib.auth.backends.ModelBackend"}, time.Now())
	if err != nil {
		tb.Fatal(err)
	}
	fc, _ := flask.NewCodec(keys, "")
	fv, err := fc.Dump(map[string]any{"_user_id": "42", "_fresh": true, "groups": []any{"eng"}}, time.Now())
	if err != nil {
		tb.Fatal(err)
	}
	sid := "k2v9c0jvmq8hu0s2m7e1n1l4e5"
	if err := os.WriteFile(filepath.Join(dir, "sess_"+sid), []byte(`user_id|i:42;groups|a:1:{i:0;s:3:"eng";}`), 0o600); err != nil {
		tb.Fatal(err)
	}
	// Rails: a cookie made by the real Rails app.
	rb, err := os.ReadFile(filepath.Join("session", "framework", "rails", "testdata", "vectors.json"))
	if err != nil {
		tb.Fatal(err)
	}
	var rv struct {
		Secret string
		GCM    struct{ Cookie string }
	}
	if err := json.Unmarshal(rb, &rv); err != nil {
		tb.Fatal(err)
	}
	railsSecret := filepath.Join(dir, "secret-key-base")
	if err := os.WriteFile(railsSecret, []byte(rv.Secret), 0o600); err != nil {
		tb.Fatal(err)
	}
	// Laravel: an encrypted session (SESSION_ENCRYPT) of the Laravel-format
	// fixtures, behind its encrypted cookie.
	lb, err := os.ReadFile(filepath.Join("session", "framework", "laravel", "testdata", "vectors.json"))
	if err != nil {
		tb.Fatal(err)
	}
	var lv map[string]string
	if err := json.Unmarshal(lb, &lv); err != nil {
		tb.Fatal(err)
	}
	laravelDir := filepath.Join(dir, "laravel")
	if err := os.Mkdir(laravelDir, 0o700); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(laravelDir, lv["session_id"]), []byte(lv["encrypted_file_payload"]), 0o600); err != nil {
		tb.Fatal(err)
	}
	appKey := filepath.Join(dir, "app-key")
	if err := os.WriteFile(appKey, []byte(lv["app_key"]), 0o600); err != nil {
		tb.Fatal(err)
	}
	return []frameworkBench{
		{name: "LaravelEncryptedFiles", yaml: `
session:
  files: { preset: laravel, path: "` + laravelDir + `" }
  app_secret_files: ["` + appKey + `"]
identity: { group_ids: "groups" }
`, cookie: "laravel_session=" + lv["cbc_cookie"], value: lv["cbc_cookie"], store: func() (session.Store, error) {
			keys := [][]byte{[]byte(lv["app_key"])}
			st, err := session.NewPHPFilesStore(session.PHPFilesOptions{Dir: laravelDir, Laravel: true, LaravelKeys: keys, MaxIdle: time.Hour})
			if err != nil {
				return nil, err
			}
			return session.NewLaravelCookie(keys, "laravel_session", st)
		}},
		{name: "Rails", yaml: `
session:
  cookie: _app_session
  signed_cookie: { preset: rails }
  app_secret_files: ["` + railsSecret + `"]
identity: { group_ids: "groups" }
`, cookie: "_app_session=" + rv.GCM.Cookie, value: rv.GCM.Cookie, store: func() (session.Store, error) {
			return session.NewSignedCookieStore("rails", [][]byte{[]byte(rv.Secret)}, 0, "_app_session")
		}},
		{name: "DjangoSignedCookie", yaml: `
session:
  signed_cookie: { preset: django }
  app_secret_files: ["` + secret + `"]
`, cookie: "sessionid=" + string(dv), value: string(dv), store: func() (session.Store, error) {
			return session.NewSignedCookieStore("django", keys, 14*24*time.Hour, "")
		}},
		{name: "Flask", yaml: `
session:
  signed_cookie: { preset: flask }
  app_secret_files: ["` + secret + `"]
identity: { group_ids: "groups" }
`, cookie: "session=" + string(fv), value: string(fv), store: func() (session.Store, error) {
			return session.NewSignedCookieStore("flask", keys, 31*24*time.Hour, "")
		}},
		{name: "PHPFiles", yaml: `
session:
  files: { preset: php, path: "` + dir + `" }
identity: { user_id: "user_id", group_ids: "groups" }
`, cookie: "PHPSESSID=" + sid, value: sid, store: func() (session.Store, error) {
			return session.NewPHPFilesStore(session.PHPFilesOptions{Dir: dir})
		}},
	}
}

// A pass-through Check whose framework session is cached must not allocate,
// whatever the preset: the cache path is the same as for every store.
func TestCheck_PassThroughWithCachedFrameworkSessionDoesNotAllocate(t *testing.T) {
	for _, fb := range frameworkBenches(t) {
		t.Run(fb.name, func(t *testing.T) {
			srv := envoygrpc.NewServer(authz.NewHolder(authztest.Engine(t, fb.yaml, "http://127.0.0.1:9", "sk_bench")))
			req := authztest.CheckRequest("GET", "/docs/42", map[string]string{"cookie": "_ga=GA1.1.1234567890.1700000000; theme=dark; " + fb.cookie}, "")
			ctx := context.Background()
			resp, err := srv.Check(ctx, req) // fills the cache
			if err != nil || resp.GetStatus().GetCode() != int32(codes.OK) || len(resp.GetOkResponse().GetHeaders()) == 0 {
				t.Fatalf("not allowed with identity: %v %v", resp, err)
			}
			if n := testing.AllocsPerRun(200, func() { _, _ = srv.Check(ctx, req) }); n > 0 {
				t.Fatalf("a pass-through Check with a cached %s session allocates %v times", fb.name, n)
			}
		})
	}
}

// The same for a preset whose sessions are in a server: Rails' Redis store.
func TestCheck_PassThroughWithCachedRailsRedisSessionDoesNotAllocate(t *testing.T) {
	r := testenv.StartRedis(t)
	ra := authztest.NewRailsRedisAttacks(t, r.Addr)
	srv := envoygrpc.NewServer(authz.NewHolder(ra.Engine(t, "http://127.0.0.1:9", "sk_bench")))
	var cookie string
	for _, c := range ra.Cases() {
		if c.Name == "PageWithARailsRedisSessionID" {
			cookie = c.Cookie
		}
	}
	req := authztest.CheckRequest("GET", "/docs/42", map[string]string{"cookie": "theme=dark; " + cookie}, "")
	ctx := context.Background()
	resp, err := srv.Check(ctx, req)
	if err != nil || resp.GetStatus().GetCode() != int32(codes.OK) || len(resp.GetOkResponse().GetHeaders()) == 0 {
		t.Fatalf("not allowed with identity: %v %v", resp, err)
	}
	if n := testing.AllocsPerRun(200, func() { _, _ = srv.Check(ctx, req) }); n > 0 {
		t.Fatalf("a pass-through Check with a cached Rails Redis session allocates %v times", n)
	}
}

// BenchmarkFrameworkStore_ColdLookup is what the cache saves for each
// preset: one store lookup (signature check, decompression, decoding; a
// file read for PHP) per new session.
func BenchmarkFrameworkStore_ColdLookup(b *testing.B) {
	for _, fb := range frameworkBenches(b) {
		b.Run(fb.name, func(b *testing.B) {
			st, err := fb.store()
			if err != nil {
				b.Fatal(err)
			}
			value := fb.value
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := st.Lookup(ctx, value); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
