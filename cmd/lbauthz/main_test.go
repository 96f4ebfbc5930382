package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/grpc/status"

	"github.com/lbauthz/lbauthz/internal/authztest"
	"github.com/lbauthz/lbauthz/internal/testenv"
)

// binary is the lbauthz binary TestMain builds: these tests run it as
// operators do. Under -short (make test-unit) it is not built, and the tests
// that run it skip (needBinary).
var binary string

func TestMain(m *testing.M) {
	flag.Parse()
	if testing.Short() {
		os.Exit(m.Run())
	}
	dir, err := os.MkdirTemp("", "lbauthz-bin")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "lbauthz")
	if out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput(); err != nil {
		os.Stderr.Write(out)
		panic(err)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// needBinary skips the test under -short, where the binary is not built:
// building it takes most of the fast run's time.
func needBinary(t *testing.T) {
	t.Helper()
	testenv.SkipShort(t, "the lbauthz binary")
}

// writeConfig writes a config for the sidecar, with its secret files, and
// returns its path and the sidecar's addresses.
func writeConfig(t *testing.T, extra string) (path, grpcAddr, httpAddr string) {
	t.Helper()
	dir := t.TempDir()
	hmacFile := filepath.Join(dir, "hmac")
	if err := os.WriteFile(hmacFile, []byte(authztest.HMACSecret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	grpcAddr, httpAddr = testenv.FreeAddr(t), testenv.FreeAddr(t)
	cfg := strings.NewReplacer("GRPC_ADDR", grpcAddr, "HTTP_ADDR", httpAddr, "HMAC_FILE", hmacFile).Replace(`
listen:
  grpc: "GRPC_ADDR"
  http: "HTTP_ADDR"
  shutdown_grace: 5s
session:
  cookie: "session"
  jwt:
    hmac_secret_file: "HMAC_FILE"
    algorithms: ["HS256"]
identity:
  user_id: "sub"
  group_ids: "groups"
  user_info: { name: "name", avatar: "picture" }
`) + extra
	path = filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return path, grpcAddr, httpAddr
}

func grpcConn(t *testing.T, addr string) *grpc.ClientConn {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

func authCheck(t *testing.T, conn *grpc.ClientConn, timeout time.Duration) (*authv3.CheckResponse, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	req := authztest.CheckRequest("POST", "/api/liveblocks-auth", map[string]string{"cookie": "session=" + authztest.Session(authztest.Alice())}, `{"room":"r"}`)
	return authv3.NewAuthorizationClient(conn).Check(ctx, req)
}

func TestServe_UnderLiveblocksDevCmdUsesItsEnvironment(t *testing.T) {
	// `liveblocks dev --cmd "lbauthz serve --config FILE"` exports
	// LIVEBLOCKS_BASE_URL and LIVEBLOCKS_SECRET_KEY; the config names
	// neither, and a token must still come from that dev server.
	cfgPath, grpcAddr, httpAddr := writeConfig(t, "")
	root := testenv.RepoRoot()
	cli := filepath.Join(root, "node_modules", "liveblocks", "dist", "index.js")
	bun := filepath.Join(root, "node_modules", ".bin", "bun")
	if _, err := os.Stat(cli); err != nil {
		testenv.Missing(t, "the Liveblocks dev server (npm ci)")
	}
	port := strings.Split(testenv.FreeAddr(t), ":")[1]
	cmd := exec.Command(bun, cli, "dev", "--port", port, "--host", "127.0.0.1", "--no-check",
		"--cmd", binary+" serve --config "+cfgPath)
	cmd.Dir = t.TempDir()
	cmd.Env = append(filterEnv(os.Environ(), "LIVEBLOCKS_"), "PATH="+filepath.Dir(bun)+":"+os.Getenv("PATH"))
	p := testenv.Start(t, "liveblocks dev --cmd lbauthz", cmd)
	testenv.WaitHTTP(t, p, "http://"+httpAddr+"/readyz", 20*time.Second)

	resp, err := authCheck(t, grpcConn(t, grpcAddr), 3*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if got := resp.GetDeniedResponse().GetStatus().GetCode(); got != 200 {
		t.Fatalf("status %d, body %s", got, resp.GetDeniedResponse().GetBody())
	}
	var body struct{ Token string }
	if err := json.Unmarshal([]byte(resp.GetDeniedResponse().GetBody()), &body); err != nil {
		t.Fatal(err)
	}
	if c := authztest.TokenClaims(t, body.Token); c["pid"] != "localdev" || c["uid"] != "alice" {
		t.Fatalf("token claims pid=%v uid=%v, want the dev server's token for alice", c["pid"], c["uid"])
	}
}

func filterEnv(env []string, prefix string) []string {
	var out []string
	for _, kv := range env {
		if !strings.HasPrefix(kv, prefix) {
			out = append(out, kv)
		}
	}
	return out
}

func TestServe_HealthAndReadiness(t *testing.T) {
	cfgPath, grpcAddr, httpAddr := writeConfig(t, "")
	startServe(t, cfgPath, httpAddr)
	for _, path := range []string{"/healthz", "/readyz"} {
		resp, err := http.Get("http://" + httpAddr + path)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("%s: %v %v", path, err, resp)
		}
		resp.Body.Close()
	}
	conn := grpcConn(t, grpcAddr)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	for _, svc := range []string{"", "envoy.service.auth.v3.Authorization"} {
		h, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{Service: svc})
		if err != nil || h.GetStatus() != healthpb.HealthCheckResponse_SERVING {
			t.Fatalf("gRPC health of %q: %v %v", svc, h, err)
		}
	}
}

// gRPC reflection lists the services and their schemas to whoever reaches
// the port: it is served only when listen.grpc_reflection asks for it.
func TestServe_GRPCReflectionOnlyWhenAskedFor(t *testing.T) {
	for _, tc := range []struct {
		name, extra string
		served      bool
	}{
		{"OffByDefault", "", false},
		{"OnWhenAskedFor", "  grpc_reflection: true\n", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfgPath, grpcAddr, httpAddr := writeConfig(t, "")
			if tc.extra != "" {
				b, err := os.ReadFile(cfgPath)
				if err != nil {
					t.Fatal(err)
				}
				b = []byte(strings.Replace(string(b), "  shutdown_grace: 5s\n", "  shutdown_grace: 5s\n"+tc.extra, 1))
				if err := os.WriteFile(cfgPath, b, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			startServe(t, cfgPath, httpAddr)
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			defer cancel()
			names, err := reflectedServices(ctx, grpcConn(t, grpcAddr))
			switch {
			case tc.served && (err != nil || !strings.Contains(strings.Join(names, " "), "envoy.service.auth.v3.Authorization")):
				t.Fatalf("reflection lists %v (%v), want the Authorization service", names, err)
			case !tc.served && status.Code(err) != codes.Unimplemented:
				t.Fatalf("reflection answered %v (%v), want Unimplemented", names, err)
			}
		})
	}
}

// startServe runs lbauthz serve with the config until it is ready.
func startServe(t *testing.T, cfgPath, httpAddr string) *testenv.Process {
	t.Helper()
	cmd := exec.Command(binary, "serve", "--config", cfgPath)
	cmd.Env = append(filterEnv(os.Environ(), "LIVEBLOCKS_"), "LIVEBLOCKS_SECRET_KEY=sk_localdev", "LIVEBLOCKS_BASE_URL=http://127.0.0.1:9")
	p := testenv.Start(t, "lbauthz serve", cmd)
	testenv.WaitHTTP(t, p, "http://"+httpAddr+"/readyz", 10*time.Second)
	return p
}

// reflectedServices asks the server's reflection service for its services.
func reflectedServices(ctx context.Context, conn *grpc.ClientConn) ([]string, error) {
	stream, err := reflectionpb.NewServerReflectionClient(conn).ServerReflectionInfo(ctx)
	if err != nil {
		return nil, err
	}
	if err := stream.Send(&reflectionpb.ServerReflectionRequest{MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{}}); err != nil {
		return nil, err
	}
	r, err := stream.Recv()
	if err != nil {
		return nil, err
	}
	var names []string
	for _, s := range r.GetListServicesResponse().GetService() {
		names = append(names, s.GetName())
	}
	return names, nil
}

// The dev server answers at once; draining needs a request still in flight
// at SIGTERM, so Liveblocks is played here by a server that answers slowly.
func TestServe_SIGTERMDrainsInFlightRequestsAndExitsZero(t *testing.T) {
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		time.Sleep(700 * time.Millisecond)
		w.Header().Set("content-type", "application/json")
		_, _ = io.WriteString(w, `{"token":"slow.token.value"}`)
	}))
	defer slow.Close()
	cfgPath, grpcAddr, httpAddr := writeConfig(t, "")
	cmd := exec.Command(binary, "serve", "--config", cfgPath)
	cmd.Env = append(filterEnv(os.Environ(), "LIVEBLOCKS_"), "LIVEBLOCKS_SECRET_KEY=sk_localdev", "LIVEBLOCKS_BASE_URL="+slow.URL)
	p := testenv.Start(t, "lbauthz serve", cmd)
	testenv.WaitHTTP(t, p, "http://"+httpAddr+"/readyz", 10*time.Second)

	conn := grpcConn(t, grpcAddr)
	type result struct {
		resp *authv3.CheckResponse
		err  error
	}
	done := make(chan result, 1)
	go func() {
		resp, err := authCheck(t, conn, 5*time.Second)
		done <- result{resp, err}
	}()
	time.Sleep(200 * time.Millisecond) // the request is now waiting on Liveblocks
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	res := <-done
	if res.err != nil {
		t.Fatalf("in-flight request failed during shutdown: %v", res.err)
	}
	if got := res.resp.GetDeniedResponse().GetStatus().GetCode(); got != 200 || !strings.Contains(res.resp.GetDeniedResponse().GetBody(), "slow.token.value") {
		t.Fatalf("in-flight request answered %d %q", got, res.resp.GetDeniedResponse().GetBody())
	}
	if err := p.Wait(); err != nil {
		t.Fatalf("exit after SIGTERM: %v (want 0)\n%s", err, p.Output())
	}
}

func TestServe_RefusesAMalformedSecretKeyWithoutPrintingIt(t *testing.T) {
	needBinary(t)
	cfgPath, _, _ := writeConfig(t, "")
	for _, key := range []string{"pk_live_notasecret", "sk_has spaces!", "sk_ok\nsecond line"} {
		var out strings.Builder
		cmd := exec.Command(binary, "serve", "--config", cfgPath)
		cmd.Env = append(filterEnv(os.Environ(), "LIVEBLOCKS_"), "LIVEBLOCKS_SECRET_KEY="+key)
		cmd.Stdout, cmd.Stderr = &out, &out
		err := cmd.Run()
		if err == nil {
			t.Fatalf("started with a malformed key")
		}
		if !strings.Contains(out.String(), "sk_") || !strings.Contains(strings.ToLower(out.String()), "secret") {
			t.Fatalf("message does not explain the key format: %q", out.String())
		}
		if strings.Contains(out.String(), key) || strings.Contains(out.String(), "notasecret") {
			t.Fatalf("the key appears in the output: %q", out.String())
		}
	}
}

func TestValidate(t *testing.T) {
	needBinary(t)
	good, _, _ := writeConfig(t, "")
	bad, _, _ := writeConfig(t, "identiy:\n  user_id: sub\n")
	env := append(filterEnv(os.Environ(), "LIVEBLOCKS_"), "LIVEBLOCKS_SECRET_KEY=sk_localdev")
	for _, tc := range []struct {
		name, path string
		code       int
		want       string
	}{
		{"good config", good, 0, "ok"},
		{"misspelt key", bad, 1, `unknown key "identiy" (did you mean "identity"?)`},
		{"missing file", filepath.Join(t.TempDir(), "absent.yaml"), 1, "no such file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out strings.Builder
			cmd := exec.Command(binary, "validate", "--config", tc.path)
			cmd.Env, cmd.Stdout, cmd.Stderr = env, &out, &out
			err := cmd.Run()
			code := 0
			if ee, ok := err.(*exec.ExitError); ok {
				code = ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if code != tc.code || !strings.Contains(out.String(), tc.want) {
				t.Fatalf("exit %d, output %q; want exit %d and %q", code, out.String(), tc.code, tc.want)
			}
		})
	}
}

// The demo (deploy/demo/cmd/lbauthz-demo) signs sessions with a public key:
// the production binary must have no way to use it.
func TestBinary_HasNoDemoMode(t *testing.T) {
	needBinary(t)
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"ServeDemoIsAnUnknownFlag", []string{"serve", "--demo"}, "flag provided but not defined: -demo"},
		{"DemoSessionIsAnUnknownCommand", []string{"demo-session", "alice"}, `unknown command "demo-session"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out strings.Builder
			cmd := exec.Command(binary, tc.args...)
			cmd.Env = append(filterEnv(os.Environ(), "LIVEBLOCKS_"), "LIVEBLOCKS_SECRET_KEY=sk_localdev")
			cmd.Stdout, cmd.Stderr = &out, &out
			err := cmd.Run()
			if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != exitUsage || !strings.Contains(out.String(), tc.want) {
				t.Fatalf("lbauthz %s: %v, output %q; want exit %d and %q", strings.Join(tc.args, " "), err, out.String(), exitUsage, tc.want)
			}
		})
	}
	t.Run("NoDemoKeyInTheBinary", func(t *testing.T) {
		b, err := os.ReadFile(binary)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(b, []byte("lbauthz-demo-session-key")) {
			t.Error("the lbauthz binary holds the demo session key")
		}
	})
}
