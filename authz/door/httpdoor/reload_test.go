package httpdoor_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"go.uber.org/zap"

	"github.com/lbauthz/lbauthz/authz"
	"github.com/lbauthz/lbauthz/authz/door"
	"github.com/lbauthz/lbauthz/internal/assemble"
	"github.com/lbauthz/lbauthz/internal/authztest"
	"github.com/lbauthz/lbauthz/internal/testenv"
)

// TestHTTPDoors_TrustedPeersAndBodyLimitFollowAReload builds the doors
// through the registry and reloads them as serve does (assemble.BuildDoors,
// then assemble.PrepareDoors with a config with other http_doors settings):
// the doors apply the new trusted peers and body limit at once.
func TestHTTPDoors_TrustedPeersAndBodyLimitFollowAReload(t *testing.T) {
	dev := testenv.StartLiveblocks(t)
	first, _ := authztest.ParseConfig(t, authztest.Config, dev.URL, testenv.DevSecretKey)
	holder := authz.NewHolder(authztest.Engine(t, authztest.Config, dev.URL, testenv.DevSecretKey))
	doors, err := assemble.BuildDoors(first, door.Env{Engines: holder, Log: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(door.HTTPHandler(doors, http.NotFoundHandler()))
	defer srv.Close()
	check := http.Header{"X-Original-Uri": {"/docs/1"}, "X-Original-Method": {"GET"}}
	valid := http.Header{"Cookie": {"session=" + authztest.Session(authztest.Alice())}}
	body := `{"room":"` + strings.Repeat("r", 100) + `"}`
	if status, _, _ := authztest.Send(t, "GET", srv.URL+"/check/nginx", check, ""); status != 200 {
		t.Fatalf("loopback check before the reload: %d", status)
	}
	if status, _, _ := authztest.Send(t, "POST", srv.URL+authztest.AuthPath, valid, body); status != 200 {
		t.Fatalf("a 112-byte body before the reload: %d", status)
	}

	reloaded := authztest.Config + `
http_doors:
  trusted_peers: ["10.0.0.0/8"]
  max_body_bytes: 64
`
	cfg, _ := authztest.ParseConfig(t, reloaded, dev.URL, testenv.DevSecretKey)
	apply, err := assemble.PrepareDoors(doors, cfg)
	if err != nil {
		t.Fatal(err)
	}
	holder.Swap(authztest.Engine(t, reloaded, dev.URL, testenv.DevSecretKey))
	apply()
	if status, _, b := authztest.Send(t, "GET", srv.URL+"/check/nginx", check, ""); status != 403 || !strings.Contains(string(b), "untrusted_peer") {
		t.Fatalf("loopback check after loopback was dropped from trusted_peers: %d %s", status, b)
	}
	if status, _, _ := authztest.Send(t, "POST", srv.URL+authztest.AuthPath, valid, body); status != 413 {
		t.Fatalf("a 112-byte body over the new 64-byte limit: %d, want 413", status)
	}
}
