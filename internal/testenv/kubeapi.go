package testenv

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// KubeCluster is a Kubernetes control plane for one test: etcd and
// kube-apiserver (the versions `make deps-k8s` built) on loopback, with no
// kubelet, scheduler or controller-manager. Creating a Pod runs admission
// (webhooks, Pod Security) and stores it; nothing runs it. Without a
// controller-manager no ServiceAccount appears by itself: a test creates the
// ones its pods use (CreateNamespace does it for "default").
//
// Services get their cluster IPs from ServiceCIDR, a range of the loopback
// network (127.0.0.0/8): the API server calls a webhook Service at its
// cluster IP, so a webhook a test runs on that address and the Service's port
// is reached exactly as it would be through kube-proxy in a cluster.
type KubeCluster struct {
	// Kubeconfig is a kubeconfig file for kubectl and helm (admin, a
	// member of system:masters).
	Kubeconfig string
	// Server is the API server's URL.
	Server string
	// ServiceCIDR is the range cluster IPs are taken from.
	ServiceCIDR string

	apiserver *Process
	token     string
	caPool    *x509.CertPool
}

// StartKubeCluster starts etcd and kube-apiserver and waits until the API
// server is ready. Both stop when the test ends.
func StartKubeCluster(t testing.TB) *KubeCluster {
	t.Helper()
	etcdBin, apiBin := Etcd(t), KubeAPIServer(t)
	Kubectl(t)
	dir := t.TempDir()

	etcdAddr, peerAddr := FreeAddr(t), FreeAddr(t)
	etcd := Start(t, "etcd", exec.Command(etcdBin,
		"--name", "test", "--data-dir", filepath.Join(dir, "etcd"),
		"--listen-client-urls", "http://"+etcdAddr, "--advertise-client-urls", "http://"+etcdAddr,
		"--listen-peer-urls", "http://"+peerAddr, "--initial-advertise-peer-urls", "http://"+peerAddr,
		"--initial-cluster", "test=http://"+peerAddr,
		"--listen-metrics-urls", "http://"+FreeAddr(t),
		"--unsafe-no-fsync", "--log-level", "warn"))
	WaitHTTP(t, etcd, "http://"+etcdAddr+"/health", 60*time.Second)

	// The serving certificate (a test CA's, for 127.0.0.1), the service
	// account signing key and a static admin token.
	ca := NewTestCA(t)
	certFile, keyFile := ca.WriteServerCert(t, filepath.Join(dir, "serving"), 2, "127.0.0.1", "localhost")
	caFile := filepath.Join(dir, "ca.crt")
	writeFile(t, caFile, ca.PEM)
	saKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalECPrivateKey(saKey)
	if err != nil {
		t.Fatal(err)
	}
	saKeyFile := filepath.Join(dir, "sa.key")
	writeFile(t, saKeyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}))
	pub, err := x509.MarshalPKIXPublicKey(&saKey.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	saPubFile := filepath.Join(dir, "sa.pub")
	writeFile(t, saPubFile, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}))
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	token := hex.EncodeToString(b)
	tokenFile := filepath.Join(dir, "tokens.csv")
	writeFile(t, tokenFile, []byte(token+`,admin,admin,"system:masters"`+"\n"))

	// A /24 of the loopback network nothing else here uses.
	cidr := fmt.Sprintf("127.%d.%d.0/24", 100+randByte()%100, randByte())
	addr := FreeAddr(t)
	host, port, _ := net.SplitHostPort(addr)
	api := Start(t, "kube-apiserver", exec.Command(apiBin,
		"--etcd-servers", "http://"+etcdAddr,
		"--bind-address", host, "--advertise-address", host, "--secure-port", port,
		"--tls-cert-file", certFile, "--tls-private-key-file", keyFile,
		"--cert-dir", filepath.Join(dir, "certs"),
		"--token-auth-file", tokenFile,
		"--authorization-mode", "Node,RBAC",
		"--service-account-issuer", "https://kubernetes.default.svc",
		"--service-account-key-file", saPubFile,
		"--service-account-signing-key-file", saKeyFile,
		"--service-cluster-ip-range", cidr,
		"--endpoint-reconciler-type", "none",
		"--enable-priority-and-fairness=false",
		"--profiling=false",
		"-v", "1"))

	c := &KubeCluster{
		Kubeconfig:  filepath.Join(dir, "kubeconfig"),
		Server:      "https://" + addr,
		ServiceCIDR: cidr,
		apiserver:   api,
		token:       token,
		caPool:      ca.Pool(),
	}
	writeFile(t, c.Kubeconfig, []byte(fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: test
  cluster:
    server: %s
    certificate-authority: %s
users:
- name: admin
  user:
    token: %s
contexts:
- name: test
  context: {cluster: test, user: admin}
current-context: test
`, c.Server, caFile, token)))
	c.waitReady(t, 3*time.Minute)
	return c
}

// waitReady polls /readyz until the API server answers 200 (its post-start
// hooks, such as the bootstrap RBAC roles, are done).
func (c *KubeCluster) waitReady(t testing.TB, timeout time.Duration) {
	t.Helper()
	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: c.caPool, MinVersion: tls.VersionTLS12},
	}}
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if c.apiserver.Exited() {
			t.Fatalf("kube-apiserver exited:\n%s", tail(c.apiserver.Output(), 4000))
		}
		req, _ := http.NewRequest(http.MethodGet, c.Server+"/readyz", nil)
		req.Header.Set("Authorization", "Bearer "+c.token)
		if resp, err := client.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("kube-apiserver not ready within %s:\n%s", timeout, tail(c.apiserver.Output(), 4000))
}

// Kubectl runs kubectl against the cluster with stdin (may be empty) and
// returns its combined output.
func (c *KubeCluster) Kubectl(t testing.TB, stdin string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(Kubectl(t), append([]string{"--kubeconfig", c.Kubeconfig}, args...)...)
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir())
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

// MustKubectl is Kubectl that fails the test on an error.
func (c *KubeCluster) MustKubectl(t testing.TB, stdin string, args ...string) string {
	t.Helper()
	out, err := c.Kubectl(t, stdin, args...)
	if err != nil {
		t.Fatalf("kubectl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// CreateNamespace creates a namespace with labels and its "default"
// ServiceAccount (which a controller-manager would make).
func (c *KubeCluster) CreateNamespace(t testing.TB, name string, labels map[string]string) {
	t.Helper()
	var l strings.Builder
	for k, v := range labels {
		fmt.Fprintf(&l, "    %q: %q\n", k, v)
	}
	labelsYAML := ""
	if l.Len() > 0 {
		labelsYAML = "  labels:\n" + l.String()
	}
	c.MustKubectl(t, fmt.Sprintf(`apiVersion: v1
kind: Namespace
metadata:
  name: %s
%s---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: default
  namespace: %s
`, name, labelsYAML, name), "create", "-f", "-")
}

func writeFile(t testing.TB, name string, data []byte) {
	t.Helper()
	if err := os.WriteFile(name, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

func randByte() int {
	b := make([]byte, 1)
	_, _ = rand.Read(b)
	return int(b[0])
}
