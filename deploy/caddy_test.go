package deploy_test

import (
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lbauthz/lbauthz/internal/authztest"
	"github.com/lbauthz/lbauthz/internal/testenv"
)

func caddyBinary(t *testing.T) string {
	t.Helper()
	bin, ok := testenv.LookPath("caddy")
	if !ok {
		testenv.Missing(t, "caddy is not installed (go install github.com/caddyserver/caddy/v2/cmd/caddy@v2.11.9)")
	}
	return bin
}

// caddyCommand runs caddy with the Caddyfile's {$...} settings in env and
// its state folders (autosave, certificates) in a temporary folder.
func caddyCommand(t *testing.T, bin string, env map[string]string, args ...string) *exec.Cmd {
	t.Helper()
	home := t.TempDir()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(),
		"HOME="+home,
		"XDG_CONFIG_HOME="+filepath.Join(home, "config"),
		"XDG_DATA_HOME="+filepath.Join(home, "data"),
	)
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	return cmd
}

// TestCaddy_CaddyfileAdaptsInTheRightOrder runs `caddy adapt` and checks the
// JSON it produces: the identity headers are deleted first, the token path is
// proxied to lbauthz, and everything else goes through forward_auth before
// the app.
func TestCaddy_CaddyfileAdaptsInTheRightOrder(t *testing.T) {
	bin := caddyBinary(t)
	out, err := caddyCommand(t, bin, nil, "adapt", "--config", "caddy/Caddyfile", "--adapter", "caddyfile").Output()
	if err != nil {
		var stderr string
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("caddy adapt rejected the Caddyfile: %v\n%s", err, stderr)
	}

	var cfg struct {
		Apps struct {
			HTTP struct {
				Servers map[string]struct {
					Listen []string          `json:"listen"`
					Routes []json.RawMessage `json:"routes"`
				} `json:"servers"`
			} `json:"http"`
		} `json:"apps"`
	}
	if err := json.Unmarshal(out, &cfg); err != nil {
		t.Fatalf("caddy adapt output: %v", err)
	}
	if len(cfg.Apps.HTTP.Servers) != 1 {
		t.Fatalf("want one server, got %d", len(cfg.Apps.HTTP.Servers))
	}
	for _, srv := range cfg.Apps.HTTP.Servers {
		if strings.Join(srv.Listen, ",") != ":8080" {
			t.Errorf("default listen address %v, want :8080", srv.Listen)
		}
		if len(srv.Routes) != 4 {
			t.Fatalf("want 4 top-level routes (strip headers, token path, directory, the rest), got %d", len(srv.Routes))
		}
		strip, token, dir, rest := string(srv.Routes[0]), string(srv.Routes[1]), string(srv.Routes[2]), string(srv.Routes[3])
		for _, h := range []string{"X-User-Id", "X-User-Groups", "X-User-Info"} {
			if !strings.Contains(strip, `"delete":["`+h+`"]`) {
				t.Errorf("first route does not delete %s: %s", h, strip)
			}
		}
		if !strings.Contains(token, `"path":["`+authPath+`"]`) || !strings.Contains(token, `"dial":"127.0.0.1:8181"`) ||
			strings.Contains(token, "127.0.0.1:3000") {
			t.Errorf("second route must proxy %s to lbauthz only: %s", authPath, token)
		}
		if !strings.Contains(token, `"max_size":4096`) {
			t.Errorf("token route must cap the body at 4 KiB: %s", token)
		}
		for _, p := range directoryPaths {
			if !strings.Contains(dir, `"`+p+`"`) {
				t.Errorf("third route must match %s: %s", p, dir)
			}
		}
		if !strings.Contains(dir, `"dial":"127.0.0.1:8181"`) || strings.Contains(dir, "127.0.0.1:3000") || strings.Contains(dir, "forward") {
			t.Errorf("third route must proxy the directory to lbauthz only: %s", dir)
		}
		fa := strings.Index(rest, `"uri":"/check/forward"`)
		app := strings.Index(rest, `"dial":"127.0.0.1:3000"`)
		if fa < 0 || app < 0 || fa > app {
			t.Errorf("fourth route must run forward_auth (/check/forward) before proxying to the app: %s", rest)
		}
	}
}

// TestCaddy_Traffic runs Caddy with the Caddyfile between a client, the real
// lbauthz HTTP listener and a small app (see traffic_test.go).
func TestCaddy_Traffic(t *testing.T) {
	bin := caddyBinary(t)
	s := startSidecar(t)
	app := startApp(t)
	listen := testenv.FreeAddr(t)
	cmd := caddyCommand(t, bin, map[string]string{
		"LBAUTHZ_SITE_ADDRESS": "http://" + listen,
		"LBAUTHZ_HTTP_ADDR":    strings.TrimPrefix(s.URL, "http://"),
		"LBAUTHZ_APP_ADDR":     strings.TrimPrefix(app.URL, "http://"),
		"LBAUTHZ_CADDY_ADMIN":  "off",
	}, "run", "--config", "caddy/Caddyfile", "--adapter", "caddyfile")
	p := testenv.Start(t, "caddy", cmd)
	testenv.WaitTCP(t, p, listen, 15*time.Second)
	base := "http://" + listen

	t.Run("Table", func(t *testing.T) { authztest.RunCases(t, proxyDoor(base)) })
	t.Run("RoomClient", func(t *testing.T) { runRoomClients(t, s, base) })
	t.Run("Directory", func(t *testing.T) { runDirectoryTraffic(t, base) })
	runFrontDoorTraffic(t, s, frontDoor{
		Base:      base,
		CheckPath: "/check/forward",
		// forward_auth returns any non-2xx answer as it is.
		RedirectStatus: http.StatusFound,
		// Caddy's reverse proxy answers 502 when lbauthz is down; the
		// Liveblocks client retries every 5xx.
		DownStatus: http.StatusBadGateway,
	})
}
