package deploy_test

import (
	"crypto/tls"
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

// The names of the mTLS variants: lbauthz's certificate holds
// lbauthzServerName, and each proxy's client certificate its own name,
// which lbauthz allows (listen.http_tls.allowed_dns_names).
const (
	lbauthzServerName = "lbauthz.lbauthz.svc"
	nginxClientName   = "nginx.ingress.svc"
	caddyClientName   = "caddy.ingress.svc"
)

// mtlsFiles are the PEM files of one mTLS test: the CA, lbauthz's server
// pair, and client pairs from the CA and from another one.
type mtlsFiles struct {
	dir       string
	ca        *testenv.CA
	caFile    string
	server    [2]string
	clientFor func(t *testing.T, name string, otherCA bool) (certFile, keyFile string)
}

func newMTLSFiles(t *testing.T) *mtlsFiles {
	t.Helper()
	f := &mtlsFiles{dir: t.TempDir(), ca: testenv.NewCA(t, "lbauthz test CA")}
	other := testenv.NewCA(t, "another CA")
	write := func(name string, b []byte) string {
		p := filepath.Join(f.dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	f.caFile = write("ca.crt", f.ca.PEM)
	c, k := f.ca.Issue(t, 2, false, lbauthzServerName)
	f.server = [2]string{write("lbauthz.crt", c), write("lbauthz.key", k)}
	serial := int64(10)
	f.clientFor = func(t *testing.T, name string, otherCA bool) (string, string) {
		serial++
		issuer, prefix := f.ca, "client"
		if otherCA {
			issuer, prefix = other, "other"
		}
		c, k := issuer.Issue(t, serial, true, name)
		base := prefix + "-" + strings.ReplaceAll(name, ".", "-")
		return write(base+".crt", c), write(base+".key", k)
	}
	return f
}

// startMTLSLbauthz runs the real lbauthz serve with its HTTP listener on
// mTLS: client certificates must come from the test CA and name one of
// allowed. It returns the HTTP listener's address once it answers.
func startMTLSLbauthz(t *testing.T, f *mtlsFiles, allowed ...string) string {
	t.Helper()
	bin := testenv.GoBuild(t, "./cmd/lbauthz")
	hmac := filepath.Join(f.dir, "hmac")
	if err := os.WriteFile(hmac, []byte(authztest.HMACSecret), 0o600); err != nil {
		t.Fatal(err)
	}
	httpAddr := testenv.FreeAddr(t)
	cfg := `
listen:
  grpc: "` + testenv.FreeAddr(t) + `"
  http: "` + httpAddr + `"
  http_tls:
    cert_file: "` + f.server[0] + `"
    key_file: "` + f.server[1] + `"
    client_ca_file: "` + f.caFile + `"
    require_client_cert: true
    allowed_dns_names: ["` + strings.Join(allowed, `", "`) + `"]
session:
  cookie: "session"
  jwt: { hmac_secret_file: "` + hmac + `", algorithms: ["HS256"] }
identity: { user_id: "sub", group_ids: "groups" }
`
	cfgPath := filepath.Join(f.dir, "lbauthz.yaml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "serve", "--config", cfgPath)
	cmd.Env = append(os.Environ(), "LIVEBLOCKS_SECRET_KEY=sk_localdev", "LIVEBLOCKS_BASE_URL=http://127.0.0.1:9")
	p := testenv.Start(t, "lbauthz serve", cmd)
	cert, key := f.clientFor(t, allowed[0], false)
	pair, err := tls.LoadX509KeyPair(cert, key)
	if err != nil {
		t.Fatal(err)
	}
	c := &http.Client{Timeout: time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{
		RootCAs: f.ca.Pool(), ServerName: lbauthzServerName, Certificates: []tls.Certificate{pair}}}}
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := c.Get("https://" + httpAddr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return httpAddr
			}
		}
		if p.Exited() || time.Now().After(deadline) {
			t.Fatalf("lbauthz did not answer over mTLS: %v\n%s", err, p.Output())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// clientCase is a client certificate a proxy shows lbauthz, and whether
// lbauthz must take it.
type clientCase struct {
	name     string
	san      string
	otherCA  bool
	accepted bool
}

func clientCases(allowed string) []clientCase {
	return []clientCase{
		{"the proxy's own certificate", allowed, false, true},
		{"a certificate from another CA", allowed, true, false},
		{"a certificate of the CA with a name not allowed", "app.default.svc", false, false},
	}
}

// assertMTLSThrough sends a user's request and a visitor's through the proxy:
// with an accepted certificate the app gets the identity lbauthz answered;
// with a refused one nothing reaches the app and the client gets refused.
func assertMTLSThrough(t *testing.T, base string, accepted bool, refusedStatus int) {
	t.Helper()
	alice := "session=" + authztest.Session(authztest.Alice())
	resp, body := through(t, base, "GET", "/docs/1", alice, "", map[string]string{"X-User-Id": "mallory"})
	app, reached := appAnswer(body)
	if !accepted {
		if reached || resp.StatusCode != refusedStatus {
			t.Fatalf("with a certificate lbauthz refuses: %d, app reached %v, want %d and the app not reached", resp.StatusCode, reached, refusedStatus)
		}
		return
	}
	if !reached || resp.StatusCode != http.StatusOK || strings.Join(app.UserID, ",") != "alice" {
		t.Fatalf("alice through mTLS: %d %q, want 200 and the app seeing x-user-id alice", resp.StatusCode, body)
	}
	resp, body = through(t, base, "GET", "/docs/1", "", "", map[string]string{"X-User-Id": "mallory"})
	if app, reached := appAnswer(body); reached && len(app.UserID) > 0 {
		t.Fatalf("a visitor's forged x-user-id reached the app: %d %+v", resp.StatusCode, app)
	}
}

func TestNginxMTLS_PassesIdentityAndFailsClosedOnARefusedCertificate(t *testing.T) {
	bin := nginxBinary(t)
	f := newMTLSFiles(t)
	lbauthz := startMTLSLbauthz(t, f, nginxClientName)
	app := startApp(t)
	for _, tc := range clientCases(nginxClientName) {
		t.Run(tc.name, func(t *testing.T) {
			cert, key := f.clientFor(t, tc.san, tc.otherCA)
			listen := testenv.FreeAddr(t)
			s := string(readConfig(t, "nginx/nginx-mtls.conf"))
			s = mustReplaceOnce(t, s, "listen 8080;", "listen "+listen+";")
			s = mustReplaceOnce(t, s, "server 127.0.0.1:8181;", "server "+lbauthz+";")
			s = mustReplaceOnce(t, s, "server 127.0.0.1:3000;", "server "+strings.TrimPrefix(app.URL, "http://")+";")
			s = mustReplaceOnce(t, s, "/etc/lbauthz/tls/nginx-client.crt;", cert+";")
			s = mustReplaceOnce(t, s, "/etc/lbauthz/tls/nginx-client.key;", key+";")
			s = mustReplaceOnce(t, s, "/etc/lbauthz/tls/ca.crt;", f.caFile+";")
			prefix := t.TempDir()
			if err := os.Chmod(prefix, 0o755); err != nil {
				t.Fatal(err)
			}
			conf := filepath.Join(prefix, "nginx.conf")
			if err := os.WriteFile(conf, []byte(s), 0o644); err != nil {
				t.Fatal(err)
			}
			p := testenv.Start(t, "nginx", exec.Command(bin, "-p", prefix+"/", "-c", conf, "-g", "daemon off;"))
			testenv.WaitTCP(t, p, listen, 10*time.Second)
			// auth_request gets no answer: nginx-mtls.conf answers 503.
			assertMTLSThrough(t, "http://"+listen, tc.accepted, http.StatusServiceUnavailable)
		})
	}
}

func TestCaddyMTLS_PassesIdentityAndFailsClosedOnARefusedCertificate(t *testing.T) {
	bin := caddyBinary(t)
	f := newMTLSFiles(t)
	lbauthz := startMTLSLbauthz(t, f, caddyClientName)
	app := startApp(t)
	for _, tc := range clientCases(caddyClientName) {
		t.Run(tc.name, func(t *testing.T) {
			cert, key := f.clientFor(t, tc.san, tc.otherCA)
			// The Caddyfile reads the files by these names in LBAUTHZ_TLS_DIR.
			dir := t.TempDir()
			for from, to := range map[string]string{cert: "caddy-client.crt", key: "caddy-client.key", f.caFile: "ca.crt"} {
				b, err := os.ReadFile(from)
				if err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(dir, to), b, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			listen := testenv.FreeAddr(t)
			cmd := caddyCommand(t, bin, map[string]string{
				"LBAUTHZ_SITE_ADDRESS":    "http://" + listen,
				"LBAUTHZ_HTTP_ADDR":       lbauthz,
				"LBAUTHZ_APP_ADDR":        strings.TrimPrefix(app.URL, "http://"),
				"LBAUTHZ_CADDY_ADMIN":     "off",
				"LBAUTHZ_TLS_DIR":         dir,
				"LBAUTHZ_TLS_SERVER_NAME": lbauthzServerName,
			}, "run", "--config", "caddy/Caddyfile-mtls", "--adapter", "caddyfile")
			p := testenv.Start(t, "caddy", cmd)
			testenv.WaitTCP(t, p, listen, 15*time.Second)
			// forward_auth gets no answer: Caddy answers 502.
			assertMTLSThrough(t, "http://"+listen, tc.accepted, http.StatusBadGateway)
		})
	}
}
