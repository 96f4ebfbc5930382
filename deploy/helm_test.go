package deploy_test

import (
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/lbauthz/lbauthz/authz/config"
	"github.com/lbauthz/lbauthz/internal/inject"
	"github.com/lbauthz/lbauthz/internal/testenv"
)

const chartDir = "helm/lbauthz"

// kubeVersion is the Kubernetes that `helm template` renders for: a helm
// built with `go install` assumes an old default below the chart's minimum.
const kubeVersion = "v1.37.2"

// helm runs the pinned helm with args and returns its output.
func helm(t *testing.T, args ...string) (string, error) {
	t.Helper()
	testenv.SkipShort(t, "helm") // seconds per chart rendering
	cmd := exec.Command(testenv.Helm(t), args...)
	// A HOME of its own: no repository or plugin of the machine's helm.
	home := t.TempDir()
	cmd.Env = append(os.Environ(), "HOME="+home, "HELM_CACHE_HOME="+home, "HELM_CONFIG_HOME="+home, "HELM_DATA_HOME="+home)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// renderChart runs `helm template` in namespace lbauthz and decodes every
// object strictly into its Kubernetes type (cert-manager's into maps).
func renderChart(t *testing.T, args ...string) []any {
	t.Helper()
	out, err := helm(t, append([]string{"template", "lbauthz", chartDir, "--namespace", "lbauthz", "--kube-version", kubeVersion}, args...)...)
	if err != nil {
		t.Fatalf("helm template: %v\n%s", err, out)
	}
	var objs []any
	for i, doc := range yamlDocs(t, "helm template", []byte(out)) {
		j, err := yaml.YAMLToJSONStrict(doc)
		if err != nil {
			t.Fatalf("document %d: %v", i+1, err)
		}
		var tm typeMeta
		_ = json.Unmarshal(j, &tm)
		var obj any
		switch tm.APIVersion + " " + tm.Kind {
		case "v1 ServiceAccount":
			obj = &corev1.ServiceAccount{}
		case "v1 Service":
			obj = &corev1.Service{}
		case "v1 Secret":
			obj = &corev1.Secret{}
		case "v1 ConfigMap":
			obj = &corev1.ConfigMap{}
		case "apps/v1 Deployment":
			obj = &appsv1.Deployment{}
		case "policy/v1 PodDisruptionBudget":
			obj = &policyv1.PodDisruptionBudget{}
		case "admissionregistration.k8s.io/v1 MutatingWebhookConfiguration":
			obj = &admissionregistrationv1.MutatingWebhookConfiguration{}
		case "cert-manager.io/v1 Issuer", "cert-manager.io/v1 Certificate":
			obj = &unstructuredObject{}
		default:
			t.Fatalf("document %d: unexpected %s %s %q", i+1, tm.APIVersion, tm.Kind, tm.Metadata.Name)
		}
		if err := decodeStrictJSON(j, obj); err != nil {
			t.Fatalf("%s %s %q: %v", tm.APIVersion, tm.Kind, tm.Metadata.Name, err)
		}
		objs = append(objs, obj)
	}
	return objs
}

// unstructuredObject is a custom resource this test has no Go type for.
type unstructuredObject struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              map[string]any `json:"spec"`
}

func TestHelmChart_LintsStrict(t *testing.T) {
	for _, set := range [][]string{nil, {"--set", "standalone.enabled=true,webhook.enabled=false"}, {"--set", "sidecar.namespaces={shop,blog}"}} {
		out, err := helm(t, append([]string{"lint", "--strict", chartDir}, set...)...)
		if err != nil {
			t.Errorf("helm lint --strict %v: %v\n%s", set, err, out)
		}
	}
}

func TestHelmChart_WebhookFailsClosedOutsideSystemNamespaces(t *testing.T) {
	objs := renderChart(t)
	mwc := find[*admissionregistrationv1.MutatingWebhookConfiguration](t, objs, "lbauthz-webhook")
	if len(mwc.Webhooks) != 2 {
		t.Fatalf("%d webhooks, want one for labelled namespaces and one for pods that opt in", len(mwc.Webhooks))
	}
	paths := map[string]bool{}
	for _, w := range mwc.Webhooks {
		if w.FailurePolicy == nil || *w.FailurePolicy != admissionregistrationv1.Fail {
			t.Errorf("%s: failurePolicy must be Fail", w.Name)
		}
		if w.SideEffects == nil || *w.SideEffects != admissionregistrationv1.SideEffectClassNone {
			t.Errorf("%s: sideEffects must be None", w.Name)
		}
		if w.TimeoutSeconds == nil || *w.TimeoutSeconds > 10 {
			t.Errorf("%s: timeoutSeconds %v, want a short one", w.Name, w.TimeoutSeconds)
		}
		if !slices.Equal(w.AdmissionReviewVersions, []string{"v1"}) {
			t.Errorf("%s: admissionReviewVersions %v", w.Name, w.AdmissionReviewVersions)
		}
		if len(w.Rules) != 1 || !slices.Equal(w.Rules[0].Operations, []admissionregistrationv1.OperationType{"CREATE"}) ||
			!slices.Equal(w.Rules[0].Resources, []string{"pods"}) {
			t.Errorf("%s: rules %+v, want CREATE of pods", w.Name, w.Rules)
		}
		s := w.ClientConfig.Service
		if s == nil || s.Name != "lbauthz-webhook" || s.Namespace != "lbauthz" || s.Path == nil {
			t.Fatalf("%s: clientConfig %+v", w.Name, w.ClientConfig)
		}
		paths[*s.Path] = true
		excluded := false
		for _, e := range w.NamespaceSelector.MatchExpressions {
			if e.Key == "kubernetes.io/metadata.name" && e.Operator == metav1.LabelSelectorOpNotIn &&
				slices.Contains(e.Values, "kube-system") && slices.Contains(e.Values, "lbauthz") {
				excluded = true
			}
		}
		if !excluded {
			t.Errorf("%s: kube-system and the release's namespace are not excluded", w.Name)
		}
		checkCABundle(t, objs, w.ClientConfig.CABundle, s.Name+"."+s.Namespace+".svc")
	}
	if !paths[inject.PathNamespace] || !paths[inject.PathPod] {
		t.Errorf("paths %v, want %s and %s", paths, inject.PathNamespace, inject.PathPod)
	}

	d := find[*appsv1.Deployment](t, objs, "lbauthz-webhook")
	if d.Spec.Replicas == nil || *d.Spec.Replicas != 2 {
		t.Error("the webhook must run 2 replicas")
	}
	pdb := find[*policyv1.PodDisruptionBudget](t, objs, "lbauthz-webhook")
	if pdb.Spec.MinAvailable == nil || pdb.Spec.MinAvailable.IntValue() != 1 || !labelsMatch(pdb.Spec.Selector.MatchLabels, d.Spec.Template.Labels) {
		t.Errorf("PDB %+v must keep one webhook pod of the Deployment", pdb.Spec)
	}
	svc := find[*corev1.Service](t, objs, "lbauthz-webhook")
	if !labelsMatch(svc.Spec.Selector, d.Spec.Template.Labels) || svc.Spec.Ports[0].Port != 443 {
		t.Errorf("Service %+v must send :443 to the webhook pods", svc.Spec)
	}
	c := d.Spec.Template.Spec.Containers[0]
	if !slices.Equal(c.Command, []string{"/lbauthz-injector"}) || c.ReadinessProbe == nil || c.ReadinessProbe.HTTPGet.Scheme != corev1.URISchemeHTTPS {
		t.Errorf("webhook container command %v, readiness %+v; want the image's /lbauthz-injector", c.Command, c.ReadinessProbe)
	}
	if sc := c.SecurityContext; sc == nil || !*sc.RunAsNonRoot || *sc.AllowPrivilegeEscalation || !*sc.ReadOnlyRootFilesystem ||
		!slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) || sc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("webhook securityContext %+v does not meet the restricted standard", sc)
	}
	sa := find[*corev1.ServiceAccount](t, objs, "lbauthz-webhook")
	if sa.AutomountServiceAccountToken == nil || *sa.AutomountServiceAccountToken || d.Spec.Template.Spec.ServiceAccountName != sa.Name {
		t.Error("the webhook calls no API: its ServiceAccount must carry no token")
	}

	for _, o := range objs {
		m := o.(metav1.Object)
		l := m.GetLabels()
		for _, k := range []string{"app.kubernetes.io/name", "app.kubernetes.io/instance", "app.kubernetes.io/version", "app.kubernetes.io/managed-by", "app.kubernetes.io/component"} {
			if l[k] == "" {
				t.Errorf("%T %s has no label %s", o, m.GetName(), k)
			}
		}
	}
}

// checkCABundle checks that caBundle is the CA of the chart-made Secret's
// certificate, and that the certificate names host.
func checkCABundle(t *testing.T, objs []any, caBundle []byte, host string) {
	t.Helper()
	sec := find[*corev1.Secret](t, objs, "lbauthz-webhook-tls")
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(caBundle) {
		t.Fatal("caBundle holds no PEM certificate")
	}
	block, _ := pem.Decode(sec.Data["tls.crt"])
	if block == nil {
		t.Fatal("tls.crt holds no PEM certificate")
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cert.Verify(x509.VerifyOptions{Roots: roots, DNSName: host}); err != nil {
		t.Errorf("the serving certificate does not verify for %s against the caBundle: %v", host, err)
	}
	if string(sec.Data["ca.crt"]) != string(caBundle) {
		t.Error("the Secret's ca.crt is not the caBundle")
	}
}

func TestHelmChart_UsesCertManagerWhenItIsInstalled(t *testing.T) {
	objs := renderChart(t, "--api-versions", "cert-manager.io/v1")
	mwc := find[*admissionregistrationv1.MutatingWebhookConfiguration](t, objs, "lbauthz-webhook")
	if got := mwc.Annotations["cert-manager.io/inject-ca-from"]; got != "lbauthz/lbauthz-webhook" {
		t.Errorf("inject-ca-from %q", got)
	}
	for _, w := range mwc.Webhooks {
		if len(w.ClientConfig.CABundle) != 0 {
			t.Errorf("%s: caBundle set by the chart; cert-manager's cainjector fills it", w.Name)
		}
	}
	certificate := find[*unstructuredObject](t, objs, "lbauthz-webhook")
	if certificate.Kind != "Certificate" || certificate.Spec["secretName"] != "lbauthz-webhook-tls" ||
		!slices.Contains(certificate.Spec["dnsNames"].([]any), any("lbauthz-webhook.lbauthz.svc")) {
		t.Errorf("Certificate %+v", certificate.Spec)
	}
	for _, o := range objs {
		if s, ok := o.(*corev1.Secret); ok {
			t.Errorf("Secret %s made by the chart although cert-manager is there", s.Name)
		}
	}
	// Forced off, the chart makes its own even with cert-manager present.
	objs = renderChart(t, "--api-versions", "cert-manager.io/v1", "--set", "webhook.tls.certManager=false")
	find[*corev1.Secret](t, objs, "lbauthz-webhook-tls")
}

func TestHelmChart_ValuesTyposFailWithAClearMessage(t *testing.T) {
	for _, tc := range []struct{ set, want string }{
		{"webhook.replicass=3", "replicass"},
		{"sidecar.frontDoor=traefik", "frontDoor"},
		{"webhook.timeoutSeconds=60", "timeoutSeconds"},
		{"sidecar.namespaces={Not_A_Namespace}", "namespaces"},
		{"image.pullPolicy=Sometimes", "pullPolicy"},
	} {
		t.Run(tc.set, func(t *testing.T) {
			out, err := helm(t, "template", "lbauthz", chartDir, "--namespace", "lbauthz", "--kube-version", kubeVersion, "--set", tc.set)
			if err == nil || !strings.Contains(out, "values don't meet the specifications of the schema") || !strings.Contains(out, tc.want) {
				t.Errorf("helm template --set %s: err %v, output:\n%s", tc.set, err, out)
			}
		})
	}
}

func TestHelmChart_SidecarConfigMapsHoldAWorkingConfig(t *testing.T) {
	objs := renderChart(t, "--set", "sidecar.namespaces={shop}")
	cm := find[*corev1.ConfigMap](t, objs, "lbauthz")
	if cm.Namespace != "shop" {
		t.Errorf("ConfigMap in %q, want the app namespace shop", cm.Namespace)
	}
	cfg, err := config.Parse("chart config.yaml", []byte(cm.Data["config.yaml"]), func(string) string { return "" })
	if err != nil {
		t.Fatalf("the chart's sidecar config does not load: %v", err)
	}
	for _, f := range []string{cfg.Liveblocks.SecretKeyFile, cfg.Session.Jwt.HmacSecretFile} {
		if !strings.HasPrefix(f, inject.SecretDir+"/") {
			t.Errorf("config reads %s, outside the Secret the injector mounts at %s", f, inject.SecretDir)
		}
	}
	if portOf(t, cfg.Listen.Http) != "8181" || portOf(t, cfg.Listen.Grpc) != "9191" {
		t.Errorf("listen %v: the injector's ports and probes are 8181 and 9191", cfg.Listen)
	}

	// nginx.conf: the shipped one, with only the three documented changes.
	shipped := string(readConfig(t, "nginx/nginx.conf"))
	if copy := string(readConfig(t, chartDir+"/files/nginx.conf")); copy != shipped {
		t.Fatal("helm/lbauthz/files/nginx.conf differs from nginx/nginx.conf: copy it again")
	}
	want := mustReplaceOnce(t, shipped, "server 127.0.0.1:3000;", "include "+inject.NginxPodDir+"/upstream.conf;")
	want = mustReplaceOnce(t, want, "error_log error.log warn;", "error_log stderr warn;")
	want = mustReplaceOnce(t, want, "access_log access.log;", "access_log /dev/stdout;")
	if got := find[*corev1.ConfigMap](t, objs, "lbauthz-nginx").Data["nginx.conf"]; strings.TrimSpace(got) != strings.TrimSpace(want) {
		t.Error("the nginx ConfigMap is not deploy/nginx/nginx.conf with the documented changes")
	}

	// The webhook's defaults are the chart's names.
	d := find[*appsv1.Deployment](t, objs, "lbauthz-webhook")
	args := strings.Join(d.Spec.Template.Spec.Containers[0].Args, " ")
	for _, a := range []string{"--config-map=lbauthz", "--secret=lbauthz", "--nginx-config-map=lbauthz-nginx", "--image=ghcr.io/lbauthz/lbauthz:0.1.0"} {
		if !strings.Contains(args, a) {
			t.Errorf("webhook args %q lack %s", args, a)
		}
	}
}

func TestHelmChart_StandaloneModeServesGRPCAndHTTP(t *testing.T) {
	objs := renderChart(t, "--set", "standalone.enabled=true,webhook.enabled=false")
	d := find[*appsv1.Deployment](t, objs, "lbauthz")
	svc := find[*corev1.Service](t, objs, "lbauthz")
	if !labelsMatch(svc.Spec.Selector, d.Spec.Template.Labels) {
		t.Error("the Service does not select the standalone pods")
	}
	c := container(t, d, "lbauthz")
	for _, p := range svc.Spec.Ports {
		containerPort(t, c, p.TargetPort.String())
	}
	if !mountedFrom(t, d, c, "/etc/lbauthz/config.yaml", func(v corev1.Volume) bool { return v.ConfigMap != nil && v.ConfigMap.Name == "lbauthz" }) {
		t.Error("config.yaml is not mounted from the ConfigMap")
	}
	for _, o := range objs {
		if _, ok := o.(*admissionregistrationv1.MutatingWebhookConfiguration); ok {
			t.Error("webhook.enabled=false still renders the webhook")
		}
	}
	find[*policyv1.PodDisruptionBudget](t, objs, "lbauthz")
}

// TestHelmChart_NginxFrontDoorConfigPassesNginxT runs the real nginx on the
// chart's nginx.conf with the upstream.conf that the downward API volume
// would hold: the value the injector writes into the pod's annotation.
func TestHelmChart_NginxFrontDoorConfigPassesNginxT(t *testing.T) {
	bin := nginxBinary(t)
	objs := renderChart(t, "--set", "sidecar.namespaces={shop}")
	conf := find[*corev1.ConfigMap](t, objs, "lbauthz-nginx").Data["nginx.conf"]

	in, err := inject.New(inject.DefaultOptions("v1.2.3"))
	if err != nil {
		t.Fatal(err)
	}
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Annotations: map[string]string{inject.AnnotationFrontDoor: "nginx"}},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Ports: []corev1.ContainerPort{{ContainerPort: 3000}}}}},
	}
	out, err := in.Mutate(pod, inject.NamespaceOptedIn)
	if err != nil {
		t.Fatal(err)
	}
	var upstream string
	for _, op := range out.Patch {
		if op.Path == "/metadata/annotations/lbauthz.io~1nginx-upstream" {
			upstream, _ = op.Value.(string)
		}
	}
	if upstream != "server 127.0.0.1:3000;" {
		t.Fatalf("upstream annotation %q", upstream)
	}

	prefix := t.TempDir()
	if err := os.Chmod(prefix, 0o755); err != nil {
		t.Fatal(err)
	}
	podDir := filepath.Join(prefix, "pod")
	if err := os.Mkdir(podDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(podDir, "upstream.conf"), []byte(upstream), 0o644); err != nil {
		t.Fatal(err)
	}
	conf = mustReplaceOnce(t, conf, "include "+inject.NginxPodDir+"/upstream.conf;", "include "+podDir+"/upstream.conf;")
	conf = mustReplaceOnce(t, conf, "listen 8080;", "listen "+testenv.FreeAddr(t)+";")
	confFile := filepath.Join(prefix, "nginx.conf")
	if err := os.WriteFile(confFile, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := exec.Command(bin, "-t", "-p", prefix+"/", "-c", confFile).CombinedOutput()
	if err != nil || !strings.Contains(string(res), "test is successful") {
		t.Fatalf("nginx -t on the chart's nginx.conf: %v\n%s", err, res)
	}
}
