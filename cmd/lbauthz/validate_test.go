package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lbauthz/lbauthz/internal/authztest"
)

// TestValidate_WarnsAboutEachRiskySetting runs `lbauthz validate` on
// configs that load but weaken what the sidecar protects: each passes
// (exit 0) with one warning line naming the field, and the safe config
// prints none.
func TestValidate_WarnsAboutEachRiskySetting(t *testing.T) {
	needBinary(t)
	dir := t.TempDir()
	secret := func(name string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(authztest.HMACSecret+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	private := secret("private", 0o400)
	jwt := func(file, extra string) string {
		return "session:\n  cookie: session\n  jwt: {algorithms: [HS256], hmac_secret_file: \"" + file + "\"" + extra + "}\n"
	}
	env := append(filterEnv(os.Environ(), "LIVEBLOCKS_"), "LIVEBLOCKS_SECRET_KEY=sk_localdev")
	for _, tc := range []struct {
		name, yaml, warning string // warning: "" for none
	}{
		{"SafeConfig", jwt(private, ""), ""},
		{"JWTWithoutExpRequired", jwt(private, ", require_exp: false"), "session.jwt.require_exp: false"},
		{"UnprefixedRedisKeyTemplate", "session:\n  cookie: sid\n  cookie_format: express\n  cookie_secret_files: [\"" + private + "\"]\n  redis: {address: \"127.0.0.1:6379\", key_template: \"{id}\"}\n",
			`session.redis.key_template: "{id}" has no literal prefix`},
		{"PlainHTTPOffLoopback", "liveblocks: {base_url: \"http://liveblocks.internal\", allow_insecure_http: true}\n" + jwt(private, ""),
			`liveblocks.base_url: "http://liveblocks.internal" is plain http off loopback`},
		{"WorldReadableSecretFile", jwt(secret("world", 0o644), ""), "session.jwt.hmac_secret_file: " + filepath.Join(dir, "world") + " is readable by every user"},
		{"WideTrustedPeers", jwt(private, "") + "http_doors: {trusted_peers: [\"127.0.0.0/8\", \"10.0.0.0/8\"]}\n",
			`http_doors.trusted_peers[1]: "10.0.0.0/8" is wider than a proxy's addresses`},
		{"AccessTokenGrantsThatServeTheInbox", "liveblocks: {mode: access_token}\n" + jwt(private, "") +
			"rooms:\n  access_token:\n    grants:\n      - {pattern: \"{room}\", permissions: [\"*:write\"]}\n      - {pattern: \"{organization_id}:*\", permissions: [\"*:read\"]}\n", ""},
		{"AccessTokenGrantsThatAllDependOnTheRoom", "liveblocks: {mode: access_token}\n" + jwt(private, "") +
			"rooms:\n  access_token:\n    grants:\n      - {pattern: \"{room}\", permissions: [\"*:write\"]}\n      - {room: \"public:{doc}\", pattern: \"public:*\", permissions: [\"*:read\"]}\n",
			`rooms.access_token.grants: every grant depends on {room}: a token without a room (the inbox of Notifications, the client's {} body) is refused with 403`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, tc.name+".yaml")
			if err := os.WriteFile(path, []byte(tc.yaml), 0o600); err != nil {
				t.Fatal(err)
			}
			var out strings.Builder
			cmd := exec.Command(binary, "validate", "--config", path)
			cmd.Env, cmd.Stdout, cmd.Stderr = env, &out, &out
			if err := cmd.Run(); err != nil {
				t.Fatalf("validate: %v\n%s", err, out.String())
			}
			got := out.String()
			if !strings.Contains(got, path+": ok") {
				t.Fatalf("no ok line: %q", got)
			}
			switch n := strings.Count(got, ": warning: "); {
			case tc.warning == "" && n != 0:
				t.Fatalf("warnings for a safe config: %q", got)
			case tc.warning != "" && (n != 1 || !strings.Contains(got, path+": warning: "+tc.warning)):
				t.Fatalf("output %q, want one warning %q", got, tc.warning)
			}
			if strings.Contains(got, authztest.HMACSecret) {
				t.Fatal("the output holds the secret")
			}
		})
	}
}
