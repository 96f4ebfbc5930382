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

func TestDemoConfig_BadAddressIsAnErrorNamingTheField(t *testing.T) {
	for _, v := range []string{"not an address", "127.0.0.1:1\"\ninjected: true"} {
		_, _, err := demoConfig(func(k string) string {
			if k == "LBAUTHZ_DEMO_HTTP" {
				return v
			}
			return ""
		})
		if err == nil || !strings.Contains(err.Error(), "listen.http") {
			t.Errorf("LBAUTHZ_DEMO_HTTP=%q: err %v, want an error about listen.http", v, err)
		}
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
