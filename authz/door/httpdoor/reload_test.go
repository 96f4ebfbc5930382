package authz_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/lbauthz/lbauthz/authz"
	. "github.com/lbauthz/lbauthz/authz/authztest"
	"github.com/lbauthz/lbauthz/internal/testenv"
)

// TestHTTPDoors_TrustedPeersAndBodyLimitFollowAReload swaps the engine for
// one of a config with other http_doors settings, as a reload does: the
// doors apply the new trusted peers and body limit at once.
func TestHTTPDoors_TrustedPeersAndBodyLimitFollowAReload(t *testing.T) {
	dev := testenv.StartLiveblocks(t)
	holder := authz.NewHolder(Engine(t, Config, dev.URL, testenv.DevSecretKey))
	srv := httptest.NewServer(authz.NewHTTPHandler(holder, authz.HTTPDoorOptions{}))
	defer srv.Close()
	check := http.Header{"X-Original-Uri": {"/docs/1"}, "X-Original-Method": {"GET"}}
	valid := http.Header{"Cookie": {"session=" + Session(Alice())}}
	body := `{"room":"` + strings.Repeat("r", 100) + `"}`
	if status, _, _ := send(t, "GET", srv.URL+"/check/nginx", check, ""); status != 200 {
		t.Fatalf("loopback check before the reload: %d", status)
	}
	if status, _, _ := send(t, "POST", srv.URL+AuthPath, valid, body); status != 200 {
		t.Fatalf("a 112-byte body before the reload: %d", status)
	}

	holder.Swap(Engine(t, Config+`
http_doors:
  trusted_peers: ["10.0.0.0/8"]
  max_body_bytes: 64
`, dev.URL, testenv.DevSecretKey))
	if status, _, b := send(t, "GET", srv.URL+"/check/nginx", check, ""); status != 403 || !strings.Contains(string(b), "untrusted_peer") {
		t.Fatalf("loopback check after loopback was dropped from trusted_peers: %d %s", status, b)
	}
	if status, _, _ := send(t, "POST", srv.URL+AuthPath, valid, body); status != 413 {
		t.Fatalf("a 112-byte body over the new 64-byte limit: %d, want 413", status)
	}
}
