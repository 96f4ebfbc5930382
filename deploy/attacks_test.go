package deploy_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/lbauthz/lbauthz/authz"
	"github.com/lbauthz/lbauthz/authz/door/httpdoor"
	"github.com/lbauthz/lbauthz/internal/authztest"
	"github.com/lbauthz/lbauthz/internal/testenv"
)

// The attack table of authztest (forged and ambiguous credentials,
// forwarded headers sent by the client, spellings of the auth path) through
// a real nginx and a real Caddy with the configs of this folder, in front of
// the real HTTP doors and the real Liveblocks dev server behind a counter.
// Where a proxy answers a case differently from the sidecar's own doors,
// the case says so (Case.Via) and why.

// attackSidecar serves the HTTP doors with authztest.AttackConfig.
func attackSidecar(t *testing.T) (url string, lb *authztest.Counter, a *authztest.Attacks) {
	t.Helper()
	_, lb = authztest.DevServer(t)
	a = authztest.NewAttacks(t)
	e := a.Engine(t, lb.URL, testenv.DevSecretKey)
	srv := httptest.NewServer(httpdoor.New(authz.NewHolder(e), httpdoor.Options{}))
	t.Cleanup(srv.Close)
	return srv.URL, lb, a
}

// attackDoor sends a case through the proxy at base, with every Cookie line
// of the case, and reduces the answer to an Outcome. An answer of the app
// must show no identity the client sent, and no X-Forwarded-For but the
// proxy's own.
func attackDoor(base string) authztest.Door {
	return func(t *testing.T, c authztest.Case) authztest.Outcome {
		req, err := http.NewRequest(c.Method, base+c.Path, strings.NewReader(c.Body))
		if err != nil {
			t.Fatal(err)
		}
		if c.Cookie != "" {
			req.Header.Set("Cookie", c.Cookie)
		}
		for _, more := range c.MoreCookies {
			req.Header.Add("Cookie", more)
		}
		for k, v := range c.Header {
			req.Header.Set(k, v)
		}
		if c.Body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := proxyClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		a, ok := appAnswer(string(body))
		if !ok {
			return authztest.AnswerOutcome(t, resp.StatusCode, body)
		}
		if len(a.UserID) > 1 || len(a.UserGroups) > 1 {
			t.Fatalf("the app saw %d x-user-id and %d x-user-groups headers", len(a.UserID), len(a.UserGroups))
		}
		user := strings.Join(a.UserID, "")
		if user == "" && len(a.UserGroups)+len(a.UserInfo) > 0 {
			t.Fatalf("the app saw identity headers %q %q without a user", a.UserGroups, a.UserInfo)
		}
		if len(a.Underscored) > 0 {
			t.Fatalf("the app saw identity headers spelt with underscores: %q", a.Underscored)
		}
		if strings.Contains(a.ForwardedFor, "10.6.6.6") {
			t.Fatalf("the app saw the client's X-Forwarded-For %q", a.ForwardedFor)
		}
		return authztest.Outcome{Allowed: true, Status: resp.StatusCode, UserID: user, Groups: strings.Join(a.UserGroups, "")}
	}
}

func TestNginx_Attacks(t *testing.T) {
	bin := nginxBinary(t)
	sidecar, lb, a := attackSidecar(t)
	app := startApp(t)
	listen := testenv.FreeAddr(t)
	prefix, conf := renderNginx(t, nginxAddrs{
		Listen:  listen,
		Lbauthz: strings.TrimPrefix(sidecar, "http://"),
		App:     strings.TrimPrefix(app.URL, "http://"),
	})
	p := testenv.Start(t, "nginx", exec.Command(bin, "-p", prefix+"/", "-c", conf, "-g", "daemon off;"))
	testenv.WaitTCP(t, p, listen, 10*time.Second)
	authztest.RunAttacks(t, "nginx", a.Cases(), lb, attackDoor("http://"+listen))
	if n := a.TrapHits(); n != 0 {
		t.Fatalf("a token's jku or x5u URL was fetched %d times", n)
	}
}

func TestCaddy_Attacks(t *testing.T) {
	bin := caddyBinary(t)
	sidecar, lb, a := attackSidecar(t)
	app := startApp(t)
	listen := testenv.FreeAddr(t)
	cmd := caddyCommand(t, bin, map[string]string{
		"LBAUTHZ_SITE_ADDRESS": "http://" + listen,
		"LBAUTHZ_HTTP_ADDR":    strings.TrimPrefix(sidecar, "http://"),
		"LBAUTHZ_APP_ADDR":     strings.TrimPrefix(app.URL, "http://"),
		"LBAUTHZ_CADDY_ADMIN":  "off",
	}, "run", "--config", "caddy/Caddyfile", "--adapter", "caddyfile")
	p := testenv.Start(t, "caddy", cmd)
	testenv.WaitTCP(t, p, listen, 15*time.Second)
	authztest.RunAttacks(t, "caddy", a.Cases(), lb, attackDoor("http://"+listen))
	if n := a.TrapHits(); n != 0 {
		t.Fatalf("a token's jku or x5u URL was fetched %d times", n)
	}
}
