package inject_test

import (
	"bytes"
	"crypto/tls"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"go.uber.org/zap"
	jsonpatch "gopkg.in/evanphx/json-patch.v4"
	admissionv1 "k8s.io/api/admission/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"

	"github.com/lbauthz/lbauthz/internal/certwatch"
	"github.com/lbauthz/lbauthz/internal/inject"
	"github.com/lbauthz/lbauthz/internal/testenv"
)

// webhook is the injector served over HTTPS, as the API server reaches it.
type webhook struct {
	t      *testing.T
	url    string
	client *http.Client
}

func startWebhook(t *testing.T) *webhook {
	t.Helper()
	in, err := inject.New(inject.DefaultOptions("v1.2.3"))
	if err != nil {
		t.Fatal(err)
	}
	ca := testenv.NewTestCA(t)
	certFile, keyFile := ca.WriteServerCert(t, t.TempDir(), 1, "lbauthz-webhook.lbauthz.svc", "127.0.0.1")
	cert, err := certwatch.Load(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(inject.NewHandler(in, zap.NewNop()))
	srv.TLS = cert.ServerConfig()
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return &webhook{t: t, url: srv.URL, client: &http.Client{Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: ca.Pool(), ServerName: "lbauthz-webhook.lbauthz.svc"},
	}}}
}

// post sends body to path and returns the status and body of the answer.
func (w *webhook) post(path string, body []byte) (int, []byte) {
	w.t.Helper()
	resp, err := w.client.Post(w.url+path, "application/json", bytes.NewReader(body))
	if err != nil {
		w.t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, out
}

// reviewOf is the AdmissionReview the API server sends for a new pod.
func reviewOf(t testing.TB, pod *corev1.Pod) []byte {
	t.Helper()
	raw, err := json.Marshal(pod)
	if err != nil {
		t.Fatal(err)
	}
	review := admissionv1.AdmissionReview{
		TypeMeta: metav1.TypeMeta{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"},
		Request: &admissionv1.AdmissionRequest{
			UID:       types.UID("705ab4f5-6393-11e8-b7cc-42010a800002"),
			Kind:      metav1.GroupVersionKind{Version: "v1", Kind: "Pod"},
			Resource:  metav1.GroupVersionResource{Version: "v1", Resource: "pods"},
			Namespace: "shop",
			Operation: admissionv1.Create,
			UserInfo:  authUser,
			Object:    runtime.RawExtension{Raw: raw},
		},
	}
	body, err := json.Marshal(review)
	if err != nil {
		t.Fatal(err)
	}
	return body
}

var authUser = authenticationv1.UserInfo{Username: "system:serviceaccount:kube-system:replicaset-controller"}

// admit sends pod through the webhook at path and returns the answer and,
// when allowed, the pod with the answer's patch applied by the JSON patch
// library the API server uses.
func (w *webhook) admit(path string, pod *corev1.Pod) (*admissionv1.AdmissionResponse, *corev1.Pod) {
	w.t.Helper()
	status, body := w.post(path, reviewOf(w.t, pod))
	if status != http.StatusOK {
		w.t.Fatalf("status %d: %s", status, body)
	}
	var review admissionv1.AdmissionReview
	if err := json.Unmarshal(body, &review); err != nil {
		w.t.Fatalf("answer is not an AdmissionReview: %v\n%s", err, body)
	}
	if review.APIVersion != "admission.k8s.io/v1" || review.Kind != "AdmissionReview" || review.Response == nil {
		w.t.Fatalf("answer %s", body)
	}
	resp := review.Response
	if resp.UID != "705ab4f5-6393-11e8-b7cc-42010a800002" {
		w.t.Errorf("answer uid %q does not echo the request's", resp.UID)
	}
	if !resp.Allowed {
		return resp, nil
	}
	out := pod.DeepCopy()
	if len(resp.Patch) > 0 {
		if resp.PatchType == nil || *resp.PatchType != admissionv1.PatchTypeJSONPatch {
			w.t.Fatalf("patch type %v", resp.PatchType)
		}
		patch, err := jsonpatch.DecodePatch(resp.Patch)
		if err != nil {
			w.t.Fatalf("the patch is not a JSON patch: %v\n%s", err, resp.Patch)
		}
		orig, _ := json.Marshal(pod)
		patched, err := patch.Apply(orig)
		if err != nil {
			w.t.Fatalf("applying the patch: %v\n%s", err, resp.Patch)
		}
		out = &corev1.Pod{}
		dec := json.NewDecoder(bytes.NewReader(patched))
		dec.DisallowUnknownFields()
		if err := dec.Decode(out); err != nil {
			w.t.Fatalf("the patched pod does not decode as a Pod: %v", err)
		}
	}
	return resp, out
}

// appPod is a plain app pod with one container on port 3000.
func appPod(mutate ...func(*corev1.Pod)) *corev1.Pod {
	p := &corev1.Pod{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: metav1.ObjectMeta{GenerateName: "app-", Namespace: "shop", Labels: map[string]string{"app": "shop"}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{
			Name: "app", Image: "registry.example.com/shop:1.0",
			Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 3000}},
		}}},
	}
	for _, m := range mutate {
		m(p)
	}
	return p
}

func annotate(kv ...string) func(*corev1.Pod) {
	return func(p *corev1.Pod) {
		if p.Annotations == nil {
			p.Annotations = map[string]string{}
		}
		for i := 0; i < len(kv); i += 2 {
			p.Annotations[kv[i]] = kv[i+1]
		}
	}
}

func label(k, v string) func(*corev1.Pod) { return func(p *corev1.Pod) { p.Labels[k] = v } }

func lbauthzContainers(p *corev1.Pod) []corev1.Container {
	var out []corev1.Container
	for _, cs := range [][]corev1.Container{p.Spec.InitContainers, p.Spec.Containers} {
		for _, c := range cs {
			if strings.HasPrefix(c.Name, "lbauthz") {
				out = append(out, c)
			}
		}
	}
	return out
}

func TestInject_PodOfALabelledNamespaceGetsANativeSidecar(t *testing.T) {
	w := startWebhook(t)
	resp, pod := w.admit(inject.PathNamespace, appPod())
	if !resp.Allowed || pod == nil {
		t.Fatalf("not allowed: %v", resp.Result)
	}
	if len(pod.Spec.InitContainers) != 1 || len(pod.Spec.Containers) != 1 {
		t.Fatalf("init containers %d, containers %d: want the sidecar as the one init container", len(pod.Spec.InitContainers), len(pod.Spec.Containers))
	}
	c := pod.Spec.InitContainers[0]
	if c.Name != "lbauthz" || c.Image != "ghcr.io/lbauthz/lbauthz:v1.2.3" {
		t.Errorf("sidecar %s image %s", c.Name, c.Image)
	}
	if c.RestartPolicy == nil || *c.RestartPolicy != corev1.ContainerRestartPolicyAlways {
		t.Error("the sidecar must be a native sidecar (restartPolicy Always)")
	}
	if !slices.Equal(c.Args, []string{"serve", "--config", "/etc/lbauthz/config.yaml"}) {
		t.Errorf("args %q", c.Args)
	}
	for _, p := range []struct {
		name  string
		probe *corev1.Probe
		path  string
	}{{"readiness", c.ReadinessProbe, "/readyz"}, {"liveness", c.LivenessProbe, "/healthz"}, {"startup", c.StartupProbe, "/healthz"}} {
		if p.probe == nil || p.probe.HTTPGet == nil || p.probe.HTTPGet.Path != p.path || p.probe.HTTPGet.Port.String() != "authz-http" {
			t.Errorf("%s probe %+v, want GET %s on authz-http", p.name, p.probe, p.path)
		}
	}
	ports := map[string]int32{}
	for _, p := range c.Ports {
		ports[p.Name] = p.ContainerPort
	}
	if ports["authz-grpc"] != 9191 || ports["authz-http"] != 8181 {
		t.Errorf("ports %v", ports)
	}

	// Config from the ConfigMap "lbauthz", files from the Secret "lbauthz".
	mounts := map[string]corev1.VolumeMount{}
	for _, m := range c.VolumeMounts {
		mounts[m.MountPath] = m
	}
	volumes := map[string]corev1.Volume{}
	for _, v := range pod.Spec.Volumes {
		volumes[v.Name] = v
	}
	cfg, sec := mounts["/etc/lbauthz"], mounts["/run/secrets/lbauthz"]
	if !cfg.ReadOnly || volumes[cfg.Name].ConfigMap == nil || volumes[cfg.Name].ConfigMap.Name != "lbauthz" {
		t.Errorf("/etc/lbauthz is not the ConfigMap lbauthz, read-only: %+v %+v", cfg, volumes[cfg.Name])
	}
	if !sec.ReadOnly || volumes[sec.Name].Secret == nil || volumes[sec.Name].Secret.SecretName != "lbauthz" {
		t.Errorf("/run/secrets/lbauthz is not the Secret lbauthz, read-only: %+v %+v", sec, volumes[sec.Name])
	}

	// Resources and GOMEMLIMIT at 90% of the memory limit.
	lim := c.Resources.Limits[corev1.ResourceMemory]
	if lim.Cmp(resource.MustParse("256Mi")) != 0 || c.Resources.Requests.Cpu().Cmp(resource.MustParse("50m")) != 0 {
		t.Errorf("resources %v", c.Resources)
	}
	if len(c.Env) != 1 || c.Env[0].Name != "GOMEMLIMIT" || c.Env[0].Value != "241591910" {
		t.Errorf("env %v, want GOMEMLIMIT=241591910 (90%% of 256Mi)", c.Env)
	}

	// The restricted Pod Security Standard, container by container.
	sc := c.SecurityContext
	if sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot || sc.RunAsUser == nil || *sc.RunAsUser != 65532 ||
		sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem ||
		sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) || len(sc.Capabilities.Add) != 0 ||
		sc.SeccompProfile == nil || sc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("securityContext %+v does not meet the restricted standard", sc)
	}
	if !strings.Contains(pod.Annotations[inject.AnnotationStatus], `"frontDoor":"istio"`) {
		t.Errorf("status annotation %q", pod.Annotations[inject.AnnotationStatus])
	}
	if pod.Spec.Containers[0].Name != "app" || len(pod.Spec.Containers[0].VolumeMounts) != 0 {
		t.Error("the app container changed")
	}
}

func TestInject_AnnotationsChooseConfigSecretAndResources(t *testing.T) {
	w := startWebhook(t)
	_, pod := w.admit(inject.PathNamespace, appPod(annotate(
		inject.AnnotationConfig, "lbauthz-shop", inject.AnnotationSecret, "shop-keys",
		inject.AnnotationCPULimit, "500m", inject.AnnotationMemoryRequest, "100Mi", inject.AnnotationMemoryLimit, "1Gi",
	), func(p *corev1.Pod) {
		g := int64(2000)
		p.Spec.SecurityContext = &corev1.PodSecurityContext{FSGroup: &g}
	}))
	if pod == nil {
		t.Fatal("refused")
	}
	c := pod.Spec.InitContainers[0]
	if got := c.Resources.Limits[corev1.ResourceCPU]; got.String() != "500m" {
		t.Errorf("cpu limit %s", got.String())
	}
	if got := c.Resources.Requests[corev1.ResourceMemory]; got.String() != "100Mi" {
		t.Errorf("memory request %s", got.String())
	}
	if c.Env[0].Value != "966367641" {
		t.Errorf("GOMEMLIMIT %s, want 90%% of 1Gi", c.Env[0].Value)
	}
	for _, v := range pod.Spec.Volumes {
		switch {
		case v.ConfigMap != nil && v.ConfigMap.Name != "lbauthz-shop":
			t.Errorf("ConfigMap %s", v.ConfigMap.Name)
		case v.Secret != nil && (v.Secret.SecretName != "shop-keys" || *v.Secret.DefaultMode != 0o440):
			t.Errorf("Secret %s mode %o: with an fsGroup the files need not be readable by others", v.Secret.SecretName, *v.Secret.DefaultMode)
		}
	}
}

func TestInject_KeepsWhatThePodAlreadyHas(t *testing.T) {
	w := startWebhook(t)
	_, pod := w.admit(inject.PathNamespace, appPod(annotate("team", "shop"), func(p *corev1.Pod) {
		p.Spec.InitContainers = []corev1.Container{{Name: "migrate", Image: "registry.example.com/shop:1.0"}}
		p.Spec.Volumes = []corev1.Volume{{Name: "cache", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}}
	}))
	if pod == nil {
		t.Fatal("refused")
	}
	if names := []string{pod.Spec.InitContainers[0].Name, pod.Spec.InitContainers[1].Name}; !slices.Equal(names, []string{"lbauthz", "migrate"}) {
		t.Errorf("init containers %v: the sidecar goes first, the others stay", names)
	}
	if pod.Spec.Volumes[0].Name != "cache" || len(pod.Spec.Volumes) != 3 {
		t.Errorf("volumes %v", pod.Spec.Volumes)
	}
	if pod.Annotations["team"] != "shop" || pod.Annotations[inject.AnnotationStatus] == "" {
		t.Errorf("annotations %v", pod.Annotations)
	}
}

func TestInject_WhoGetsTheSidecar(t *testing.T) {
	w := startWebhook(t)
	for _, tc := range []struct {
		name string
		path string
		pod  *corev1.Pod
		want bool
	}{
		{"labelled namespace, plain pod", inject.PathNamespace, appPod(), true},
		{"labelled namespace, pod annotated false", inject.PathNamespace, appPod(annotate(inject.AnnotationInject, "false")), false},
		{"labelled namespace, pod labelled false", inject.PathNamespace, appPod(label(inject.AnnotationInject, "false")), false},
		{"labelled namespace, pod annotated true", inject.PathNamespace, appPod(annotate(inject.AnnotationInject, "true")), true},
		{"other namespace, plain pod", inject.PathPod, appPod(), false},
		{"other namespace, pod labelled true", inject.PathPod, appPod(label(inject.AnnotationInject, "true")), true},
		{"other namespace, pod annotated true", inject.PathPod, appPod(annotate(inject.AnnotationInject, "true")), true},
		{"other namespace, pod annotated false", inject.PathPod, appPod(annotate(inject.AnnotationInject, "false")), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, pod := w.admit(tc.path, tc.pod)
			if !resp.Allowed {
				t.Fatalf("refused: %v", resp.Result)
			}
			got := len(lbauthzContainers(pod)) == 1
			if got != tc.want {
				t.Errorf("sidecar added: %v, want %v", got, tc.want)
			}
			if !tc.want && len(resp.Patch) != 0 {
				t.Errorf("a pod left alone got a patch: %s", resp.Patch)
			}
		})
	}
}

func TestInject_ReadmissionAddsNothing(t *testing.T) {
	w := startWebhook(t)
	for _, door := range []string{"istio", "nginx"} {
		t.Run(door, func(t *testing.T) {
			_, once := w.admit(inject.PathNamespace, appPod(annotate(inject.AnnotationFrontDoor, door)))
			resp, twice := w.admit(inject.PathNamespace, once)
			if !resp.Allowed || len(resp.Patch) != 0 {
				t.Fatalf("second admission: allowed %v, patch %s", resp.Allowed, resp.Patch)
			}
			want := 1
			if door == "nginx" {
				want = 2
			}
			if n := len(lbauthzContainers(twice)); n != want {
				t.Errorf("%d lbauthz containers after two admissions, want %d", n, want)
			}
		})
	}
}

func TestInject_NginxFrontDoorStandsBeforeTheAppsPort(t *testing.T) {
	w := startWebhook(t)
	for _, tc := range []struct {
		name     string
		pod      *corev1.Pod
		upstream string
	}{
		{"the one declared port", appPod(annotate(inject.AnnotationFrontDoor, "nginx")), "server 127.0.0.1:3000;"},
		{"a port number in the annotation", appPod(annotate(inject.AnnotationFrontDoor, "nginx", inject.AnnotationAppPort, "5000")), "server 127.0.0.1:5000;"},
		{"a port name in the annotation", appPod(annotate(inject.AnnotationFrontDoor, "nginx", inject.AnnotationAppPort, "http")), "server 127.0.0.1:3000;"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, pod := w.admit(inject.PathNamespace, tc.pod)
			if !resp.Allowed {
				t.Fatalf("refused: %s", resp.Result.Message)
			}
			if len(pod.Spec.Containers) != 2 || pod.Spec.Containers[0].Name != "app" {
				t.Fatalf("containers %d: want the app and nginx", len(pod.Spec.Containers))
			}
			n := pod.Spec.Containers[1]
			if n.Name != "lbauthz-nginx" || len(n.Ports) != 1 || n.Ports[0].Name != "lbauthz-nginx" || n.Ports[0].ContainerPort != 8080 {
				t.Errorf("nginx container %s ports %v", n.Name, n.Ports)
			}
			if got := pod.Annotations[inject.AnnotationNginxUpstream]; got != tc.upstream {
				t.Errorf("upstream %q, want %q", got, tc.upstream)
			}
			var downward, conf bool
			for _, v := range pod.Spec.Volumes {
				if v.DownwardAPI != nil && len(v.DownwardAPI.Items) == 1 &&
					v.DownwardAPI.Items[0].FieldRef.FieldPath == "metadata.annotations['lbauthz.io/nginx-upstream']" {
					downward = true
				}
				conf = conf || (v.ConfigMap != nil && v.ConfigMap.Name == "lbauthz-nginx")
			}
			if !downward || !conf {
				t.Errorf("volumes: downward API upstream %v, nginx ConfigMap %v", downward, conf)
			}
			if sc := n.SecurityContext; sc == nil || !*sc.RunAsNonRoot || !*sc.ReadOnlyRootFilesystem {
				t.Error("nginx must run as non-root with a read-only root")
			}
		})
	}
}

func TestInject_RefusesAPodItCannotProtectNamingTheAnnotation(t *testing.T) {
	w := startWebhook(t)
	twoPorts := func(p *corev1.Pod) {
		p.Spec.Containers[0].Ports = append(p.Spec.Containers[0].Ports, corev1.ContainerPort{Name: "admin", ContainerPort: 9000})
	}
	for _, tc := range []struct {
		name       string
		path       string
		pod        *corev1.Pod
		annotation string
	}{
		{"unknown front door", inject.PathNamespace, appPod(annotate(inject.AnnotationFrontDoor, "traefik")), inject.AnnotationFrontDoor},
		{"inject value neither true nor false", inject.PathNamespace, appPod(annotate(inject.AnnotationInject, "yes")), inject.AnnotationInject},
		{"label and annotation disagree", inject.PathPod, appPod(label(inject.AnnotationInject, "true"), annotate(inject.AnnotationInject, "false")), inject.AnnotationInject},
		{"ConfigMap name invalid", inject.PathNamespace, appPod(annotate(inject.AnnotationConfig, "Not_A_Name")), inject.AnnotationConfig},
		{"Secret name invalid", inject.PathPod, appPod(label(inject.AnnotationInject, "true"), annotate(inject.AnnotationSecret, "")), inject.AnnotationSecret},
		{"CPU limit not a quantity", inject.PathNamespace, appPod(annotate(inject.AnnotationCPULimit, "lots")), inject.AnnotationCPULimit},
		{"memory request above limit", inject.PathNamespace, appPod(annotate(inject.AnnotationMemoryRequest, "1Gi")), inject.AnnotationMemoryRequest},
		{"memory limit too small", inject.PathNamespace, appPod(annotate(inject.AnnotationMemoryLimit, "1Mi", inject.AnnotationMemoryRequest, "1Mi")), inject.AnnotationMemoryLimit},
		{"nginx without a known app port", inject.PathNamespace, appPod(annotate(inject.AnnotationFrontDoor, "nginx"), twoPorts), inject.AnnotationAppPort},
		{"nginx with an app port name nobody has", inject.PathNamespace, appPod(annotate(inject.AnnotationFrontDoor, "nginx", inject.AnnotationAppPort, "web")), inject.AnnotationAppPort},
		{"nginx in front of its own port", inject.PathNamespace, appPod(annotate(inject.AnnotationFrontDoor, "nginx", inject.AnnotationAppPort, "8181")), inject.AnnotationAppPort},
		{"nginx config name invalid", inject.PathNamespace, appPod(annotate(inject.AnnotationFrontDoor, "nginx", inject.AnnotationNginxConfig, "a/b")), inject.AnnotationNginxConfig},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, _ := w.admit(tc.path, tc.pod)
			if resp.Allowed {
				t.Fatalf("allowed, patch %s", resp.Patch)
			}
			if resp.Result == nil || resp.Result.Code != http.StatusBadRequest || !strings.HasPrefix(resp.Result.Message, tc.annotation+": ") {
				t.Fatalf("result %+v, want a 400 whose message starts with %q", resp.Result, tc.annotation)
			}
			if len(resp.Patch) != 0 {
				t.Error("a refusal carries a patch")
			}
			t.Logf("refused: %s", resp.Result.Message)
		})
	}
}

func TestInject_RefusesAPortClash(t *testing.T) {
	w := startWebhook(t)
	resp, _ := w.admit(inject.PathNamespace, appPod(func(p *corev1.Pod) { p.Spec.Containers[0].Ports[0].ContainerPort = 8181 }))
	if resp.Allowed || !strings.Contains(resp.Result.Message, `container "app" already uses port 8181`) {
		t.Errorf("a pod whose app listens on lbauthz's port: allowed %v, %+v", resp.Allowed, resp.Result)
	}
}

func TestAdmission_LeavesEverythingButANewPodAlone(t *testing.T) {
	w := startWebhook(t)
	for _, tc := range []struct {
		name   string
		change func(*admissionv1.AdmissionRequest)
	}{
		{"pod update", func(r *admissionv1.AdmissionRequest) { r.Operation = admissionv1.Update }},
		{"a subresource", func(r *admissionv1.AdmissionRequest) { r.SubResource = "ephemeralcontainers" }},
		{"another resource", func(r *admissionv1.AdmissionRequest) {
			r.Resource = metav1.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var review admissionv1.AdmissionReview
			_ = json.Unmarshal(reviewOf(t, appPod()), &review)
			tc.change(review.Request)
			body, _ := json.Marshal(review)
			status, out := w.post(inject.PathNamespace, body)
			var ans admissionv1.AdmissionReview
			if err := json.Unmarshal(out, &ans); status != http.StatusOK || err != nil || ans.Response == nil {
				t.Fatalf("status %d: %s", status, out)
			}
			if !ans.Response.Allowed || len(ans.Response.Patch) != 0 {
				t.Errorf("allowed %v, patch %s", ans.Response.Allowed, ans.Response.Patch)
			}
		})
	}
}

func TestAdmission_MalformedReviewsGet400WithAReason(t *testing.T) {
	w := startWebhook(t)
	good := string(reviewOf(t, appPod()))
	for _, tc := range []struct {
		name, body, reason string
	}{
		{"empty body", "", "empty body"},
		{"not JSON", "{not json", "invalid JSON"},
		{"a JSON array", "[]", "not an AdmissionReview"},
		{"wrong version", strings.Replace(good, "admission.k8s.io/v1", "admission.k8s.io/v1beta1", 1), "want admission.k8s.io/v1 AdmissionReview"},
		{"wrong kind", strings.Replace(good, `"kind":"AdmissionReview"`, `"kind":"Pod"`, 1), "want admission.k8s.io/v1 AdmissionReview"},
		{"no request", `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"}`, "no request"},
		{"no uid", strings.Replace(good, `"uid":"705ab4f5-6393-11e8-b7cc-42010a800002",`, "", 1), "no uid"},
		{"object not a pod", strings.Replace(good, `"object":{`, `"object":{"spec":7,`, 1), "not a Pod"},
		{"no object", `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","kind":{"version":"v1","kind":"Pod"},"resource":{"version":"v1","resource":"pods"},"operation":"CREATE","userInfo":{}}}`, "no object"},
		{"uid of the wrong type", strings.Replace(good, `"uid":"705ab4f5-6393-11e8-b7cc-42010a800002"`, `"uid":5`, 1), "field"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, out := w.post(inject.PathNamespace, []byte(tc.body))
			if status != http.StatusBadRequest || !strings.Contains(string(out), tc.reason) {
				t.Errorf("status %d body %q, want 400 with %q", status, out, tc.reason)
			}
		})
	}

	t.Run("too large", func(t *testing.T) {
		status, _ := w.post(inject.PathNamespace, append([]byte(`{"a":"`), bytes.Repeat([]byte("x"), inject.MaxReviewBytes+1)...))
		if status != http.StatusRequestEntityTooLarge {
			t.Errorf("status %d, want 413", status)
		}
	})
	t.Run("wrong content type", func(t *testing.T) {
		resp, err := w.client.Post(w.url+inject.PathNamespace, "text/plain", strings.NewReader(good))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("status %d, want 400", resp.StatusCode)
		}
	})
	t.Run("GET", func(t *testing.T) {
		resp, err := w.client.Get(w.url + inject.PathNamespace)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("status %d, want 405", resp.StatusCode)
		}
	})
}

func TestAdmission_ProbesAnswer(t *testing.T) {
	w := startWebhook(t)
	for _, p := range []string{"/healthz", "/readyz"} {
		resp, err := w.client.Get(w.url + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("%s: %d", p, resp.StatusCode)
		}
	}
}
