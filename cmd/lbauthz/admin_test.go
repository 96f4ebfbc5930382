package main

import (
	"crypto/tls"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lbauthz/lbauthz/internal/authztest"
	"github.com/lbauthz/lbauthz/internal/testenv"
)

func TestServe_AdminRevocationIsRefusedByAllThreeReplicas(t *testing.T) {
	rd := testenv.StartRedis(t)
	const token = "a-test-admin-token-0123456789abcdef0123"
	tokenFile := filepath.Join(t.TempDir(), "admin-token")
	if err := os.WriteFile(tokenFile, []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	adminAddr := testenv.FreeAddr(t)
	_, sidecars := startReplicas(t, 3, rd.Addr, `  admin: "`+adminAddr+`"
  admin_token_file: "`+tokenFile+`"
`)
	alice := authztest.Session(authztest.Alice())
	for i, s := range sidecars {
		if st := tokenStatus(t, s, alice); st != 503 { // passed, then Liveblocks refused
			t.Fatalf("replica %d before the revocation: %d, want 503", i, st)
		}
	}
	revoke := func(auth, method, body string) (int, string) {
		req, _ := http.NewRequest(method, "http://"+adminAddr+"/admin/v1/revocations", strings.NewReader(body))
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := (&http.Client{Timeout: 5 * time.Second}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for _, tc := range []struct {
		name, auth, method, body string
		want                     int
	}{
		{"no token", "", "POST", `{"user":"alice"}`, 401},
		{"a wrong token", "Bearer " + strings.ToUpper(token), "POST", `{"user":"alice"}`, 401},
		{"GET", "Bearer " + token, "GET", "", 405},
		{"a body that is not JSON", "Bearer " + token, "POST", `user=alice`, 400},
	} {
		if status, body := revoke(tc.auth, tc.method, tc.body); status != tc.want {
			t.Errorf("%s: %d %s, want %d", tc.name, status, body, tc.want)
		}
	}
	for i, s := range sidecars {
		if st := tokenStatus(t, s, alice); st != 503 {
			t.Fatalf("replica %d after refused admin requests: %d, want 503 (nothing revoked)", i, st)
		}
	}

	sent := time.Now()
	if status, body := revoke("Bearer "+token, "POST", `{"user":"alice","for":"1m"}`); status != 200 || !strings.Contains(body, `"revoked":"user alice"`) {
		t.Fatalf("revocation: %d %s", status, body)
	}
	for i, s := range sidecars {
		for tokenStatus(t, s, alice) != 401 {
			if time.Since(sent) > time.Second {
				t.Fatalf("replica %d still accepts alice 1s after the revocation through the admin listener", i)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	out := sidecars[0].proc.Output()
	if !strings.Contains(out, "revocation published") || !strings.Contains(out, "admin request refused") {
		t.Fatalf("the admin listener does not log what it did:\n%.3000s", out)
	}
	for i, s := range sidecars {
		if o := s.proc.Output(); strings.Contains(o, token[:12]) || strings.Contains(o, strings.ToUpper(token)[:12]) || strings.Contains(o, alice) {
			t.Fatalf("replica %d logged the admin token or the session cookie", i)
		}
	}
}

func TestServe_AdminWithoutSharedRedisAnswersConflict(t *testing.T) {
	const token = "a-test-admin-token-0123456789abcdef0123"
	tokenFile := filepath.Join(t.TempDir(), "admin-token")
	if err := os.WriteFile(tokenFile, []byte(token), 0o600); err != nil {
		t.Fatal(err)
	}
	adminAddr := testenv.FreeAddr(t)
	cfgPath, _, httpAddr := writeConfig(t, "")
	raw, _ := os.ReadFile(cfgPath)
	cfg := strings.Replace(string(raw), "  shutdown_grace: 5s\n",
		"  shutdown_grace: 5s\n  admin: \""+adminAddr+"\"\n  admin_token_file: \""+tokenFile+"\"\n", 1)
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	p := startServe(t, cfgPath, httpAddr)
	revoke := func(token string) (int, string) {
		req, _ := http.NewRequest("POST", "http://"+adminAddr+"/admin/v1/revocations", strings.NewReader(`{"user":"alice"}`))
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if status, body := revoke(token); status != 409 || !strings.Contains(body, "no shared.redis") {
		t.Fatalf("%d %s, want 409 saying there is no shared.redis", status, body)
	}

	// A rotated token file is taken by the next reload: the new token
	// passes authentication, the old one no longer does.
	const rotated = "a-rotated-admin-token-9876543210fedcba98"
	writeAtomically(t, tokenFile, rotated)
	if err := p.Cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the rotated admin token to be in use", func() bool { status, _ := revoke(rotated); return status == 409 })
	if status, _ := revoke(token); status != 401 {
		t.Fatalf("the old admin token after the rotation: %d, want 401", status)
	}
}

func TestServe_AdminOverMTLSAcceptsOnlyTheAllowedClientCertificate(t *testing.T) {
	ca, other := testenv.NewCA(t, "ops CA"), testenv.NewCA(t, "another CA")
	dir := t.TempDir()
	certFile, keyFile := ca.WriteServerPair(t, dir, 1)
	caFile := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(caFile, ca.PEM, 0o600); err != nil {
		t.Fatal(err)
	}
	adminAddr := testenv.FreeAddr(t)
	cfgPath, _, httpAddr := writeConfig(t, "")
	raw, _ := os.ReadFile(cfgPath)
	cfg := strings.Replace(string(raw), "  shutdown_grace: 5s\n", "  shutdown_grace: 5s\n  admin: \""+adminAddr+"\"\n"+
		"  admin_tls: {cert_file: \""+certFile+"\", key_file: \""+keyFile+"\", client_ca_file: \""+caFile+
		"\", require_client_cert: true, allowed_uris: [\"spiffe://cluster.local/ns/ops/sa/revoker\"]}\n", 1)
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	startServe(t, cfgPath, httpAddr)
	revoke := func(certs ...tls.Certificate) (int, error) {
		c := &http.Client{Timeout: 3 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{
			RootCAs: ca.Pool(), ServerName: "lbauthz.test", Certificates: certs}}}
		resp, err := c.Post("https://"+adminAddr+"/admin/v1/revocations", "application/json", strings.NewReader(`{"user":"alice"}`))
		if err != nil {
			return 0, err
		}
		resp.Body.Close()
		return resp.StatusCode, nil
	}
	// No shared Redis here: 409 shows the request got past authentication,
	// with the certificate alone (no token is configured).
	if status, err := revoke(ca.ClientCert(t, "spiffe://cluster.local/ns/ops/sa/revoker")); err != nil || status != 409 {
		t.Fatalf("the allowed client certificate: %d %v, want 409", status, err)
	}
	for name, certs := range map[string][]tls.Certificate{
		"no client certificate":   nil,
		"another CA":              {other.ClientCert(t, "spiffe://cluster.local/ns/ops/sa/revoker")},
		"a SPIFFE ID not allowed": {ca.ClientCert(t, "spiffe://cluster.local/ns/default/sa/app")},
	} {
		if status, err := revoke(certs...); err == nil {
			t.Errorf("%s: answered %d, want the handshake refused", name, status)
		}
	}
}
