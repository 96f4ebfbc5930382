package httpdoor_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/lbauthz/lbauthz/authz"
	"github.com/lbauthz/lbauthz/authz/door/httpdoor"
	"github.com/lbauthz/lbauthz/internal/assemble"
	"github.com/lbauthz/lbauthz/internal/authztest"
	"github.com/lbauthz/lbauthz/internal/testenv"
)

// TestHTTPDoors_TrustedPeersAndBodyLimitFollowAReload swaps the engine and
// the doors' settings for those of a config with other http_doors
// settings, as a reload does: the doors apply the new trusted peers and body
// limit at once.
func TestHTTPDoors_TrustedPeersAndBodyLimitFollowAReload(t *testing.T) {
	dev := testenv.StartLiveblocks(t)
	holder := authz.NewHolder(authztest.Engine(t, authztest.Config, dev.URL, testenv.DevSecretKey))
	doors := httpdoor.New(holder, httpdoor.Options{})
	srv := httptest.NewServer(doors)
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
	settings, err := assemble.HTTPDoors(cfg.HttpDoors)
	if err != nil {
		t.Fatal(err)
	}
	holder.Swap(authztest.Engine(t, reloaded, dev.URL, testenv.DevSecretKey))
	doors.SetSettings(settings)
	if status, _, b := authztest.Send(t, "GET", srv.URL+"/check/nginx", check, ""); status != 403 || !strings.Contains(string(b), "untrusted_peer") {
		t.Fatalf("loopback check after loopback was dropped from trusted_peers: %d %s", status, b)
	}
	if status, _, _ := authztest.Send(t, "POST", srv.URL+authztest.AuthPath, valid, body); status != 413 {
		t.Fatalf("a 112-byte body over the new 64-byte limit: %d, want 413", status)
	}
}
