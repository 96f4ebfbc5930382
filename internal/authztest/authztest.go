// Package authztest holds what the tests of the doors share: a signed session
// maker, engines built from YAML, and the CheckRequests Envoy sends.
package authztest

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"github.com/golang-jwt/jwt/v5"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/lbauthz/lbauthz/authz"
	"github.com/lbauthz/lbauthz/authz/config"
	"github.com/lbauthz/lbauthz/authz/door/envoygrpc"
	"github.com/lbauthz/lbauthz/internal/assemble"
	"github.com/lbauthz/lbauthz/internal/testenv"
	configv1 "github.com/lbauthz/lbauthz/proto/lbauthz/config/v1"
)

// HMACSecret signs the sessions of the tests: random, made anew by each test
// process, so no key of a test is written in the repository.
var HMACSecret = randomSecret()

func randomSecret() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic("making the test session key: " + err.Error())
	}
	return hex.EncodeToString(b)
}

// The parts of the base config that every config of the tests shares: the
// listeners on free loopback ports, the auth path, and the identity read
// from the claims "sub", "groups", "name" and "picture" with the upstream
// headers it is sent in. A config is ConfigHead, its session store (the
// lines under "session:", indented by four spaces), then ConfigTail.
const (
	ConfigHead = `
listen:
  grpc: "127.0.0.1:0"
  http: "127.0.0.1:0"
liveblocks:
  auth_path: "/api/liveblocks-auth"
  timeout: "2s"
session:
  cookie: "session"
`
	ConfigTail = `identity:
  user_id: "sub"
  group_ids: "groups"
  user_info: { name: "name", avatar: "picture" }
upstream_headers:
  user_id: "x-user-id"
  group_ids: "x-user-groups"
  user_info: "x-user-info"
`
)

// Config is the config of most tests: HS256 sessions signed with
// HMACSecret; HMAC_FILE is replaced by Engine, LIVEBLOCKS_BASE_URL comes from
// the environment given to Engine.
const Config = ConfigHead + `  jwt:
    hmac_secret_file: "HMAC_FILE"
    algorithms: ["HS256"]
` + ConfigTail

// BearerSessions is a more_sessions section to add to a config: API clients'
// bearer tokens, HS256 JWTs signed with APISecret (API_HMAC_FILE is replaced
// by Engine and ParseConfig), read with the config's identity section.
const BearerSessions = `more_sessions:
  - session:
      bearer: true
      jwt: { hmac_secret_file: "API_HMAC_FILE", algorithms: ["HS256"] }
`

// APISecret signs the bearer tokens of BearerSessions: not HMACSecret, so a
// session cookie is no bearer token and the other way round.
var APISecret = randomSecret()

// APIToken signs a bearer token of BearerSessions over claims.
func APIToken(claims map[string]any) string { return SignHS(APISecret, "HS256", claims) }

// Engine builds an engine from YAML (HMAC_FILE is replaced by a file holding
// HMACSecret) talking to Liveblocks at baseURL with secretKey, with the
// metrics or tracing of with.
func Engine(t testing.TB, yaml, baseURL, secretKey string, with ...assemble.Option) *authz.Engine {
	t.Helper()
	cfg, sec := ParseConfig(t, yaml, baseURL, secretKey)
	e, err := assemble.Engine(cfg, sec, zap.NewNop(), with...)
	if err != nil {
		t.Fatalf("engine: %v", err)
	}
	return e
}

// ParseConfig loads YAML as Engine does, and reads its secrets.
func ParseConfig(t testing.TB, yaml, baseURL, secretKey string) (*configv1.Config, *config.Secrets) {
	t.Helper()
	dir := t.TempDir()
	hf := filepath.Join(dir, "hmac")
	if err := os.WriteFile(hf, []byte(HMACSecret), 0o600); err != nil {
		t.Fatal(err)
	}
	af := filepath.Join(dir, "api-hmac")
	if err := os.WriteFile(af, []byte(APISecret), 0o600); err != nil {
		t.Fatal(err)
	}
	yaml = strings.ReplaceAll(yaml, "API_HMAC_FILE", af)
	yaml = strings.ReplaceAll(yaml, "HMAC_FILE", hf)
	env := map[string]string{"LIVEBLOCKS_BASE_URL": baseURL, "LIVEBLOCKS_SECRET_KEY": secretKey}
	getenv := func(k string) string { return env[k] }
	cfg, err := config.Parse("test.yaml", []byte(yaml), getenv)
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	sec, err := config.ReadSecrets(cfg, getenv)
	if err != nil {
		t.Fatalf("secrets: %v", err)
	}
	return cfg, sec
}

// Session signs a session JWT with HMACSecret (HS256) over claims.
func Session(claims map[string]any) string {
	return SignHS(HMACSecret, "HS256", claims)
}

// SignHS signs claims with an HMAC algorithm (HS256, HS384, HS512) and
// secret.
func SignHS(secret, alg string, claims map[string]any) string {
	return signHS(secret, alg, nil, claims)
}

// signHS signs claims with an HMAC algorithm and secret, with extra header
// fields (kid, jku, ...).
func signHS(secret, alg string, extra, claims map[string]any) string {
	tok := jwt.NewWithClaims(jwt.GetSigningMethod(alg), jwt.MapClaims(claims))
	for k, v := range extra {
		tok.Header[k] = v
	}
	signed, err := tok.SignedString([]byte(secret))
	if err != nil {
		panic("signing a test session: " + err.Error())
	}
	return signed
}

// Unsigned returns the first two parts of a JWT.
func Unsigned(header, claims map[string]any) string {
	hb, _ := json.Marshal(header)
	cb, _ := json.Marshal(claims)
	return base64.RawURLEncoding.EncodeToString(hb) + "." + base64.RawURLEncoding.EncodeToString(cb)
}

// Alice is a valid session: user alice in group team, an hour to live.
func Alice() map[string]any {
	return map[string]any{
		"sub": "alice", "groups": []any{"team", "eng"}, "name": "Alice", "picture": "https://example.test/a.png",
		"exp": time.Now().Add(time.Hour).Unix(),
	}
}

// CheckRequest is what Envoy sends for a request: lower-case header keys,
// pseudo-headers included, the path with its query string.
func CheckRequest(method, path string, headers map[string]string, body string) *authv3.CheckRequest {
	h := map[string]string{":method": method, ":path": path, ":authority": "app.example.test", ":scheme": "https",
		"user-agent": "Mozilla/5.0", "x-request-id": "6d0c3b7e-1"}
	for k, v := range headers {
		h[strings.ToLower(k)] = v
	}
	hr := &authv3.AttributeContext_HttpRequest{
		Id: "1", Method: method, Path: path, Host: "app.example.test", Scheme: "https",
		Protocol: "HTTP/1.1", Headers: h,
	}
	if body != "" {
		hr.Body = body
		hr.Size = int64(len(body))
	}
	return &authv3.CheckRequest{Attributes: &authv3.AttributeContext{
		Source: &authv3.AttributeContext_Peer{Address: &corev3.Address{Address: &corev3.Address_SocketAddress{
			SocketAddress: &corev3.SocketAddress{Address: "10.0.0.7", PortSpecifier: &corev3.SocketAddress_PortValue{PortValue: 51234}}}}},
		Request: &authv3.AttributeContext_Request{Http: hr},
	}}
}

// GRPC serves the engine's gRPC door on a loopback port and returns a client.
func GRPC(t testing.TB, e *authz.Engine) authv3.AuthorizationClient {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	authv3.RegisterAuthorizationServer(srv, envoygrpc.NewServer(authz.NewHolder(e)))
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return authv3.NewAuthorizationClient(conn)
}

// Counter is a reverse proxy in front of the real Liveblocks dev server that
// counts the calls going through, so a test can show Liveblocks was not
// called.
type Counter struct {
	URL   string
	calls atomic.Int64
}

// Calls returns the number of requests proxied so far.
func (c *Counter) Calls() int64 { return c.calls.Load() }

// CountCalls starts a counting proxy in front of target.
func CountCalls(t testing.TB, target string) *Counter {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	c := &Counter{}
	rp := httputil.NewSingleHostReverseProxy(u)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.calls.Add(1)
		rp.ServeHTTP(w, r)
	})}
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(func() { _ = srv.Shutdown(context.Background()) })
	c.URL = "http://" + lis.Addr().String()
	return c
}

// DevServer starts the real Liveblocks dev server behind a counting proxy.
func DevServer(t testing.TB) (*testenv.DevServer, *Counter) {
	t.Helper()
	dev := testenv.StartLiveblocks(t)
	return dev, CountCalls(t, dev.URL)
}

// TokenClaims decodes the payload of a JWT (without checking it: the dev
// server's tokens are unsigned).
func TokenClaims(t testing.TB, token string) map[string]any {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) < 2 {
		t.Fatalf("not a JWT (%d parts)", len(parts))
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatalf("JWT payload: %v", err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("JWT payload: %v", err)
	}
	return m
}
