package config_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/lbauthz/lbauthz/authz/config"
)

func TestParse_RedisKeyTemplateWithoutPrefixIsRefusedForPlainCookies(t *testing.T) {
	redis := func(extra string) string {
		return "session:\n  cookie: s\n  redis: {address: \"h:1\"" + extra + "}\n"
	}
	for _, tc := range []struct {
		name, yaml string
		refused    bool
	}{
		{"DefaultTemplate", redis(""), true},
		{"IDAlone", redis(`, key_template: "{id}"`), true},
		{"IDThenSuffix", redis(`, key_template: "{id}:session"`), true},
		{"Prefixed", redis(`, key_template: "sess:{id}"`), false},
		{"UnprefixedButSigned", "session:\n  cookie: sid\n  cookie_format: express\n  cookie_secret_files: [/f]\n  redis: {address: \"h:1\", key_template: \"{id}\"}\n", false},
		{"ConnectRedisPreset", "session:\n  cookie_secret_files: [/f]\n  redis: {preset: connect-redis, address: \"h:1\"}\n", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := config.Parse("c.yaml", []byte(tc.yaml), noEnv)
			if tc.refused {
				if err == nil || !strings.Contains(err.Error(), "session.redis.key_template:") || !strings.Contains(err.Error(), "has no literal prefix") {
					t.Fatalf("want an error naming session.redis.key_template, got %v", err)
				}
			} else if err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestParse_JWTRequiresExpUnlessTurnedOff(t *testing.T) {
	jwt := "session:\n  cookie: s\n  jwt: {algorithms: [HS256], hmac_secret_file: /f%s}\n"
	cfg, err := config.Parse("c.yaml", []byte(strings.Replace(jwt, "%s", "", 1)), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Session.Jwt.RequireExp == nil || !*cfg.Session.Jwt.RequireExp {
		t.Fatal("require_exp does not default to true")
	}
	cfg, err = config.Parse("c.yaml", []byte(strings.Replace(jwt, "%s", ", require_exp: false", 1)), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Session.Jwt.RequireExp == nil || *cfg.Session.Jwt.RequireExp {
		t.Fatal("require_exp: false was not kept")
	}
}

func TestParse_PlainHTTPOffLoopbackIsRefusedUnlessAllowed(t *testing.T) {
	base := func(url, allow string) string {
		return "liveblocks: {base_url: \"" + url + "\"" + allow + "}\nsession:\n  cookie: s\n  jwt: {algorithms: [HS256], hmac_secret_file: /f}\n"
	}
	jwks := func(url, allow string) string {
		return "session:\n  cookie: s\n  jwt: {algorithms: [RS256], jwks_url: \"" + url + "\"" + allow + "}\n"
	}
	introspection := func(url, allow string) string {
		return "session:\n  cookie: s\n  introspection: {url: \"" + url + "\"" + allow + "}\n"
	}
	allow := ", allow_insecure_http: true"
	for _, f := range []struct {
		field string
		yaml  func(url, allow string) string
	}{
		{"liveblocks.base_url", base},
		{"session.jwt.jwks_url", jwks},
		{"session.introspection.url", introspection},
	} {
		t.Run(f.field, func(t *testing.T) {
			for _, url := range []string{"http://api.example.com", "http://10.0.0.5:8080/x", "http://127.0.0.1.nip.io/x", "http://[::ffff:10.0.0.1]/"} {
				_, err := config.Parse("c.yaml", []byte(f.yaml(url, "")), noEnv)
				if err == nil || !strings.Contains(err.Error(), f.field+": \""+url+"\" is plain http") {
					t.Errorf("%s: want an error naming %s, got %v", url, f.field, err)
				}
				if _, err := config.Parse("c.yaml", []byte(f.yaml(url, allow)), noEnv); err != nil {
					t.Errorf("%s with allow_insecure_http: %v", url, err)
				}
			}
			for _, url := range []string{"https://api.example.com", "http://127.0.0.1:1234/x", "http://127.9.9.9/", "http://localhost:8080", "http://[::1]:80/x"} {
				if _, err := config.Parse("c.yaml", []byte(f.yaml(url, "")), noEnv); err != nil {
					t.Errorf("%s: %v", url, err)
				}
			}
		})
	}
	t.Run("BaseURLFromTheEnvironment", func(t *testing.T) {
		env := func(k string) string {
			if k == "LIVEBLOCKS_BASE_URL" {
				return "http://liveblocks.internal:1153"
			}
			return ""
		}
		_, err := config.Parse("c.yaml", []byte("session:\n  cookie: s\n  jwt: {algorithms: [HS256], hmac_secret_file: /f}\n"), env)
		if err == nil || !strings.Contains(err.Error(), "liveblocks.base_url") {
			t.Fatalf("want an error naming liveblocks.base_url, got %v", err)
		}
	})
}

func TestReadSecrets_AWorldWritableSecretFileIsRefused(t *testing.T) {
	f := filepath.Join(t.TempDir(), "hmac")
	if err := os.WriteFile(f, []byte(strings.Repeat("s", 40)), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(f, 0o666); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse("c.yaml", []byte("session:\n  cookie: s\n  jwt: {algorithms: [HS256], hmac_secret_file: \""+f+"\"}\n"), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	env := func(string) string { return "sk_localdev" }
	if _, err := config.ReadSecrets(cfg, env); err == nil || !strings.Contains(err.Error(), "session.jwt.hmac_secret_file") ||
		!strings.Contains(err.Error(), "writable by every user") || strings.Contains(err.Error(), "ssss") {
		t.Fatalf("want an error naming the field, without the secret, got %v", err)
	}
	if err := os.Chmod(f, 0o644); err != nil { // Kubernetes' default mode for Secrets
		t.Fatal(err)
	}
	if _, err := config.ReadSecrets(cfg, env); err != nil {
		t.Fatalf("a world-readable file must only be warned about: %v", err)
	}
}

// TestWarnings_EachRiskySettingIsNamed loads configs that are valid but
// risky, each for one reason, and checks that Warnings names exactly that
// field; the safe form of each names nothing.
func TestWarnings_EachRiskySettingIsNamed(t *testing.T) {
	dir := t.TempDir()
	secret := func(name string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(strings.Repeat("s", 40)), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	jwt := func(file, extra string) string {
		return "session:\n  cookie: s\n  jwt: {algorithms: [HS256], hmac_secret_file: \"" + file + "\"" + extra + "}\n"
	}
	private := secret("private", 0o400)
	for _, tc := range []struct {
		name, yaml string
		want       []string // fields warned about
	}{
		{"SafeConfig", jwt(private, ""), nil},
		{"JWTWithoutExpRequired", jwt(private, ", require_exp: false"), []string{"session.jwt.require_exp"}},
		{"UnprefixedKeyTemplateWithSignedCookie", "session:\n  cookie: sid\n  cookie_format: express\n  cookie_secret_files: [\"" + private + "\"]\n  redis: {address: \"h:1\", key_template: \"{id}\"}\n",
			[]string{"session.redis.key_template"}},
		{"PrefixedKeyTemplate", "session:\n  cookie_secret_files: [\"" + private + "\"]\n  redis: {preset: connect-redis, address: \"h:1\"}\n", nil},
		{"HTTPBaseURLAllowed", "liveblocks: {base_url: \"http://lb.internal\", allow_insecure_http: true}\n" + jwt(private, ""), []string{"liveblocks.base_url"}},
		{"HTTPJWKSAllowed", "session:\n  cookie: s\n  jwt: {algorithms: [RS256], jwks_url: \"http://idp.internal/jwks\", allow_insecure_http: true}\n", []string{"session.jwt.jwks_url"}},
		{"HTTPIntrospectionAllowed", "session:\n  cookie: s\n  introspection: {url: \"http://app:3000/me\", allow_insecure_http: true}\n", []string{"session.introspection.url"}},
		{"LoopbackHTTP", "liveblocks: {base_url: \"http://127.0.0.1:1153\"}\nsession:\n  cookie: s\n  introspection: {url: \"http://localhost:3000/me\"}\n", nil},
		{"WorldReadableSecret", jwt(secret("world", 0o644), ""), []string{"session.jwt.hmac_secret_file"}},
		{"OwnGroupReadableSecret", jwt(secret("group", 0o440), ""), nil},
		{"TrustedPeersEverywhere", jwt(private, "") + "http_doors: {trusted_peers: [\"0.0.0.0/0\"]}\n", []string{"http_doors.trusted_peers[0]"}},
		{"TrustedPeersClusterWide", jwt(private, "") + "http_doors: {trusted_peers: [\"127.0.0.0/8\", \"10.0.0.0/8\", \"fd00::/8\"]}\n",
			[]string{"http_doors.trusted_peers[1]", "http_doors.trusted_peers[2]"}},
		{"GRPCReflectionOn", jwt(private, "") + "listen: {grpc: \"127.0.0.1:9191\", grpc_reflection: true}\n", []string{"listen.grpc_reflection"}},
		{"GRPCReflectionWithoutAGRPCListener", jwt(private, "") + "listen: {grpc: \"\", http: \"127.0.0.1:8181\", grpc_reflection: true}\n", nil},
		{"TrustedPeersOfAGateway", jwt(private, "") + "http_doors: {trusted_peers: [\"127.0.0.0/8\", \"::1/128\", \"10.20.30.0/28\", \"10.1.2.3\"]}\n", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := config.Parse("c.yaml", []byte(tc.yaml), noEnv)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, w := range config.Warnings(cfg) {
				got = append(got, w.Field)
				if strings.Contains(w.Message, "ssss") {
					t.Errorf("a warning holds the secret: %s", w)
				}
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("warned about %v, want %v", got, tc.want)
			}
		})
	}
}

// TestWarnings_ASecretReadableByAnotherGroupIsNamed needs to give a file to
// a group the test process is not in, which only root can do.
func TestWarnings_ASecretReadableByAnotherGroupIsNamed(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("changing a file's group to one the process is not in needs root")
	}
	f := filepath.Join(t.TempDir(), "hmac")
	if err := os.WriteFile(f, []byte(strings.Repeat("s", 40)), 0o440); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(f, -1, 54321); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse("c.yaml", []byte("session:\n  cookie: s\n  jwt: {algorithms: [HS256], hmac_secret_file: \""+f+"\"}\n"), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	ws := config.Warnings(cfg)
	if len(ws) != 1 || ws[0].Field != "session.jwt.hmac_secret_file" || !strings.Contains(ws[0].Message, "group 54321") {
		t.Fatalf("warnings %v", ws)
	}
}
