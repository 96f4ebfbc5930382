package certwatch_test

import (
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lbauthz/lbauthz/internal/certwatch"
	"github.com/lbauthz/lbauthz/internal/testenv"
)

// serialSeen makes a fresh TLS connection to srv and returns the serial
// number of the certificate the server presented.
func serialSeen(t *testing.T, srv *httptest.Server, ca *testenv.TestCA) int64 {
	t.Helper()
	c := &http.Client{Transport: &http.Transport{
		TLSClientConfig:   &tls.Config{RootCAs: ca.Pool(), ServerName: "webhook.test"},
		DisableKeepAlives: true,
	}}
	resp, err := c.Get(srv.URL)
	if err != nil {
		t.Fatalf("TLS request: %v", err)
	}
	resp.Body.Close()
	return resp.TLS.PeerCertificates[0].SerialNumber.Int64()
}

func TestCertificate_ServesRenewedFilesWithoutRestart(t *testing.T) {
	ca := testenv.NewTestCA(t)
	dir := t.TempDir()
	certFile, keyFile := ca.WriteServerCert(t, dir, 1, "webhook.test", "127.0.0.1")
	cert, err := certwatch.Load(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	cert.CheckInterval = 10 * time.Millisecond
	var reloads atomic.Int32
	cert.OnReload = func(*x509.Certificate) { reloads.Add(1) }

	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	srv.TLS = cert.ServerConfig()
	srv.StartTLS()
	defer srv.Close()

	if got := serialSeen(t, srv, ca); got != 1 {
		t.Fatalf("first certificate serial %d, want 1", got)
	}
	ca.WriteServerCert(t, dir, 2, "webhook.test", "127.0.0.1")
	deadline := time.Now().Add(5 * time.Second)
	for serialSeen(t, srv, ca) != 2 {
		if time.Now().After(deadline) {
			t.Fatal("the renewed certificate was not served within 5 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if reloads.Load() != 1 {
		t.Errorf("OnReload called %d times, want 1", reloads.Load())
	}
}

// A Kubernetes Secret volume renews its files by pointing the ..data symlink
// at a new folder: the file names stay, the files behind them change.
func TestCertificate_FollowsASecretVolumeSymlinkSwap(t *testing.T) {
	ca := testenv.NewTestCA(t)
	root := t.TempDir()
	ca.WriteServerCert(t, filepath.Join(root, "v1"), 1, "webhook.test")
	ca.WriteServerCert(t, filepath.Join(root, "v2"), 2, "webhook.test")
	if err := os.Symlink("v1", filepath.Join(root, "..data")); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"cert.pem", "key.pem"} {
		if err := os.Symlink(filepath.Join("..data", f), filepath.Join(root, f)); err != nil {
			t.Fatal(err)
		}
	}
	cert, err := certwatch.Load(filepath.Join(root, "cert.pem"), filepath.Join(root, "key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	cert.CheckInterval = time.Nanosecond
	if got := cert.Current().Leaf.SerialNumber.Int64(); got != 1 {
		t.Fatalf("serial %d, want 1", got)
	}
	if err := os.Symlink("v2", filepath.Join(root, "..data_tmp")); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(root, "..data_tmp"), filepath.Join(root, "..data")); err != nil {
		t.Fatal(err)
	}
	if got := cert.Current().Leaf.SerialNumber.Int64(); got != 2 {
		t.Errorf("after the swap serial %d, want 2", got)
	}
}

func TestCertificate_KeepsThePreviousPairWhileTheNewOneIsIncomplete(t *testing.T) {
	ca := testenv.NewTestCA(t)
	dir := t.TempDir()
	certFile, keyFile := ca.WriteServerCert(t, dir, 1, "webhook.test")
	cert, err := certwatch.Load(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	cert.CheckInterval = time.Nanosecond
	var errs atomic.Int32
	cert.OnError = func(error) { errs.Add(1) }

	// The renewer has written a new certificate, not yet its key.
	other := t.TempDir()
	newCert, _ := ca.WriteServerCert(t, other, 2, "webhook.test")
	data, err := os.ReadFile(newCert)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(certFile, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if got := cert.Current().Leaf.SerialNumber.Int64(); got != 1 {
		t.Errorf("with a mismatched pair on disk, serial %d is served, want the previous 1", got)
	}
	if errs.Load() == 0 {
		t.Error("the failed reload was not reported")
	}
	// Then the key arrives.
	key, _ := os.ReadFile(filepath.Join(other, "key.pem"))
	if err := os.WriteFile(keyFile, key, 0o600); err != nil {
		t.Fatal(err)
	}
	if got := cert.Current().Leaf.SerialNumber.Int64(); got != 2 {
		t.Errorf("with the complete new pair, serial %d, want 2", got)
	}
}

func TestLoad_FailsOnMissingOrMismatchedFiles(t *testing.T) {
	ca := testenv.NewTestCA(t)
	a, aKey := ca.WriteServerCert(t, t.TempDir(), 1, "a.test")
	_, bKey := ca.WriteServerCert(t, t.TempDir(), 2, "b.test")
	for _, tc := range []struct{ name, cert, key string }{
		{"missing certificate", filepath.Join(t.TempDir(), "nope.pem"), aKey},
		{"missing key", a, filepath.Join(t.TempDir(), "nope.pem")},
		{"key of another certificate", a, bKey},
		{"key file given as certificate", aKey, aKey},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := certwatch.Load(tc.cert, tc.key); err == nil {
				t.Fatal("loaded without error")
			}
		})
	}
}
