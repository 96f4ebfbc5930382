package testenv

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// HelmVersion is the helm that `make deps` installs (the manifest of
// internal/tools/depcheck pins it, and make check-deps checks the version).
const HelmVersion = "v3.22.0"

// k8sBuildVersion returns the version internal/k8sbuild/go.mod requires of
// module, the one `make deps-k8s` built.
func k8sBuildVersion(t testing.TB, module string) string {
	t.Helper()
	f, err := os.Open(filepath.Join(RepoRoot(), "internal", "k8sbuild", "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if fields := strings.Fields(s.Text()); len(fields) >= 2 && fields[0] == module {
			return fields[1]
		}
	}
	t.Fatalf("internal/k8sbuild/go.mod does not require %s", module)
	return ""
}

// Helm returns the path of the pinned helm, or skips (fails in strict mode).
func Helm(t testing.TB) string {
	t.Helper()
	p, ok := LookPath("helm")
	if !ok {
		Missing(t, "helm %s (make deps)", HelmVersion)
	}
	return p
}

// KubeAPIServer returns the path of the pinned kube-apiserver.
func KubeAPIServer(t testing.TB) string {
	t.Helper()
	v := k8sBuildVersion(t, "k8s.io/kubernetes")
	p, ok := LookPath("kube-apiserver-" + v)
	if !ok {
		Missing(t, "kube-apiserver-%s (make deps-k8s)", v)
	}
	return p
}

// Etcd returns the path of the pinned etcd.
func Etcd(t testing.TB) string {
	t.Helper()
	v := k8sBuildVersion(t, "go.etcd.io/etcd/server/v3")
	p, ok := LookPath("etcd-" + v)
	if !ok {
		Missing(t, "etcd-%s (make deps-k8s)", v)
	}
	return p
}

// Kubectl returns the path of kubectl.
func Kubectl(t testing.TB) string {
	t.Helper()
	p, ok := LookPath("kubectl")
	if !ok {
		Missing(t, "kubectl (make deps-k8s)")
	}
	return p
}
