package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/lbauthz/lbauthz/authz/shared"
	"github.com/lbauthz/lbauthz/internal/testenv"
)

func TestServe_MTLSOnBothListeners(t *testing.T) {
	ca, other := testenv.NewCA(t, "mesh CA"), testenv.NewCA(t, "another CA")
	dir := t.TempDir()
	certFile, keyFile := ca.WriteServerPair(t, dir, 1)
	caFile := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(caFile, ca.PEM, 0o600); err != nil {
		t.Fatal(err)
	}
	tlsYAML := `{cert_file: "` + certFile + `", key_file: "` + keyFile + `", client_ca_file: "` + caFile +
		`", require_client_cert: true, allowed_uris: ["spiffe://cluster.local/ns/gateway/*"]}`
	cfgPath, grpcAddr, httpAddr := writeConfig(t, "")
	raw, _ := os.ReadFile(cfgPath)
	cfg := strings.Replace(string(raw), "  shutdown_grace: 5s\n", "  shutdown_grace: 5s\n  grpc_tls: "+tlsYAML+"\n  http_tls: "+tlsYAML+"\n", 1)
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(binary, "serve", "--config", cfgPath)
	cmd.Env = append(filterEnv(os.Environ(), "LIVEBLOCKS_"), "LIVEBLOCKS_SECRET_KEY=sk_localdev", "LIVEBLOCKS_BASE_URL=http://127.0.0.1:9")
	p := testenv.Start(t, "lbauthz serve", cmd)

	allowed := ca.ClientCert(t, "spiffe://cluster.local/ns/gateway/sa/envoy")
	httpsGet := func(certs ...tls.Certificate) (*http.Response, error) {
		c := &http.Client{Timeout: 3 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{
			RootCAs: ca.Pool(), ServerName: "lbauthz.test", Certificates: certs}}}
		return c.Get("https://" + httpAddr + "/healthz")
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := httpsGet(allowed)
		if err == nil {
			if resp.StatusCode != 200 {
				t.Fatalf("/healthz over mTLS: %d", resp.StatusCode)
			}
			resp.Body.Close()
			break
		}
		if p.Exited() || time.Now().After(deadline) {
			t.Fatalf("the HTTP listener did not answer over mTLS: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	grpcHealth := func(certs ...tls.Certificate) error {
		conn, err := grpc.NewClient(grpcAddr, grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{
			RootCAs: ca.Pool(), ServerName: "lbauthz.test", Certificates: certs})))
		if err != nil {
			return err
		}
		defer conn.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		_, err = healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{})
		return err
	}
	if err := grpcHealth(allowed); err != nil {
		t.Fatalf("gRPC over mTLS: %v", err)
	}
	for name, certs := range map[string][]tls.Certificate{
		"no client certificate": nil,
		"another CA":            {other.ClientCert(t, "spiffe://cluster.local/ns/gateway/sa/envoy")},
		"a wrong SPIFFE ID":     {ca.ClientCert(t, "spiffe://cluster.local/ns/default/sa/app")},
	} {
		if resp, err := httpsGet(certs...); err == nil {
			resp.Body.Close()
			t.Errorf("HTTP listener, %s: accepted", name)
		}
		if err := grpcHealth(certs...); err == nil {
			t.Errorf("gRPC listener, %s: accepted", name)
		}
	}
}

func TestSessionsRevoke_PublishesToTheReplicas(t *testing.T) {
	rd := testenv.StartRedis(t)
	cfgPath, _, _ := writeConfig(t, "shared: { redis: { addrs: [\""+rd.Addr+"\"] } }\n")
	r, err := shared.Open(shared.Options{Addrs: []string{rd.Addr}}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	revs := r.NewRevocations(nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go revs.Run(ctx)
	select {
	case <-revs.Subscribed():
	case <-time.After(5 * time.Second):
		t.Fatal("not subscribed")
	}
	cookie := "s:a-session-value.sig"
	for _, tc := range []struct {
		args    []string
		revoked func() bool
	}{
		{[]string{"--user", "user-9"}, func() bool { return revs.UserRevoked("user-9") }},
		{[]string{"--session-cookie-hash", shared.SessionHash(cookie), "--for", "1m"}, func() bool { return revs.SessionRevoked(cookie) }},
	} {
		var out, errOut bytes.Buffer
		if code := run(append([]string{"sessions", "revoke", "--config", cfgPath}, tc.args...), &out, &errOut); code != exitOK {
			t.Fatalf("%v: exit %d: %s", tc.args, code, errOut.String())
		}
		if !strings.HasPrefix(out.String(), "revoked ") {
			t.Fatalf("output %q", out.String())
		}
		deadline := time.Now().Add(time.Second)
		for !tc.revoked() {
			if time.Now().After(deadline) {
				t.Fatalf("%v: not received within 1s", tc.args)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
}

func TestSessionsRevoke_RefusesBadUsage(t *testing.T) {
	cfgPath, _, _ := writeConfig(t, "")
	for _, args := range [][]string{
		{"sessions"},
		{"sessions", "revoke", "--config", cfgPath},
		{"sessions", "revoke", "--config", cfgPath, "--user", "u", "--session-cookie-hash", strings.Repeat("a", 32)},
		{"sessions", "revoke", "--config", cfgPath, "--session-cookie-hash", "s:the-cookie-itself"},
	} {
		var out, errOut bytes.Buffer
		if code := run(args, &out, &errOut); code != exitUsage {
			t.Errorf("%v: exit %d, want %d", args, code, exitUsage)
		}
		if strings.Contains(errOut.String(), "the-cookie-itself") {
			t.Errorf("%v: the error repeats the value", args)
		}
	}
	var out, errOut bytes.Buffer
	if code := run([]string{"sessions", "revoke", "--config", cfgPath, "--user", "u"}, &out, &errOut); code != exitError ||
		!strings.Contains(errOut.String(), "no shared.redis") {
		t.Errorf("without shared.redis: exit %d, %q", code, errOut.String())
	}
}
