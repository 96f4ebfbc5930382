package config_test

import (
	"strings"
	"testing"

	"github.com/lbauthz/lbauthz/authz/config"
)

func TestParse_AuthLimitsDefaults(t *testing.T) {
	cfg, err := config.Parse("t.yaml", []byte(doorsBase), func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	l := cfg.AuthLimits
	if l.PerUser.PerMinute != 60 || l.PerUser.Burst != 30 || l.PerAddress.PerMinute != 60 || l.PerAddress.Burst != 60 ||
		l.MaxTracked != 100000 || l.Origins == nil || len(l.Origins.Allowed) != 0 || l.Origins.RefuseWithoutOrigin || l.Origins.Disabled {
		t.Fatalf("defaults: %v", l)
	}
	if cfg.Log.AccessLevel != "debug" {
		t.Fatalf("log.access_level default %q", cfg.Log.AccessLevel)
	}
}

func TestParse_AuthLimitsKeepsWhatIsSetAndNormalizesOrigins(t *testing.T) {
	cfg, err := config.Parse("t.yaml", []byte(doorsBase+`
auth_limits:
  per_user: { per_minute: 10 }
  per_address: { disabled: true }
  origins: { allowed: ["HTTPS://App.Example.COM:443/", "http://localhost:3000", "http://[::1]:80"] }
log: { access_level: info }
`), func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	l := cfg.AuthLimits
	if l.PerUser.PerMinute != 10 || l.PerUser.Burst != 30 || !l.PerAddress.Disabled {
		t.Fatalf("limits: %v", l)
	}
	if got := strings.Join(l.Origins.Allowed, " "); got != "https://app.example.com http://localhost:3000 http://[::1]" {
		t.Fatalf("origins as browsers send them: %s", got)
	}
	if cfg.Log.AccessLevel != "info" {
		t.Fatalf("log.access_level %q", cfg.Log.AccessLevel)
	}
}

func TestParse_AuthLimitsValidationNamesFieldAndValue(t *testing.T) {
	for _, tc := range []struct{ yaml, want string }{
		{`auth_limits: { origins: { allowed: ["*"] } }`, `auth_limits.origins.allowed[0]: "*" is a wildcard`},
		{`auth_limits: { origins: { allowed: ["https://ok.test", "https://*.example.com"] } }`, `auth_limits.origins.allowed[1]: "https://*.example.com" has a wildcard`},
		{`auth_limits: { origins: { allowed: ["https://app.test/login"] } }`, `auth_limits.origins.allowed[0]: "https://app.test/login" is not an origin`},
		{`auth_limits: { origins: { allowed: ["app.test"] } }`, `auth_limits.origins.allowed[0]: "app.test" is not an origin such as https://app.example.com`},
		{`auth_limits: { origins: { allowed: ["null"] } }`, `auth_limits.origins.allowed[0]: "null" is the origin of sandboxed`},
		{`auth_limits: { per_user: { per_minute: 2000000 } }`, `auth_limits.per_user.per_minute: 2000000 is over the limit of 1000000`},
		{`auth_limits: { per_address: { burst: 2000000 } }`, `auth_limits.per_address.burst: 2000000 is over the limit`},
		{`auth_limits: { max_tracked: 20000000 }`, `auth_limits.max_tracked: 20000000 is over the limit of 10000000`},
		{`auth_limits: { per_user: { per_second: 3 } }`, `per_second`},
		{`log: { access_level: trace }`, `log.access_level: "trace" is not one of debug, info, warn, error`},
	} {
		_, err := config.Parse("t.yaml", []byte(doorsBase+tc.yaml), func(string) string { return "" })
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want it to say %q", tc.yaml, err, tc.want)
		}
	}
}

func TestParse_MetricsIsAPathOfTheSidecar(t *testing.T) {
	yaml := strings.Replace(doorsBase, `base_url: "http://127.0.0.1:1153"`, `base_url: "http://127.0.0.1:1153", auth_path: "/metrics"`, 1)
	_, err := config.Parse("t.yaml", []byte(yaml), func(string) string { return "" })
	if err == nil || !strings.Contains(err.Error(), `liveblocks.auth_path: "/metrics" is a path of the sidecar's own HTTP listener`) {
		t.Fatalf("error %v", err)
	}
}
