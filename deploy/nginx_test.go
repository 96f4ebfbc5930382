package deploy_test

import (
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lbauthz/lbauthz/internal/authztest"
	"github.com/lbauthz/lbauthz/internal/testenv"
)

// nginxAddrs are the values README.md says to adapt in nginx.conf.
type nginxAddrs struct {
	Listen  string // host:port nginx listens on
	Lbauthz string // lbauthz's HTTP listener
	App     string // the app
}

// renderNginx writes nginx.conf with the documented literal values replaced
// into a fresh prefix folder and returns the prefix and the config's path.
func renderNginx(t *testing.T, a nginxAddrs) (prefix, conf string) {
	t.Helper()
	s := string(readConfig(t, "nginx/nginx.conf"))
	s = mustReplaceOnce(t, s, "listen 8080;", "listen "+a.Listen+";")
	s = mustReplaceOnce(t, s, "server 127.0.0.1:8181;", "server "+a.Lbauthz+";")
	s = mustReplaceOnce(t, s, "server 127.0.0.1:3000;", "server "+a.App+";")
	prefix = t.TempDir()
	// The prefix must be usable by the worker processes too (they run as
	// nobody when the master is root).
	if err := os.Chmod(prefix, 0o755); err != nil {
		t.Fatal(err)
	}
	conf = filepath.Join(prefix, "nginx.conf")
	if err := os.WriteFile(conf, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	return prefix, conf
}

func nginxBinary(t *testing.T) string {
	t.Helper()
	bin, ok := testenv.LookPath("nginx")
	if !ok {
		testenv.Missing(t, "nginx is not installed (apt-get install nginx-light)")
	}
	return bin
}

func TestNginx_ConfigPassesNginxT(t *testing.T) {
	bin := nginxBinary(t)
	prefix, conf := renderNginx(t, nginxAddrs{
		Listen:  testenv.FreeAddr(t),
		Lbauthz: "127.0.0.1:8181",
		App:     "127.0.0.1:3000",
	})
	out, err := exec.Command(bin, "-t", "-p", prefix+"/", "-c", conf).CombinedOutput()
	if err != nil {
		t.Fatalf("nginx -t rejected nginx.conf: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "test is successful") {
		t.Fatalf("nginx -t did not report success:\n%s", out)
	}
}

// TestNginx_ConfigWorksForAnUnprivilegedUser runs `nginx -t` as nobody with
// only the prefix folder writable: the config must not need root-owned paths
// such as /run/nginx.pid or /var/lib/nginx.
func TestNginx_ConfigWorksForAnUnprivilegedUser(t *testing.T) {
	bin := nginxBinary(t)
	if os.Geteuid() != 0 {
		// Already unprivileged: TestNginx_ConfigPassesNginxT proves it.
		t.Skip("not root: the other nginx tests already run unprivileged")
	}
	setpriv, ok := testenv.LookPath("setpriv")
	if !ok {
		testenv.Missing(t, "setpriv (util-linux) is needed to drop privileges")
	}
	nobody, err := user.Lookup("nobody")
	if err != nil {
		testenv.Missing(t, "no user nobody: %v", err)
	}
	prefix, conf := renderNginx(t, nginxAddrs{
		Listen:  testenv.FreeAddr(t),
		Lbauthz: "127.0.0.1:8181",
		App:     "127.0.0.1:3000",
	})
	if out, err := exec.Command("chown", "-R", nobody.Uid+":"+nobody.Gid, prefix).CombinedOutput(); err != nil {
		t.Fatalf("chown: %v\n%s", err, out)
	}
	// t.TempDir's parent is only root's; nobody must be able to reach the prefix.
	for dir := filepath.Dir(prefix); dir != "/" && dir != "."; dir = filepath.Dir(dir) {
		st, err := os.Stat(dir)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm()&0o001 == 0 {
			if err := os.Chmod(dir, st.Mode().Perm()|0o001); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = os.Chmod(dir, st.Mode().Perm()) })
		}
	}
	cmd := exec.Command(setpriv, "--reuid="+nobody.Uid, "--regid="+nobody.Gid, "--clear-groups",
		bin, "-t", "-p", prefix+"/", "-c", conf)
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "test is successful") {
		t.Fatalf("nginx -t as nobody failed: %v\n%s", err, out)
	}
}

// TestNginx_Traffic starts nginx with nginx.conf between a client, the real
// lbauthz HTTP listener and a small app (see traffic_test.go).
func TestNginx_Traffic(t *testing.T) {
	bin := nginxBinary(t)
	s := startSidecar(t)
	app := startApp(t)
	listen := testenv.FreeAddr(t)
	prefix, conf := renderNginx(t, nginxAddrs{
		Listen:  listen,
		Lbauthz: strings.TrimPrefix(s.URL, "http://"),
		App:     strings.TrimPrefix(app.URL, "http://"),
	})
	p := testenv.Start(t, "nginx", exec.Command(bin, "-p", prefix+"/", "-c", conf, "-g", "daemon off;"))
	testenv.WaitTCP(t, p, listen, 10*time.Second)
	base := "http://" + listen

	t.Run("Table", func(t *testing.T) { authztest.RunCases(t, proxyDoor(base)) })
	t.Run("RoomClient", func(t *testing.T) { runRoomClients(t, s, base) })
	t.Run("Directory", func(t *testing.T) { runDirectoryTraffic(t, base) })
	runFrontDoorTraffic(t, s, frontDoor{
		Base:      base,
		CheckPath: "/check/nginx",
		// auth_request turns a 3xx into 500; nginx.conf answers 503.
		RedirectStatus: http.StatusServiceUnavailable,
		DownStatus:     http.StatusServiceUnavailable,
	})

	t.Run("CheckLocationIsNotReachableFromOutside", func(t *testing.T) {
		resp, err := http.Get("http://" + listen + "/_lbauthz_check")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET /_lbauthz_check answered %d, want 404", resp.StatusCode)
		}
	})
}

// TestNginx_MisroutedAuthPathIsRefusedNotForwarded runs nginx.conf without
// its token location, the mistake of a hand-written config: the token
// request then goes to the check, and the sidecar refuses it with a 403
// (which nginx passes on) rather than letting it reach the app or turning
// into a 500.
func TestNginx_MisroutedAuthPathIsRefusedNotForwarded(t *testing.T) {
	bin := nginxBinary(t)
	s := startSidecar(t)
	app := startApp(t)
	listen := testenv.FreeAddr(t)
	prefix, conf := renderNginx(t, nginxAddrs{
		Listen:  listen,
		Lbauthz: strings.TrimPrefix(s.URL, "http://"),
		App:     strings.TrimPrefix(app.URL, "http://"),
	})
	src, err := os.ReadFile(conf)
	if err != nil {
		t.Fatal(err)
	}
	broken := mustReplaceOnce(t, string(src), "location = /api/liveblocks-auth {", "location = /not-the-auth-path {")
	if err := os.WriteFile(conf, []byte(broken), 0o644); err != nil {
		t.Fatal(err)
	}
	p := testenv.Start(t, "nginx", exec.Command(bin, "-p", prefix+"/", "-c", conf, "-g", "daemon off;"))
	testenv.WaitTCP(t, p, listen, 10*time.Second)

	alice := "session=" + authztest.Session(authztest.Alice())
	resp, body := through(t, "http://"+listen, "POST", authPath, alice, `{"room":"r1"}`, map[string]string{"Content-Type": "application/json"})
	if _, reached := appAnswer(body); resp.StatusCode != http.StatusForbidden || reached {
		t.Fatalf("got %d %q, want 403 and the app not reached", resp.StatusCode, body)
	}
	if c := s.lastCheck(); c.OrigURI != authPath || c.OrigMethod != "POST" {
		t.Fatalf("the check saw %+v, want the token request", c.redacted())
	}
}
