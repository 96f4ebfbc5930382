package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// env holds what every group shares: where the binaries are, the scratch
// folder, the CPU plan and the Liveblocks dev server.
type env struct {
	root    string // the repository
	bin     string // lbauthz and floor
	tmp     string
	cpu     cpus
	load    *loadGen
	devURL  string // the Liveblocks dev server
	hmacKey string // file holding hmacSecret
	seq     int
}

func (e *env) name(base string) string {
	e.seq++
	return fmt.Sprintf("%02d-%s", e.seq, base)
}

// server is a process under test or a backing service, with its addresses.
type server struct {
	*proc
	grpc, http string
}

// startFloor starts the floor server with the doors asked for, on the
// server's CPU.
func (e *env) startFloor(grpcDoor, httpDoor bool) (*server, error) {
	return e.floorProc(e.cpu.server, grpcDoor, httpDoor)
}

// startApp starts the app behind nginx (the floor binary with -app).
func (e *env) startApp() (*server, error) {
	return e.floorProc(e.cpu.load, false, true, "-app")
}

func (e *env) floorProc(cpu string, grpcDoor, httpDoor bool, extra ...string) (*server, error) {
	s := &server{}
	args := append([]string{filepath.Join(e.bin, "floor")}, extra...)
	if grpcDoor {
		s.grpc = freeAddr()
		args = append(args, "-grpc", s.grpc)
	}
	if httpDoor {
		s.http = freeAddr()
		args = append(args, "-http", s.http)
	}
	p, err := start(e.tmp, e.name("floor"), pinned(cpu, args...))
	if err != nil {
		return nil, err
	}
	s.proc = p
	addr := s.grpc
	if addr == "" {
		addr = s.http
	}
	return s, p.waitReady(10*time.Second, tcpReady(addr))
}

// sidecarConfig is the sidecar's config in the benchmark; {{SESSION}} is
// replaced by the session store's section.
const sidecarConfig = `
listen:
  grpc: "{{GRPC}}"
  http: "{{HTTP}}"
  # ghz reads the Check service's schema by reflection.
  grpc_reflection: true
liveblocks:
  base_url: "{{LIVEBLOCKS}}"
  auth_path: "/api/liveblocks-auth"
session:
  cookie: "session"
{{SESSION}}
  cache:
    ttl: "10m"
identity:
  user_id: "sub"
  group_ids: "groups"
  user_info: { name: "name", avatar: "picture" }
upstream_headers:
  user_id: "x-user-id"
  group_ids: "x-user-groups"
  user_info: "x-user-info"
# The benchmark sends every token request as one user from one address:
# the limits run, but at rates no case reaches.
auth_limits:
  per_user: { per_minute: 1000000, burst: 1000000 }
  per_address: { per_minute: 1000000, burst: 1000000 }
log:
  level: "warn"
`

func (e *env) jwtSession() string {
	return fmt.Sprintf("  jwt:\n    hmac_secret_file: %q\n    algorithms: [\"HS256\"]", e.hmacKey)
}

func redisSession(addr string) string {
	return fmt.Sprintf("  redis:\n    address: %q\n    key_template: \"sess:{id}\"", addr)
}

// sharedRedis is the shared section of replicas sharing the Redis at addr:
// the token path's per-user limit becomes one Redis round trip (the
// per-address check reads only what the replica has seen spent).
func sharedRedis(addr string) string {
	return fmt.Sprintf("shared:\n  redis:\n    addrs: [%q]\n", addr)
}

// startSidecar starts `lbauthz serve` with the session section given, and
// the top-level sections of extra (sharedRedis) after it.
func (e *env) startSidecar(session string, extra ...string) (*server, error) {
	s := &server{grpc: freeAddr(), http: freeAddr()}
	cfg := strings.NewReplacer("{{GRPC}}", s.grpc, "{{HTTP}}", s.http, "{{LIVEBLOCKS}}", e.devURL,
		"{{SESSION}}", session).Replace(sidecarConfig) + strings.Join(extra, "")
	name := e.name("lbauthz")
	path := filepath.Join(e.tmp, name+".yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		return nil, err
	}
	cmd := pinned(e.cpu.server, filepath.Join(e.bin, "lbauthz"), "serve", "--config", path)
	cmd.Env = append(os.Environ(), "LIVEBLOCKS_SECRET_KEY=sk_localdev")
	p, err := start(e.tmp, name, cmd)
	if err != nil {
		return nil, err
	}
	s.proc = p
	if err := p.waitReady(10*time.Second, httpReady("http://"+s.http+"/readyz")); err != nil {
		return nil, err
	}
	return s, p.waitReady(5*time.Second, tcpReady(s.grpc))
}

// startDevServer starts the real Liveblocks dev server (npm liveblocks on
// Bun), as internal/testenv does for the tests.
func (e *env) startDevServer() (*server, error) {
	bun := filepath.Join(e.root, "node_modules", ".bin", "bun")
	cli := filepath.Join(e.root, "node_modules", "liveblocks", "dist", "index.js")
	for _, f := range []string{bun, cli} {
		if _, err := os.Stat(f); err != nil {
			return nil, fmt.Errorf("the Liveblocks dev server is not installed (%s; run npm ci)", f)
		}
	}
	s := &server{http: freeAddr()}
	host, port, _ := net.SplitHostPort(s.http)
	dir := filepath.Join(e.tmp, "liveblocks")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	cmd := pinned(e.cpu.load, bun, cli, "dev", "--port", port, "--host", host, "--no-check", "--no-persist")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "PATH="+filepath.Dir(bun)+string(os.PathListSeparator)+os.Getenv("PATH"))
	p, err := start(e.tmp, e.name("liveblocks-dev"), cmd)
	if err != nil {
		return nil, err
	}
	s.proc = p
	return s, p.waitReady(30*time.Second, httpReady("http://"+s.http+"/health"))
}

// startExpress starts the reference: bench/express/server.js on Node.
func (e *env) startExpress() (*server, error) {
	dir := filepath.Join(e.root, "bench", "express")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "@liveblocks", "node")); err != nil {
		return nil, fmt.Errorf("bench/express is not installed (cd bench/express && npm ci)")
	}
	s := &server{http: freeAddr()}
	_, port, _ := net.SplitHostPort(s.http)
	cmd := pinned(e.cpu.server, "node", filepath.Join(dir, "server.js"))
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "PORT="+port, "HOST=127.0.0.1", "NODE_ENV=production",
		"LIVEBLOCKS_BASE_URL="+e.devURL, "LIVEBLOCKS_SECRET_KEY=sk_localdev", "SESSION_HMAC_SECRET="+hmacSecret)
	p, err := start(e.tmp, e.name("express"), cmd)
	if err != nil {
		return nil, err
	}
	s.proc = p
	return s, p.waitReady(20*time.Second, httpReady("http://"+s.http+"/healthz"))
}

// startRedis starts redis-server on a free port, without persistence.
func (e *env) startRedis() (*server, *redis.Client, error) {
	s := &server{grpc: "", http: freeAddr()}
	_, port, _ := net.SplitHostPort(s.http)
	dir := filepath.Join(e.tmp, "redis")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, nil, err
	}
	p, err := start(e.tmp, e.name("redis"), pinned(e.cpu.load, "redis-server", "--port", port, "--bind", "127.0.0.1",
		"--dir", dir, "--save", "", "--appendonly", "no", "--protected-mode", "no", "--daemonize", "no"))
	if err != nil {
		return nil, nil, err
	}
	s.proc = p
	c := redis.NewClient(&redis.Options{Addr: s.http})
	err = p.waitReady(10*time.Second, func() error {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		return c.Ping(ctx).Err()
	})
	return s, c, err
}

// checkDoor is the HTTP door nginx's auth_request asks.
type checkDoor int

const (
	checkNginx   checkDoor = iota // /check/nginx, as deploy/nginx/nginx.conf has it
	checkForward                  // /check/forward, with X-Forwarded-Method and X-Forwarded-Uri
	checkEnvoy                    // /check/envoy/<the original URI>
)

// startNginx starts nginx with deploy/nginx/nginx.conf, changed only where
// this machine differs (the ports, one worker, no access log) and, for
// another door than /check/nginx, in the check's location: its path and the
// headers that carry the original request. check is the HTTP address of the
// check server, app the app's.
func (e *env) startNginx(check, app string, door checkDoor) (*server, error) {
	b, err := os.ReadFile(filepath.Join(e.root, "deploy", "nginx", "nginx.conf"))
	if err != nil {
		return nil, err
	}
	s := &server{http: freeAddr()}
	_, port, _ := net.SplitHostPort(s.http)
	conf := string(b)
	const checkPass = "proxy_pass http://lbauthz/check/nginx;"
	edits := [][2]string{
		{"server 127.0.0.1:8181;", "server " + check + ";"},
		{"server 127.0.0.1:3000;", "server " + app + ";"},
		{"listen 8080;", "listen 127.0.0.1:" + port + ";"},
		{"worker_processes auto;", "worker_processes 1;"},
		{"access_log access.log;", "access_log off;"},
	}
	// The check request of each door as its proxy sends it: forward-auth
	// sends the original method and URI as X-Forwarded-Method and
	// X-Forwarded-Uri, Envoy's HTTP mode in the check's own method and path;
	// neither sends nginx's X-Original-* headers.
	const originalHeaders = "proxy_set_header X-Original-URI $request_uri;\n" +
		"            proxy_set_header X-Original-Method $request_method;"
	switch door {
	case checkForward:
		edits = append(edits, [2]string{checkPass, "proxy_pass http://lbauthz/check/forward;"},
			[2]string{originalHeaders, "proxy_set_header X-Forwarded-Uri $request_uri;\n" +
				"            proxy_set_header X-Forwarded-Method $request_method;"})
	case checkEnvoy:
		edits = append(edits, [2]string{checkPass, "proxy_pass http://lbauthz/check/envoy$request_uri;"},
			[2]string{originalHeaders, "# no X-Original-* headers: Envoy's HTTP mode does not send them"})
	}
	for _, r := range edits {
		if !strings.Contains(conf, r[0]) {
			return nil, fmt.Errorf("deploy/nginx/nginx.conf no longer holds %q: update the benchmark", r[0])
		}
		conf = strings.Replace(conf, r[0], r[1], 1)
	}
	name := e.name("nginx")
	prefix := filepath.Join(e.tmp, name)
	if err := os.MkdirAll(prefix, 0o755); err != nil {
		return nil, err
	}
	path := filepath.Join(prefix, "nginx.conf")
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		return nil, err
	}
	nginx := "nginx"
	if _, err := os.Stat("/usr/sbin/nginx"); err == nil {
		nginx = "/usr/sbin/nginx"
	}
	p, err := start(e.tmp, name, pinned(e.cpu.load, nginx, "-p", prefix+"/", "-c", path, "-e", "stderr", "-g", "daemon off;"))
	if err != nil {
		return nil, err
	}
	s.proc = p
	return s, p.waitReady(10*time.Second, tcpReady(s.http))
}
