package main

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestDemoConfig_DefaultsAndAddressOverrides(t *testing.T) {
	cfg, sec, err := demoConfig(func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Listen.Grpc != "127.0.0.1:9191" || cfg.Listen.Http != "127.0.0.1:8181" {
		t.Errorf("default listen %q %q", cfg.Listen.Grpc, cfg.Listen.Http)
	}
	if cfg.Liveblocks.BaseUrl != "http://127.0.0.1:1153" || sec.LiveblocksSecretKey != "sk_localdev" {
		t.Errorf("default Liveblocks %q", cfg.Liveblocks.BaseUrl)
	}
	// The demo page's room is provisioned: team edits, viewers read.
	rules := cfg.GetRooms().GetProvision()
	if len(rules) != 1 || rules[0].Room != "demo-*" || len(rules[0].DefaultAccesses) != 0 ||
		rules[0].GroupsAccesses["team"] == nil || rules[0].GroupsAccesses["viewers"] == nil {
		t.Errorf("provisioning rules %v", rules)
	}

	env := map[string]string{"LBAUTHZ_DEMO_GRPC": "127.0.0.1:40001", "LBAUTHZ_DEMO_HTTP": "127.0.0.1:40002"}
	cfg, _, err = demoConfig(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Listen.Grpc != "127.0.0.1:40001" || cfg.Listen.Http != "127.0.0.1:40002" {
		t.Errorf("overridden listen %q %q", cfg.Listen.Grpc, cfg.Listen.Http)
	}
}

func TestDemoConfig_RefusesAnythingButLoopbackAndTheDevServerKey(t *testing.T) {
	for _, tc := range []struct {
		name, key, value, wantInErr string
	}{
		{"RealSecretKey", "LIVEBLOCKS_SECRET_KEY", "sk_prod_0123456789abcdef", "LIVEBLOCKS_SECRET_KEY"},
		{"RemoteLiveblocks", "LIVEBLOCKS_BASE_URL", "https://api.liveblocks.io", "LIVEBLOCKS_BASE_URL"},
		{"LiveblocksOnAPublicAddress", "LIVEBLOCKS_BASE_URL", "http://192.0.2.10:1153", "LIVEBLOCKS_BASE_URL"},
		{"LiveblocksURLNotAURL", "LIVEBLOCKS_BASE_URL", "http://[::1", "LIVEBLOCKS_BASE_URL"},
		{"HTTPOnAllInterfaces", "LBAUTHZ_DEMO_HTTP", "0.0.0.0:8181", "LBAUTHZ_DEMO_HTTP"},
		{"HTTPOnAnyAddress", "LBAUTHZ_DEMO_HTTP", ":8181", "LBAUTHZ_DEMO_HTTP"},
		{"GRPCOnAPublicAddress", "LBAUTHZ_DEMO_GRPC", "192.0.2.10:9191", "LBAUTHZ_DEMO_GRPC"},
		{"HTTPNotAnAddress", "LBAUTHZ_DEMO_HTTP", "not an address", "LBAUTHZ_DEMO_HTTP"},
		{"HTTPWithYAMLInjected", "LBAUTHZ_DEMO_HTTP", "127.0.0.1:1\"\ninjected: true", "LBAUTHZ_DEMO_HTTP"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, sec, err := demoConfig(func(k string) string {
				if k == tc.key {
					return tc.value
				}
				return ""
			})
			if err == nil || cfg != nil || sec != nil {
				t.Fatalf("%s=%q: config %v, err %v; want a refusal", tc.key, tc.value, cfg != nil, err)
			}
			if !strings.Contains(err.Error(), tc.wantInErr) {
				t.Errorf("%s=%q: err %q does not name %s", tc.key, tc.value, err, tc.wantInErr)
			}
			if tc.key == "LIVEBLOCKS_SECRET_KEY" && strings.Contains(err.Error(), tc.value) {
				t.Errorf("the refusal prints the secret key: %q", err)
			}
		})
	}
}

func TestDemoConfig_AcceptsLoopbackAndTheDevServerKey(t *testing.T) {
	env := map[string]string{
		"LIVEBLOCKS_SECRET_KEY": "sk_localdev", "LIVEBLOCKS_BASE_URL": "http://localhost:4000",
		"LBAUTHZ_DEMO_HTTP": "[::1]:40003", "LBAUTHZ_DEMO_GRPC": "127.0.0.2:40004",
	}
	cfg, sec, err := demoConfig(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Liveblocks.BaseUrl != "http://localhost:4000" || sec.LiveblocksSecretKey != "sk_localdev" ||
		cfg.Listen.Http != "[::1]:40003" || cfg.Listen.Grpc != "127.0.0.2:40004" {
		t.Errorf("config %q %q %q", cfg.Liveblocks.BaseUrl, cfg.Listen.Http, cfg.Listen.Grpc)
	}
}

func TestServe_RefusalExitsNonZeroBeforeListening(t *testing.T) {
	var stdout, stderr strings.Builder
	env := map[string]string{"LIVEBLOCKS_BASE_URL": "https://api.liveblocks.io"}
	code := run([]string{"serve"}, func(k string) string { return env[k] }, &stdout, &stderr)
	if code != exitError || !strings.Contains(stderr.String(), "LIVEBLOCKS_BASE_URL") {
		t.Errorf("exit %d, stderr %q; want %d and the refused variable named", code, stderr.String(), exitError)
	}
}

func TestDemoSession_AvatarIsServedByTheDemoApp(t *testing.T) {
	parts := strings.Split(demoSession("alice", "Alice", []string{"team"}, time.Hour), ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %d parts", len(parts))
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var claims map[string]any
	if err := json.Unmarshal(payload, &claims); err != nil {
		t.Fatal(err)
	}
	// The demo runs without network: the avatar comes from the demo app.
	if claims["picture"] != "/avatars/alice.svg" || claims["sub"] != "alice" {
		t.Errorf("claims %v, want sub alice and picture /avatars/alice.svg", claims)
	}
}
