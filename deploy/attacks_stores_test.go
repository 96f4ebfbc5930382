package deploy_test

import (
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

// The Redis store's attack table (cookies naming keys other than sessions)
// through a real nginx and a real Caddy, in front of the HTTP doors reading
// a real Redis: the proxies pass such cookies on unchanged, and the sidecar
// refuses them.

func redisAttackSidecar(t *testing.T) (url string, lb *authztest.Counter, ra *authztest.RedisAttacks) {
	t.Helper()
	_, lb = authztest.DevServer(t)
	r := testenv.StartRedis(t)
	ra = authztest.NewRedisAttacks(t, r.Addr)
	srv := httptest.NewServer(httpdoor.New(authz.NewHolder(ra.Engine(t, lb.URL, testenv.DevSecretKey)), httpdoor.Options{}))
	t.Cleanup(srv.Close)
	return srv.URL, lb, ra
}

func TestNginx_RedisAttacks(t *testing.T) {
	bin := nginxBinary(t)
	sidecar, lb, ra := redisAttackSidecar(t)
	app := startApp(t)
	listen := testenv.FreeAddr(t)
	prefix, conf := renderNginx(t, nginxAddrs{
		Listen:  listen,
		Lbauthz: strings.TrimPrefix(sidecar, "http://"),
		App:     strings.TrimPrefix(app.URL, "http://"),
	})
	p := testenv.Start(t, "nginx", exec.Command(bin, "-p", prefix+"/", "-c", conf, "-g", "daemon off;"))
	testenv.WaitTCP(t, p, listen, 10*time.Second)
	authztest.RunAttacks(t, "nginx", ra.Cases(), lb, attackDoor("http://"+listen))
}

func TestCaddy_RedisAttacks(t *testing.T) {
	bin := caddyBinary(t)
	sidecar, lb, ra := redisAttackSidecar(t)
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
	authztest.RunAttacks(t, "caddy", ra.Cases(), lb, attackDoor("http://"+listen))
}
