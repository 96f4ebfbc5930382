package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lbauthz/lbauthz/authz/directory"
)

func TestDemoConfig_DefaultsAndAddressOverrides(t *testing.T) {
	cfg, sec, err := demoConfig(func(string) string { return "" }, "directory.json")
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
	cfg, _, err = demoConfig(func(k string) string { return env[k] }, "directory.json")
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
			}, "directory.json")
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
	cfg, sec, err := demoConfig(func(k string) string { return env[k] }, "directory.json")
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

func TestDemoDirectory_NamesEveryDemoUserAndOnlyTheRoomsGroupsGetIn(t *testing.T) {
	file := filepath.Join(t.TempDir(), "directory.json")
	if err := os.WriteFile(file, demoDirectory, 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, _, err := demoConfig(func(string) string { return "" }, file)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.GetDirectory().GetFile() != file {
		t.Fatalf("directory.file %q, want %q", cfg.GetDirectory().GetFile(), file)
	}
	var dir directory.StaticDirectory
	if err := json.Unmarshal(demoDirectory, &dir); err != nil {
		t.Fatal(err)
	}
	src, err := directory.LoadStaticSource(file)
	if err != nil {
		t.Fatal(err)
	}
	ids := []string{"alice", "bob", "carol", "dave"}
	infos, err := src.Users(context.Background(), ids)
	if err != nil {
		t.Fatal(err)
	}
	// The demo runs without network: avatars are data: URLs.
	for _, id := range ids {
		name, _ := infos[id]["name"].(string)
		avatar, _ := infos[id]["avatar"].(string)
		if name == "" || !strings.HasPrefix(avatar, "data:image/svg+xml,") {
			t.Errorf("%s: name %q, avatar %.40q; want a name and a data: URL", id, name, avatar)
		}
	}
	// Bob's group edits the demo room, Dave's has no entry: the mention
	// suggestions must list Bob and never Dave.
	access := cfg.GetRooms().GetProvision()[0].GroupsAccesses
	groupsOf := func(id string) []any { g, _ := dir.Users[id]["groups"].([]any); return g }
	for id, wantIn := range map[string]bool{"alice": true, "bob": true, "carol": true, "dave": false} {
		in := false
		for _, g := range groupsOf(id) {
			if s, ok := g.(string); ok && access[s] != nil {
				in = true
			}
		}
		if in != wantIn {
			t.Errorf("%s (groups %v) gets into the demo room: %v, want %v", id, groupsOf(id), in, wantIn)
		}
	}
}
