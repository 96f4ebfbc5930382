package config_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lbauthz/lbauthz/authz/config"
)

// issueExample is the config every release must keep loading.
const issueExample = `
listen:
  grpc: "127.0.0.1:9191"        # envoy.service.auth.v3.Authorization
  http: "127.0.0.1:8181"        # health now; more doors later
liveblocks:
  base_url: "http://127.0.0.1:1153"   # default https://api.liveblocks.io
  secret_key_file: "/run/secrets/liveblocks"   # or env LIVEBLOCKS_SECRET_KEY
  auth_path: "/api/liveblocks-auth"
session:
  cookie: "session"
  jwt:
    hmac_secret_file: "/run/secrets/session-hmac"
    algorithms: ["HS256"]
identity:
  user_id: "sub"                # claim names
  group_ids: "groups"
  user_info: { name: "name", avatar: "picture" }
upstream_headers:
  user_id: "x-user-id"
  group_ids: "x-user-groups"    # comma-joined
`

func noEnv(string) string { return "" }

func TestParse_TheDocumentedExampleLoads(t *testing.T) {
	cfg, err := config.Parse("example.yaml", []byte(issueExample), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Listen.Grpc != "127.0.0.1:9191" || cfg.Listen.Http != "127.0.0.1:8181" {
		t.Fatalf("listen = %v", cfg.Listen)
	}
	if cfg.Liveblocks.BaseUrl != "http://127.0.0.1:1153" || cfg.Liveblocks.AuthPath != "/api/liveblocks-auth" {
		t.Fatalf("liveblocks = %v", cfg.Liveblocks)
	}
	if cfg.Session.Cookie != "session" || cfg.Session.Jwt.Algorithms[0] != "HS256" {
		t.Fatalf("session = %v", cfg.Session)
	}
	if cfg.Identity.UserInfo["avatar"] != "picture" || cfg.UpstreamHeaders.GroupIds != "x-user-groups" {
		t.Fatalf("identity/headers = %v %v", cfg.Identity, cfg.UpstreamHeaders)
	}
	// Defaults filled in.
	if cfg.Liveblocks.Timeout.AsDuration() != config.DefaultTimeout || cfg.Session.MaxCookieBytes != config.DefaultMaxCookieBytes {
		t.Fatalf("defaults not applied: %v %v", cfg.Liveblocks.Timeout, cfg.Session.MaxCookieBytes)
	}
}

// parseFails checks that yaml does not load, with an error holding each of
// want.
func parseFails(t *testing.T, yaml string, want ...string) {
	t.Helper()
	_, err := config.Parse("cfg.yaml", []byte(yaml), noEnv)
	if err == nil {
		t.Fatal("loaded, want an error")
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not contain %q", err, w)
		}
	}
}

func TestParse_StrictErrorsNameTheKey(t *testing.T) {
	cases := []struct {
		name, yaml string
		want       []string
	}{
		{"misspelt top-level key", "lisen:\n  grpc: \"127.0.0.1:1\"\n", []string{`:1:`, `unknown key "lisen"`, `did you mean "listen"`}},
		{"misspelt nested key", "session:\n  cookie: s\n  jwt:\n    algorithm: [HS256]\n", []string{`:4:`, `session.jwt`, `unknown key "algorithm"`, `did you mean "algorithms"`}},
		{"camelCase instead of snake_case", "liveblocks:\n  baseUrl: http://x\n", []string{`unknown key "baseUrl"`, `did you mean "base_url"`}},
		{"unknown key far from any", "zzzzzzzz: 1\n", []string{`unknown key "zzzzzzzz"`, `known keys:`}},
		{"list where a string goes", "session:\n  cookie: [a, b]\n", []string{`session.cookie`, `expected a string, got a list`}},
		{"string where a list goes", "session:\n  jwt:\n    algorithms: HS256\n", []string{`session.jwt.algorithms`, `expected a list`}},
		{"mapping where a string goes", "listen:\n  grpc: {a: 1}\n", []string{`listen.grpc`, `expected a string, got a mapping`}},
		{"bad duration", "liveblocks:\n  timeout: 5 seconds\n", []string{`timeout`}},
		{"number where bool goes", "session:\n  cache:\n    disabled: 3\n", []string{`session.cache.disabled`, `true or false`}},
		{"duplicate key", "listen:\n  grpc: a:1\n  grpc: b:2\n", []string{`grpc`}},
		{"not YAML", "listen: [\n", []string{`not valid YAML`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { parseFails(t, tc.yaml, tc.want...) })
	}
}

func TestParse_ValidationNamesFieldAndValue(t *testing.T) {
	base := "session:\n  cookie: session\n  jwt:\n    hmac_secret_file: /x\n    algorithms: [HS256]\n"
	cases := []struct {
		name, yaml string
		want       []string
	}{
		{"no session store", "session:\n  cookie: s\n", []string{"session", "required"}},
		{"no cookie name", "session:\n  jwt:\n    hmac_secret_file: /x\n    algorithms: [HS256]\n", []string{"session.cookie", "required"}},
		{"alg none", strings.Replace(base, "[HS256]", "[HS256, none]", 1), []string{"session.jwt.algorithms", `"none" is never accepted`}},
		{"unknown alg", strings.Replace(base, "[HS256]", "[HS257]", 1), []string{"session.jwt.algorithms", `"HS257"`}},
		{"public-key alg without key", strings.Replace(base, "[HS256]", "[HS256, RS256]", 1), []string{"session.jwt.public_key_file", "required"}},
		{"auth path without slash", base + "liveblocks:\n  auth_path: api/auth\n", []string{"liveblocks.auth_path", `"api/auth"`}},
		{"auth path with query", base + "liveblocks:\n  auth_path: /a?b\n", []string{"liveblocks.auth_path"}},
		{"base url not http", base + "liveblocks:\n  base_url: ftp://x\n", []string{"liveblocks.base_url", `"ftp://x"`}},
		{"bad listen address", base + "listen:\n  grpc: nowhere\n", []string{"listen.grpc", `"nowhere"`}},
		{"cache bytes too few", strings.Replace(base, "session:\n", "session:\n  cache:\n    max_bytes: 1000\n", 1), []string{"session.cache.max_bytes", "1000"}},
		{"reserved header", base + "upstream_headers:\n  user_id: Cookie\n", []string{"upstream_headers.user_id", `"Cookie"`}},
		{"same header twice", base + "upstream_headers:\n  user_id: x-a\n  group_ids: X-A\n", []string{"upstream_headers.group_ids", "already used"}},
		{"bad log level", base + "log:\n  level: loud\n", []string{"log.level", `"loud"`}},
		{"zero timeout", base + "liveblocks:\n  timeout: 0s\n", []string{"liveblocks.timeout"}},
		{"empty path segment", base + "identity:\n  user_id: user..id\n", []string{"identity.user_id"}},
		{"group renamed with a comma", base + "identity:\n  groups: { rename: { admins: \"org,admin\" } }\n", []string{"identity.groups.rename", "org,admin"}},
		{"group template with a comma", base + "identity:\n  groups: { template: \"org,{value}\" }\n", []string{"identity.groups.template"}},
		{"too many trusted hops", base + "http_doors:\n  trusted_hops: 11\n", []string{"http_doors.trusted_hops", "11"}},
		{"write timeout under liveblocks timeout", base + "liveblocks:\n  timeout: 8s\nlisten:\n  http_timeouts: { write: 5s }\n", []string{"listen.http_timeouts.write", "liveblocks.timeout"}},
		{"negative read header timeout", base + "listen:\n  http_timeouts: { read_header: -1s }\n", []string{"listen.http_timeouts.read_header"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { parseFails(t, tc.yaml, tc.want...) })
	}
}

func TestParse_EnvironmentFillsWhatTheFileLeavesEmpty(t *testing.T) {
	env := map[string]string{"LIVEBLOCKS_BASE_URL": "http://127.0.0.1:4444", "LIVEBLOCKS_SECRET_KEY": "sk_fromenv"}
	yaml := "session:\n  cookie: s\n  jwt:\n    hmac_secret_file: /x\n    algorithms: [HS256]\n"
	cfg, err := config.Parse("cfg.yaml", []byte(yaml), func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Liveblocks.BaseUrl != "http://127.0.0.1:4444" {
		t.Fatalf("base_url = %q, want the environment's", cfg.Liveblocks.BaseUrl)
	}
	// A value in the file wins over the environment.
	cfg, err = config.Parse("cfg.yaml", []byte(yaml+"liveblocks:\n  base_url: https://api.liveblocks.io\n"), func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Liveblocks.BaseUrl != "https://api.liveblocks.io" {
		t.Fatalf("base_url = %q, want the file's", cfg.Liveblocks.BaseUrl)
	}
}

func TestReadSecrets(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	hmacFile := write("hmac", "0123456789abcdef0123456789abcdef\n")
	keyFile := write("lb", "sk_fromfile\n")
	yaml := "liveblocks:\n  secret_key_file: " + keyFile + "\nsession:\n  cookie: s\n  jwt:\n    hmac_secret_file: " + hmacFile + "\n    algorithms: [HS256]\n"
	cfg, err := config.Parse("cfg.yaml", []byte(yaml), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	env := func(k string) string {
		if k == "LIVEBLOCKS_SECRET_KEY" {
			return "sk_fromenv"
		}
		return ""
	}
	sec, err := config.ReadSecrets(cfg, env)
	if err != nil {
		t.Fatal(err)
	}
	if sec.LiveblocksSecretKey != "sk_fromfile" || string(sec.HMACSecret) != "0123456789abcdef0123456789abcdef" {
		t.Fatal("secrets not read from their files (trailing newline trimmed)")
	}

	// Without a file, the environment gives the key.
	cfg.Liveblocks.SecretKeyFile = ""
	if sec, err = config.ReadSecrets(cfg, env); err != nil || sec.LiveblocksSecretKey != "sk_fromenv" {
		t.Fatalf("key from env: %v", err)
	}
	// Neither: a clear error.
	if _, err = config.ReadSecrets(cfg, noEnv); err == nil || !strings.Contains(err.Error(), "LIVEBLOCKS_SECRET_KEY") {
		t.Fatalf("missing key error = %v", err)
	}
	// A missing or empty file names the field, never any content.
	cfg.Session.Jwt.HmacSecretFile = write("empty", "\n")
	if _, err = config.ReadSecrets(cfg, env); err == nil || !strings.Contains(err.Error(), "session.jwt.hmac_secret_file") {
		t.Fatalf("empty file error = %v", err)
	}
	cfg.Session.Jwt.HmacSecretFile = filepath.Join(dir, "absent")
	if _, err = config.ReadSecrets(cfg, env); err == nil || !strings.Contains(err.Error(), "session.jwt.hmac_secret_file") {
		t.Fatalf("absent file error = %v", err)
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(issueExample))
	f.Add([]byte("lisen: 1\n"))
	f.Add([]byte("session: {cookie: s, jwt: {algorithms: [HS256], hmac_secret_file: /x}}\n"))
	f.Add([]byte("a: &x [*x]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		// Never a panic, whatever the file holds.
		cfg, err := config.Parse("fuzz.yaml", data, noEnv)
		if err == nil && cfg.Session.Cookie == "" {
			t.Fatal("a config without a session cookie was accepted")
		}
	})
}

func TestParse_DurationsInGoSyntax(t *testing.T) {
	yaml := "session:\n  cookie: s\n  jwt:\n    hmac_secret_file: /x\n    algorithms: [HS256]\n  cache:\n    ttl: 1m30s\n    negative_ttl: 250ms\nliveblocks:\n  timeout: 2s\n"
	cfg, err := config.Parse("cfg.yaml", []byte(yaml), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Session.Cache.Ttl.AsDuration().String() != "1m30s" || cfg.Session.Cache.NegativeTtl.AsDuration().String() != "250ms" || cfg.Liveblocks.Timeout.AsDuration().String() != "2s" {
		t.Fatalf("durations = %v %v %v", cfg.Session.Cache.Ttl, cfg.Session.Cache.NegativeTtl, cfg.Liveblocks.Timeout)
	}
}
