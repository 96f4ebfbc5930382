package tlsconfig_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/lbauthz/lbauthz/internal/testenv"
	"github.com/lbauthz/lbauthz/internal/tlsconfig"
)

// serveHTTPS serves 200 "ok" over the server's TLS config on loopback.
func serveHTTPS(t *testing.T, s *tlsconfig.Server) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "ok")
	}), ErrorLog: nil}
	srv.TLSConfig = s.TLSConfig("h2", "http/1.1")
	go func() { _ = srv.ServeTLS(lis, "", "") }()
	t.Cleanup(func() { _ = srv.Close() })
	return "https://" + lis.Addr().String()
}

func client(roots *x509.CertPool, certs ...tls.Certificate) *http.Client {
	return &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		TLSClientConfig:   &tls.Config{RootCAs: roots, ServerName: "lbauthz.test", Certificates: certs},
		DisableKeepAlives: true,
		ForceAttemptHTTP2: true,
	}}
}

func TestServer_MTLSRefusesAtTheHandshakeWhatIsNotAllowed(t *testing.T) {
	ca, other := testenv.NewCA(t, "mesh CA"), testenv.NewCA(t, "another CA")
	dir := t.TempDir()
	certFile, keyFile := ca.WriteServerPair(t, dir, 1)
	caFile := filepath.Join(dir, "client-ca.PEM")
	if err := os.WriteFile(caFile, ca.PEM, 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := tlsconfig.New(tlsconfig.Options{
		CertFile: certFile, KeyFile: keyFile, ClientCAFile: caFile, RequireClientCert: true,
		AllowedDNSNames: []string{"envoy.gateway.svc"},
		AllowedURIs:     []string{"spiffe://cluster.local/ns/istio-system/sa/ingressgateway", "spiffe://cluster.local/ns/gateway/*"},
	})
	if err != nil {
		t.Fatal(err)
	}
	url := serveHTTPS(t, s)
	cases := []struct {
		name  string
		certs []tls.Certificate
		ok    bool
	}{
		{"no client certificate", nil, false},
		{"a certificate of another CA with an allowed SAN", []tls.Certificate{other.ClientCert(t, "envoy.gateway.svc")}, false},
		{"a wrong DNS name", []tls.Certificate{ca.ClientCert(t, "attacker.svc")}, false},
		{"a wrong SPIFFE ID", []tls.Certificate{ca.ClientCert(t, "spiffe://cluster.local/ns/default/sa/app")}, false},
		{"a SPIFFE ID that only starts like the allowed prefix", []tls.Certificate{ca.ClientCert(t, "spiffe://cluster.local/ns/gatewayx/sa/a")}, false},
		{"an allowed DNS name", []tls.Certificate{ca.ClientCert(t, "envoy.gateway.svc")}, true},
		{"an allowed SPIFFE ID", []tls.Certificate{ca.ClientCert(t, "spiffe://cluster.local/ns/istio-system/sa/ingressgateway")}, true},
		{"a SPIFFE ID under an allowed prefix", []tls.Certificate{ca.ClientCert(t, "spiffe://cluster.local/ns/gateway/sa/envoy")}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// A raw handshake, so that a refusal is seen as a handshake error
			// and not as an HTTP status.
			conn, err := tls.Dial("tcp", strings.TrimPrefix(url, "https://"),
				&tls.Config{RootCAs: ca.Pool(), ServerName: "lbauthz.test", Certificates: tc.certs})
			if err == nil {
				// TLS 1.3: the server's verdict on the client certificate
				// arrives with the first read.
				_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
				_, err = io.WriteString(conn, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
				if err == nil {
					var b []byte
					b, err = io.ReadAll(conn)
					if err == nil && !strings.Contains(string(b), "200 OK") {
						t.Fatalf("answer %q", b)
					}
				}
				conn.Close()
			}
			if tc.ok && err != nil {
				t.Fatalf("refused: %v", err)
			}
			if !tc.ok {
				if err == nil {
					t.Fatal("accepted")
				}
				var alert tls.AlertError
				if !strings.Contains(err.Error(), "tls:") && !errorsAs(err, &alert) {
					t.Fatalf("refused, but not by the TLS handshake: %v", err)
				}
			}
		})
	}
}

func errorsAs(err error, alert *tls.AlertError) bool {
	for e := err; e != nil; {
		if a, ok := e.(tls.AlertError); ok {
			*alert = a
			return true
		}
		u, ok := e.(interface{ Unwrap() error })
		if !ok {
			return false
		}
		e = u.Unwrap()
	}
	return false
}

func TestServer_ServesARotatedCertificateWithoutRestartOrFailedRequests(t *testing.T) {
	ca := testenv.NewCA(t, "cert-manager CA")
	dir := t.TempDir()
	certFile, keyFile := ca.WriteServerPair(t, dir, 1)
	var reloads, loadErrors atomic.Int32
	s, err := tlsconfig.New(tlsconfig.Options{CertFile: certFile, KeyFile: keyFile, CheckInterval: 5 * time.Millisecond,
		OnReload: func() { reloads.Add(1) }, OnError: func(error) { loadErrors.Add(1) }})
	if err != nil {
		t.Fatal(err)
	}
	url := serveHTTPS(t, s)
	c := client(ca.Pool())

	// A client loop, each request on a new connection (a new handshake),
	// runs through the swap.
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var requests, failures atomic.Int64
	var lastSerial atomic.Int64
	var firstErr atomic.Value
	for range 4 {
		wg.Go(func() {
			for ctx.Err() == nil {
				resp, err := c.Get(url)
				requests.Add(1)
				if err != nil {
					failures.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
					continue
				}
				resp.Body.Close()
				if resp.StatusCode != 200 {
					failures.Add(1)
				}
				lastSerial.Store(resp.TLS.PeerCertificates[0].SerialNumber.Int64())
			}
		})
	}
	time.Sleep(200 * time.Millisecond)
	for serial := int64(2); serial <= 4; serial++ {
		ca.WriteServerPair(t, dir, serial)
		deadline := time.Now().Add(5 * time.Second)
		for lastSerial.Load() != serial {
			if time.Now().After(deadline) {
				cancel()
				wg.Wait()
				t.Fatalf("certificate %d not served within 5s of its files", serial)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	cancel()
	wg.Wait()
	if failures.Load() != 0 {
		t.Fatalf("%d of %d requests failed during the swaps (first: %v)", failures.Load(), requests.Load(), firstErr.Load())
	}
	if reloads.Load() < 3 {
		t.Fatalf("%d reloads, want at least 3", reloads.Load())
	}
	t.Logf("%d requests, 0 failed, %d reloads, %d half-written pairs skipped", requests.Load(), reloads.Load(), loadErrors.Load())
}

func TestServer_AClientCABundleChangeIsTakenWithoutRestart(t *testing.T) {
	oldCA, newCA := testenv.NewCA(t, "old CA"), testenv.NewCA(t, "new CA")
	dir := t.TempDir()
	certFile, keyFile := oldCA.WriteServerPair(t, dir, 1)
	caFile := filepath.Join(dir, "client-ca.PEM")
	if err := os.WriteFile(caFile, oldCA.PEM, 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := tlsconfig.New(tlsconfig.Options{CertFile: certFile, KeyFile: keyFile, ClientCAFile: caFile,
		RequireClientCert: true, CheckInterval: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	url := serveHTTPS(t, s)
	c := client(oldCA.Pool(), newCA.ClientCert(t, "envoy.svc"))
	if _, err := c.Get(url); err == nil {
		t.Fatal("a client of the new CA was accepted before the bundle had it")
	}
	if err := os.WriteFile(caFile, append(append([]byte{}, oldCA.PEM...), newCA.PEM...), 0o600); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		resp, err := c.Get(url)
		if err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the new CA was not trusted within 5s: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestServer_GRPCOverMTLS(t *testing.T) {
	ca := testenv.NewCA(t, "mesh CA")
	dir := t.TempDir()
	certFile, keyFile := ca.WriteServerPair(t, dir, 1)
	caFile := filepath.Join(dir, "client-ca.PEM")
	if err := os.WriteFile(caFile, ca.PEM, 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := tlsconfig.New(tlsconfig.Options{CertFile: certFile, KeyFile: keyFile, ClientCAFile: caFile,
		RequireClientCert: true, AllowedURIs: []string{"spiffe://cluster.local/ns/istio-system/sa/ingressgateway"}})
	if err != nil {
		t.Fatal(err)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer(grpc.Creds(credentials.NewTLS(s.TLSConfig("h2"))))
	healthpb.RegisterHealthServer(srv, health.NewServer())
	go func() { _ = srv.Serve(lis) }()
	defer srv.Stop()

	check := func(cert tls.Certificate) error {
		conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(credentials.NewTLS(
			&tls.Config{RootCAs: ca.Pool(), ServerName: "lbauthz.test", Certificates: []tls.Certificate{cert}})))
		if err != nil {
			return err
		}
		defer conn.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, err = healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{})
		return err
	}
	if err := check(ca.ClientCert(t, "spiffe://cluster.local/ns/istio-system/sa/ingressgateway")); err != nil {
		t.Fatalf("the allowed SPIFFE ID was refused: %v", err)
	}
	if err := check(ca.ClientCert(t, "spiffe://cluster.local/ns/default/sa/app")); err == nil {
		t.Fatal("a wrong SPIFFE ID was accepted over gRPC")
	}
}

func TestNew_RefusesIncompleteOrMalformedOptions(t *testing.T) {
	ca := testenv.NewCA(t, "CA")
	dir := t.TempDir()
	certFile, keyFile := ca.WriteServerPair(t, dir, 1)
	empty := filepath.Join(dir, "empty.pem")
	_ = os.WriteFile(empty, []byte("not a certificate"), 0o600)
	for name, o := range map[string]tlsconfig.Options{
		"no key":                     {CertFile: certFile},
		"missing files":              {CertFile: filepath.Join(dir, "nope.pem"), KeyFile: keyFile},
		"key of another certificate": {CertFile: certFile, KeyFile: empty},
		"required without a CA":      {CertFile: certFile, KeyFile: keyFile, RequireClientCert: true},
		"a CA file without a cert":   {CertFile: certFile, KeyFile: keyFile, ClientCAFile: empty},
		"a relative allowed URI":     {CertFile: certFile, KeyFile: keyFile, ClientCAFile: empty, AllowedURIs: []string{"ns/default"}},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := tlsconfig.New(o); err == nil {
				t.Fatal("accepted")
			}
		})
	}
}
