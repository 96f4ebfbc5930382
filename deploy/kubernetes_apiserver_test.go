package deploy_test

import (
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/lbauthz/lbauthz/internal/inject"
	"github.com/lbauthz/lbauthz/internal/testenv"
)

// These tests run against a real Kubernetes API server and etcd (see
// testenv.StartKubeCluster): the chart is installed with helm, pods are
// created with kubectl and what the API server stored is read back. No
// kubelet runs, so the chart's webhook Deployment gets no pod: the test runs
// the lbauthz-injector binary with the Deployment's own arguments and the
// certificate the chart made, on the webhook Service's cluster IP and port,
// where the API server calls it.

// appPod is a pod that passes the restricted Pod Security Standard on its
// own, so that a refusal of an injected pod in a restricted namespace can only
// come from what the injector added.
const appPod = `apiVersion: v1
kind: Pod
metadata:
  name: NAME
  namespace: NS
  labels: {app: web}
spec:
  securityContext:
    runAsNonRoot: true
    runAsUser: 1000
    seccompProfile: {type: RuntimeDefault}
  containers:
  - name: app
    image: registry.example/app:1
    ports:
    - {name: http, containerPort: 3000}
    securityContext:
      allowPrivilegeEscalation: false
      capabilities: {drop: [ALL]}
`

type kubeFixture struct {
	c       *testenv.KubeCluster
	webhook *testenv.Process
	// deployment is the webhook's Deployment as the API server stored it.
	deployment *appsv1.Deployment
	// run starts the webhook again after it was stopped.
	run func() *testenv.Process
}

// startChart starts the cluster, installs the chart in namespace lbauthz
// (sidecar ConfigMaps in namespace apps) and runs its webhook.
func startChart(t *testing.T) *kubeFixture {
	t.Helper()
	c := testenv.StartKubeCluster(t)

	c.CreateNamespace(t, "apps", map[string]string{
		inject.AnnotationInject:              "enabled",
		"pod-security.kubernetes.io/enforce": "restricted",
	})
	c.CreateNamespace(t, "plain", nil)
	// The chart's own namespace enforces the restricted standard too.
	c.CreateNamespace(t, "lbauthz", map[string]string{"pod-security.kubernetes.io/enforce": "restricted"})
	c.MustKubectl(t, "", "-n", "apps", "create", "secret", "generic", "lbauthz",
		"--from-literal=liveblocks-secret-key=sk_test_placeholder", "--from-literal=session-hmac=placeholder")

	if out, err := helm(t, "install", "lbauthz", chartDir, "--namespace", "lbauthz",
		"--kubeconfig", c.Kubeconfig, "--set", "sidecar.namespaces={apps}", "--timeout", "60s"); err != nil {
		t.Fatalf("helm install: %v\n%s", err, out)
	} else if !strings.Contains(out, inject.AnnotationInject) {
		t.Errorf("helm install's notes do not say what to label:\n%s", out)
	}

	// The webhook as the chart deploys it: its Deployment's arguments, its
	// Secret's certificate, its Service's address.
	var dep appsv1.Deployment
	kubectlJSON(t, c, &dep, "-n", "lbauthz", "get", "deployment", "lbauthz-webhook")
	var svc corev1.Service
	kubectlJSON(t, c, &svc, "-n", "lbauthz", "get", "service", "lbauthz-webhook")
	var sec corev1.Secret
	kubectlJSON(t, c, &sec, "-n", "lbauthz", "get", "secret", "lbauthz-webhook-tls")
	dir := t.TempDir()
	for _, f := range []string{"tls.crt", "tls.key"} {
		if err := os.WriteFile(filepath.Join(dir, f), sec.Data[f], 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if ip := net.ParseIP(svc.Spec.ClusterIP); ip == nil || !ip.IsLoopback() {
		t.Fatalf("webhook Service cluster IP %q is not in the loopback ServiceCIDR %s", svc.Spec.ClusterIP, c.ServiceCIDR)
	}
	listen := net.JoinHostPort(svc.Spec.ClusterIP, "443")
	var args []string
	for _, a := range dep.Spec.Template.Spec.Containers[0].Args {
		switch {
		case strings.HasPrefix(a, "--listen="):
			a = "--listen=" + listen
		case strings.HasPrefix(a, "--tls-cert="):
			a = "--tls-cert=" + filepath.Join(dir, "tls.crt")
		case strings.HasPrefix(a, "--tls-key="):
			a = "--tls-key=" + filepath.Join(dir, "tls.key")
		}
		args = append(args, a)
	}
	// The Deployment's command is the image's /lbauthz-injector.
	if cmd := dep.Spec.Template.Spec.Containers[0].Command; len(cmd) != 1 || cmd[0] != "/lbauthz-injector" {
		t.Fatalf("webhook Deployment command %v, want [/lbauthz-injector]", cmd)
	}
	bin := testenv.GoBuild(t, "./cmd/lbauthz-injector")
	f := &kubeFixture{c: c, deployment: &dep}
	f.run = func() *testenv.Process {
		p := testenv.Start(t, "lbauthz-injector", exec.Command(bin, args...))
		testenv.WaitTCP(t, p, listen, 30*time.Second)
		return p
	}
	f.webhook = f.run()
	return f
}

func kubectlJSON(t *testing.T, c *testenv.KubeCluster, v any, args ...string) {
	t.Helper()
	out := c.MustKubectl(t, "", append(args, "-o", "json")...)
	if err := json.Unmarshal([]byte(out), v); err != nil {
		t.Fatalf("decoding kubectl %s: %v", strings.Join(args, " "), err)
	}
}

// createPod creates pod name in ns from appPod, changed by edit (may be nil),
// and returns what the API server stored, or kubectl's error output.
func (f *kubeFixture) createPod(t *testing.T, ns, name string, edit func(*corev1.Pod)) (*corev1.Pod, string) {
	t.Helper()
	doc := strings.NewReplacer("NAME", name, "NS", ns).Replace(appPod)
	var pod corev1.Pod
	if err := decodeStrictJSON(yamlToJSON(t, name, []byte(doc)), &pod); err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		edit(&pod)
	}
	j, _ := json.Marshal(&pod)
	if out, err := f.c.Kubectl(t, string(j), "create", "-f", "-"); err != nil {
		return nil, out
	}
	var stored corev1.Pod
	kubectlJSON(t, f.c, &stored, "-n", ns, "get", "pod", name)
	return &stored, ""
}

func sidecars(p *corev1.Pod) []corev1.Container {
	var out []corev1.Container
	for _, c := range append(append([]corev1.Container{}, p.Spec.InitContainers...), p.Spec.Containers...) {
		if c.Name == inject.ContainerName {
			out = append(out, c)
		}
	}
	return out
}

// One API server for all: it takes a while to start on a small machine.
// The webhook-down case stops the webhook, so it runs last.
func TestKubernetesAPIServer(t *testing.T) {
	f := startChart(t)
	t.Run("ManifestsPassServerSideDryRun", f.manifestsPassServerSideDryRun)
	t.Run("WebhookPodsAreRestricted", f.webhookPodsAreRestricted)
	t.Run("ChartInjectsTheSidecarAndFailsClosed", f.chartInjectsTheSidecarAndFailsClosed)
}

func (f *kubeFixture) chartInjectsTheSidecarAndFailsClosed(t *testing.T) {

	// A pod of a labelled, restricted namespace: one native sidecar, with the
	// chart's ConfigMap and the Secret, probes, and admitted by the
	// restricted Pod Security Standard after the injection.
	pod, refusal := f.createPod(t, "apps", "web", nil)
	if pod == nil {
		t.Fatalf("pod in a labelled namespace refused: %s", refusal)
	}
	sc := sidecars(pod)
	if len(sc) != 1 {
		t.Fatalf("stored pod has %d lbauthz containers, want 1", len(sc))
	}
	if len(pod.Spec.InitContainers) == 0 || pod.Spec.InitContainers[0].Name != inject.ContainerName {
		t.Fatalf("lbauthz is not the first init container: %+v", pod.Spec.InitContainers)
	}
	s := sc[0]
	if s.RestartPolicy == nil || *s.RestartPolicy != corev1.ContainerRestartPolicyAlways {
		t.Errorf("lbauthz is not a native sidecar (restartPolicy Always): %v", s.RestartPolicy)
	}
	if s.ReadinessProbe == nil || s.ReadinessProbe.HTTPGet == nil || s.ReadinessProbe.HTTPGet.Path != "/readyz" {
		t.Errorf("readiness probe: %+v", s.ReadinessProbe)
	}
	if s.LivenessProbe == nil || s.LivenessProbe.HTTPGet == nil || s.LivenessProbe.HTTPGet.Path != "/healthz" {
		t.Errorf("liveness probe: %+v", s.LivenessProbe)
	}
	vols := map[string]corev1.Volume{}
	for _, v := range pod.Spec.Volumes {
		vols[v.Name] = v
	}
	mounted := 0
	for _, m := range s.VolumeMounts {
		v, ok := vols[m.Name]
		if !ok {
			continue
		}
		switch {
		case v.ConfigMap != nil && v.ConfigMap.Name == "lbauthz":
			mounted++
		case v.Secret != nil && v.Secret.SecretName == "lbauthz":
			if !m.ReadOnly {
				t.Errorf("the Secret is mounted writable at %s", m.MountPath)
			}
			mounted++
		}
	}
	if mounted != 2 {
		t.Errorf("lbauthz mounts %d of the ConfigMap lbauthz and the Secret lbauthz, want both: %+v", mounted, s.VolumeMounts)
	}
	// The ConfigMap the sidecar reads is the one the chart made in apps.
	var cm corev1.ConfigMap
	kubectlJSON(t, f.c, &cm, "-n", "apps", "get", "configmap", "lbauthz")
	if !strings.Contains(cm.Data["config.yaml"], "auth_path") {
		t.Errorf("the chart's ConfigMap in apps holds no lbauthz config: %q", cm.Data)
	}

	// Re-admission: the stored pod, sidecar and all, created again under
	// another name, gets nothing more.
	again, refusal := f.createPod(t, "apps", "web-again", func(p *corev1.Pod) {
		p.Spec = *pod.Spec.DeepCopy()
		p.Spec.NodeName = ""
		p.Annotations = pod.Annotations
	})
	if again == nil {
		t.Fatalf("re-admitting an injected pod refused: %s", refusal)
	}
	if n := len(sidecars(again)); n != 1 {
		t.Errorf("re-admitted pod has %d lbauthz containers, want 1", n)
	}

	// Opted out, and not opted in: untouched.
	out, refusal := f.createPod(t, "apps", "optout", func(p *corev1.Pod) {
		p.Labels[inject.AnnotationInject] = "false"
	})
	if out == nil {
		t.Fatalf("opted-out pod refused: %s", refusal)
	}
	plain, refusal := f.createPod(t, "plain", "web", nil)
	if plain == nil {
		t.Fatalf("pod of an unlabelled namespace refused: %s", refusal)
	}
	for _, p := range []*corev1.Pod{out, plain} {
		if len(p.Spec.InitContainers) != 0 || len(p.Spec.Containers) != 1 || len(p.Spec.Volumes) > 1 {
			t.Errorf("pod %s/%s was changed: %d init containers, %d containers, volumes %v",
				p.Namespace, p.Name, len(p.Spec.InitContainers), len(p.Spec.Containers), p.Spec.Volumes)
		}
	}

	// A pod of an unlabelled namespace that opts in itself with the label.
	self, refusal := f.createPod(t, "plain", "self", func(p *corev1.Pod) {
		p.Labels[inject.AnnotationInject] = "true"
	})
	if self == nil {
		t.Fatalf("a pod opting in itself refused: %s", refusal)
	}
	if n := len(sidecars(self)); n != 1 {
		t.Errorf("a pod opting in itself has %d lbauthz containers, want 1", n)
	}

	// The nginx front door: nginx stands before the app, both injected.
	ng, refusal := f.createPod(t, "apps", "web-nginx", func(p *corev1.Pod) {
		p.Annotations = map[string]string{inject.AnnotationFrontDoor: "nginx"}
	})
	if ng == nil {
		t.Fatalf("nginx front door pod refused: %s", refusal)
	}
	hasNginx := false
	for _, c := range append(append([]corev1.Container{}, ng.Spec.InitContainers...), ng.Spec.Containers...) {
		hasNginx = hasNginx || c.Name == inject.NginxContainerName
	}
	if !hasNginx || len(sidecars(ng)) != 1 {
		t.Errorf("nginx front door pod: nginx %v, %d lbauthz containers", hasNginx, len(sidecars(ng)))
	}

	// A bad annotation: refused, naming it, never stored.
	if p, refusal := f.createPod(t, "apps", "bad", func(p *corev1.Pod) {
		p.Annotations = map[string]string{inject.AnnotationFrontDoor: "haproxy"}
	}); p != nil {
		t.Errorf("pod with front door haproxy admitted: %+v", p.Spec.InitContainers)
	} else if !strings.Contains(refusal, inject.AnnotationFrontDoor) {
		t.Errorf("refusal does not name %s: %s", inject.AnnotationFrontDoor, refusal)
	}

	// The chart's own namespace is never injected, even when a pod asks.
	own, refusal := f.createPod(t, "lbauthz", "own", func(p *corev1.Pod) {
		p.Labels[inject.AnnotationInject] = "true"
	})
	if own == nil {
		t.Fatalf("pod in the chart's namespace refused: %s", refusal)
	}
	if n := len(sidecars(own)); n != 0 {
		t.Errorf("pod in the chart's own namespace got %d lbauthz containers", n)
	}

	// The webhook down: fail closed. A pod that wants lbauthz is not created
	// without it; a pod that does not want it still is.
	f.webhook.Stop()
	if p, refusal := f.createPod(t, "apps", "down", nil); p != nil {
		t.Errorf("with the webhook down a pod of a labelled namespace was admitted, %d lbauthz containers", len(sidecars(p)))
	} else if !strings.Contains(refusal, "inject.lbauthz.io") {
		t.Errorf("refusal with the webhook down does not name the webhook: %s", refusal)
	}
	if p, refusal := f.createPod(t, "plain", "down", nil); p == nil {
		t.Errorf("with the webhook down a pod that does not want lbauthz was refused: %s", refusal)
	}

	// Back up: injection resumes.
	f.webhook = f.run()
	if p, refusal := f.createPod(t, "apps", "up", nil); p == nil || len(sidecars(p)) != 1 {
		t.Errorf("after the webhook came back: refusal %q", refusal)
	}
}

// crdFiles lists the CustomResourceDefinitions the manifests of
// deploy/kubernetes use, from the Go modules of their projects: Istio's and
// Gateway API's at the versions go.mod requires (the types the strict decode
// tests use), Envoy Gateway's at envoyGatewayVersion.
func crdFiles(t *testing.T) []string {
	t.Helper()
	istio := moduleDir(t, "istio.io/api")
	gw := moduleDir(t, "sigs.k8s.io/gateway-api")
	eg := moduleDir(t, "github.com/envoyproxy/gateway@"+envoyGatewayVersion)
	egCRDs := filepath.Join(eg, "charts", "gateway-helm", "charts", "crds", "crds", "generated")
	return []string{
		filepath.Join(istio, "kubernetes", "customresourcedefinitions.gen.yaml"),
		filepath.Join(gw, "config", "crd", "standard", "gateway.networking.k8s.io_httproutes.yaml"),
		filepath.Join(gw, "config", "crd", "standard", "gateway.networking.k8s.io_gateways.yaml"),
		filepath.Join(gw, "config", "crd", "standard", "gateway.networking.k8s.io_backendtlspolicies.yaml"),
		filepath.Join(egCRDs, "gateway.envoyproxy.io_securitypolicies.yaml"),
		filepath.Join(egCRDs, "gateway.envoyproxy.io_clienttrafficpolicies.yaml"),
		filepath.Join(egCRDs, "gateway.envoyproxy.io_envoyproxies.yaml"),
	}
}

// envoyGatewayVersion is the Envoy Gateway whose API the manifests follow
// (the mirror types of kubernetes_test.go are copied from it).
const envoyGatewayVersion = "v1.9.1"

// moduleDir returns the folder of a Go module in the module cache,
// downloading it through the module proxy when needed. path without a
// version is the version go.mod requires.
func moduleDir(t *testing.T, path string) string {
	t.Helper()
	cmd := exec.Command("go", "mod", "download", "-json", path)
	cmd.Dir = testenv.RepoRoot()
	out, err := cmd.Output()
	var m struct{ Dir, Error string }
	if jerr := json.Unmarshal(out, &m); err != nil || jerr != nil || m.Dir == "" {
		t.Fatalf("go mod download %s: %v %s", path, err, m.Error)
	}
	return m.Dir
}

// Every manifest of deploy/kubernetes is accepted by a real API server
// (server-side dry run: schema, CRD OpenAPI validation, defaulting), with the
// CRDs of Istio, Gateway API and Envoy Gateway installed. Objects without a
// namespace go to "default", as they would for a reader applying them.
func (f *kubeFixture) manifestsPassServerSideDryRun(t *testing.T) {
	for _, crd := range crdFiles(t) {
		f.c.MustKubectl(t, "", "apply", "--server-side", "-f", crd)
	}
	f.c.MustKubectl(t, "", "wait", "--for=condition=Established", "--timeout=60s", "crd", "--all")
	f.c.CreateNamespace(t, "istio-system", nil)
	files, err := filepath.Glob(filepath.Join("kubernetes", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no manifests in deploy/kubernetes: %v", err)
	}
	for _, file := range files {
		out, err := f.c.Kubectl(t, "", "apply", "--server-side", "--dry-run=server", "--field-manager=lbauthz-test", "-f", file)
		if err != nil {
			t.Errorf("%s refused by the API server: %v\n%s", file, err, out)
			continue
		}
		if !strings.Contains(out, "(server dry run)") {
			t.Errorf("%s: not a server dry run:\n%s", file, out)
		}
	}
}

// The webhook's pods pass the restricted Pod Security Standard: a pod made
// from the Deployment's template is admitted in the chart's namespace, which
// enforces it (no kubelet runs, so the Deployment makes no pod itself). The
// pod is not injected: the chart's namespace is excluded.
func (f *kubeFixture) webhookPodsAreRestricted(t *testing.T) {
	pod := corev1.Pod{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: metav1.ObjectMeta{Name: "webhook-from-template", Namespace: "lbauthz", Labels: f.deployment.Spec.Template.Labels},
		Spec:       f.deployment.Spec.Template.Spec,
	}
	for k, v := range map[string]string{"app.kubernetes.io/name": "lbauthz", "app.kubernetes.io/component": "webhook"} {
		if pod.Labels[k] != v {
			t.Errorf("webhook pod label %s = %q, want %q", k, pod.Labels[k], v)
		}
	}
	// Its ServiceAccount, which a controller-manager would not make either.
	if pod.Spec.ServiceAccountName != "" {
		if _, err := f.c.Kubectl(t, "", "-n", "lbauthz", "get", "serviceaccount", pod.Spec.ServiceAccountName); err != nil {
			t.Fatalf("the chart made no ServiceAccount %s", pod.Spec.ServiceAccountName)
		}
	}
	j, _ := json.Marshal(&pod)
	if out, err := f.c.Kubectl(t, string(j), "create", "-f", "-"); err != nil {
		t.Fatalf("a webhook pod is refused in a namespace enforcing the restricted standard:\n%s", out)
	}
	var stored corev1.Pod
	kubectlJSON(t, f.c, &stored, "-n", "lbauthz", "get", "pod", pod.Name)
	if n := len(sidecars(&stored)); n != 0 {
		t.Errorf("the webhook's own pod got %d lbauthz sidecars", n)
	}
	var pdb struct {
		Spec struct {
			MinAvailable   any `json:"minAvailable"`
			MaxUnavailable any `json:"maxUnavailable"`
		} `json:"spec"`
	}
	kubectlJSON(t, f.c, &pdb, "-n", "lbauthz", "get", "poddisruptionbudget", "lbauthz-webhook")
	if pdb.Spec.MinAvailable == nil && pdb.Spec.MaxUnavailable == nil {
		t.Errorf("the webhook's PodDisruptionBudget bounds nothing")
	}
}
