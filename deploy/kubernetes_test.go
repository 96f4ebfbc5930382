package deploy_test

import (
	"encoding/json"
	"fmt"
	"path"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	meshv1alpha1 "istio.io/api/mesh/v1alpha1"
	networkingv1alpha3 "istio.io/api/networking/v1alpha3"
	securityv1beta1 "istio.io/api/security/v1beta1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	gwapiv1 "sigs.k8s.io/gateway-api/apis/v1"
	"sigs.k8s.io/yaml"

	"github.com/lbauthz/lbauthz/authz/config"
	configv1 "github.com/lbauthz/lbauthz/proto/lbauthz/config/v1"
)

// The Kubernetes manifests are decoded the way the API server would decode
// them with strict field validation (kubectl apply --validate=strict): into
// the real Go types for Kubernetes (k8s.io/api), Gateway API
// (sigs.k8s.io/gateway-api) and Istio (istio.io/api, whose CRDs are these
// protobuf messages), failing on any unknown or duplicate field.
//
// Envoy Gateway's own types are the exception. Its Go module
// (github.com/envoyproxy/gateway/api/v1alpha1) resolves with this Go version,
// but it needs a go directive of 1.26.7 in go.mod and pulls in
// controller-runtime, apiextensions-apiserver, kube-openapi and about twenty
// go-openapi modules for two small objects. SecurityPolicy and
// ClientTrafficPolicy are therefore decoded into mirror structs below, copied
// field for field (names and JSON tags) from Envoy Gateway v1.9.1's
// api/v1alpha1, reusing the Gateway API types it uses itself. The mirrors hold
// only the fields these manifests need, so they can reject a valid field they
// lack, never accept one Envoy Gateway does not have.

type egSecurityPolicy struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	Spec              struct {
		TargetRefs []gwapiv1.LocalPolicyTargetReferenceWithSectionName `json:"targetRefs,omitempty"`
		ExtAuth    *egExtAuth                                          `json:"extAuth,omitempty"`
	} `json:"spec"`
}

type egExtAuth struct {
	GRPC *struct {
		BackendRefs []egBackendRef `json:"backendRefs,omitempty"`
	} `json:"grpc,omitempty"`
	HeadersToExtAuth []string `json:"headersToExtAuth,omitempty"`
	BodyToExtAuth    *struct {
		MaxRequestBytes uint32 `json:"maxRequestBytes"`
	} `json:"bodyToExtAuth,omitempty"`
	Timeout        *gwapiv1.Duration `json:"timeout,omitempty"`
	FailOpen       *bool             `json:"failOpen,omitempty"`
	RecomputeRoute *bool             `json:"recomputeRoute,omitempty"`
	StatusOnError  *int32            `json:"statusOnError,omitempty"`
}

type egBackendRef struct {
	gwapiv1.BackendObjectReference `json:",inline"`
	Weight                         *uint32 `json:"weight,omitempty"`
	Fallback                       *bool   `json:"fallback,omitempty"`
}

type egClientTrafficPolicy struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	Spec              struct {
		TargetRefs []gwapiv1.LocalPolicyTargetReferenceWithSectionName `json:"targetRefs,omitempty"`
		Headers    *struct {
			EarlyRequestHeaders *struct {
				Set    []gwapiv1.HTTPHeader `json:"set,omitempty"`
				Add    []gwapiv1.HTTPHeader `json:"add,omitempty"`
				Remove []string             `json:"remove,omitempty"`
			} `json:"earlyRequestHeaders,omitempty"`
			WithUnderscoresAction *string `json:"withUnderscoresAction,omitempty"`
		} `json:"headers,omitempty"`
	} `json:"spec"`
}

// egEnvoyProxy mirrors Envoy Gateway's EnvoyProxy with only its backendTLS
// client certificate (BackendTLSConfig.ClientCertificateRef).
type egEnvoyProxy struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	Spec              struct {
		BackendTLS *struct {
			ClientCertificateRef *gwapiv1.SecretObjectReference `json:"clientCertificateRef,omitempty"`
		} `json:"backendTLS,omitempty"`
	} `json:"spec"`
}

// istioObject is an Istio custom resource with its spec decoded as the
// protobuf message the CRD is generated from.
type istioObject struct {
	TypeMeta   metav1.TypeMeta
	ObjectMeta metav1.ObjectMeta
	Spec       proto.Message
}

// decodeIstio decodes an Istio resource strictly: the envelope with
// encoding/json, the spec with protojson (unknown fields are errors).
func decodeIstio(doc []byte, spec proto.Message) (*istioObject, error) {
	var env struct {
		APIVersion string            `json:"apiVersion"`
		Kind       string            `json:"kind"`
		Metadata   metav1.ObjectMeta `json:"metadata"`
		Spec       json.RawMessage   `json:"spec"`
	}
	if err := decodeStrictJSON(doc, &env); err != nil {
		return nil, err
	}
	if err := protojson.Unmarshal(env.Spec, spec); err != nil {
		return nil, fmt.Errorf("spec: %w", err)
	}
	return &istioObject{
		TypeMeta:   metav1.TypeMeta{APIVersion: env.APIVersion, Kind: env.Kind},
		ObjectMeta: env.Metadata,
		Spec:       spec,
	}, nil
}

// decodeManifests decodes every document of a manifest file into its type.
func decodeManifests(t *testing.T, name string, data []byte) ([]any, error) {
	t.Helper()
	var objs []any
	for i, doc := range yamlDocs(t, name, data) {
		j, err := yaml.YAMLToJSONStrict(doc)
		if err != nil {
			return nil, fmt.Errorf("%s document %d: %w", name, i+1, err)
		}
		var tm typeMeta
		if err := json.Unmarshal(j, &tm); err != nil {
			return nil, fmt.Errorf("%s document %d: %w", name, i+1, err)
		}
		what := fmt.Sprintf("%s: %s %s %q", name, tm.APIVersion, tm.Kind, tm.Metadata.Name)
		var obj any
		switch tm.APIVersion + " " + tm.Kind {
		case "v1 ConfigMap":
			obj = &corev1.ConfigMap{}
		case "v1 Service":
			obj = &corev1.Service{}
		case "apps/v1 Deployment":
			obj = &appsv1.Deployment{}
		case "networking.k8s.io/v1 NetworkPolicy":
			obj = &networkingv1.NetworkPolicy{}
		case "gateway.networking.k8s.io/v1 HTTPRoute":
			obj = &gwapiv1.HTTPRoute{}
		case "gateway.envoyproxy.io/v1alpha1 SecurityPolicy":
			obj = &egSecurityPolicy{}
		case "gateway.envoyproxy.io/v1alpha1 ClientTrafficPolicy":
			obj = &egClientTrafficPolicy{}
		case "gateway.envoyproxy.io/v1alpha1 EnvoyProxy":
			obj = &egEnvoyProxy{}
		case "gateway.networking.k8s.io/v1 BackendTLSPolicy":
			obj = &gwapiv1.BackendTLSPolicy{}
		case "networking.istio.io/v1 DestinationRule":
			o, err := decodeIstio(j, &networkingv1alpha3.DestinationRule{})
			if err != nil {
				return nil, fmt.Errorf("%s: %w", what, err)
			}
			objs = append(objs, o)
			continue
		case "networking.istio.io/v1 ServiceEntry":
			o, err := decodeIstio(j, &networkingv1alpha3.ServiceEntry{})
			if err != nil {
				return nil, fmt.Errorf("%s: %w", what, err)
			}
			objs = append(objs, o)
			continue
		case "networking.istio.io/v1alpha3 EnvoyFilter":
			o, err := decodeIstio(j, &networkingv1alpha3.EnvoyFilter{})
			if err != nil {
				return nil, fmt.Errorf("%s: %w", what, err)
			}
			objs = append(objs, o)
			continue
		case "security.istio.io/v1 AuthorizationPolicy":
			o, err := decodeIstio(j, &securityv1beta1.AuthorizationPolicy{})
			if err != nil {
				return nil, fmt.Errorf("%s: %w", what, err)
			}
			objs = append(objs, o)
			continue
		default:
			return nil, fmt.Errorf("%s: no Go type known for this kind", what)
		}
		if err := decodeStrictJSON(j, obj); err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		objs = append(objs, obj)
	}
	return objs, nil
}

func mustDecodeManifests(t *testing.T, file string) []any {
	t.Helper()
	objs, err := decodeManifests(t, file, readConfig(t, file))
	if err != nil {
		t.Fatal(err)
	}
	return objs
}

// find returns the object of type T with the given name.
func find[T any](t *testing.T, objs []any, name string) T {
	t.Helper()
	for _, o := range objs {
		v, ok := o.(T)
		if !ok {
			continue
		}
		if objectName(o) == name {
			return v
		}
	}
	var zero T
	t.Fatalf("no %T named %q", zero, name)
	return zero
}

func all[T any](objs []any) []T {
	var out []T
	for _, o := range objs {
		if v, ok := o.(T); ok {
			out = append(out, v)
		}
	}
	return out
}

func objectName(o any) string {
	switch v := o.(type) {
	case metav1.Object:
		return v.GetName()
	case *istioObject:
		return v.ObjectMeta.Name
	}
	return ""
}

// loadLbauthzConfig loads the config in a ConfigMap with lbauthz's own
// strict loader, as `lbauthz validate` would.
func loadLbauthzConfig(t *testing.T, data string) *configv1.Config {
	t.Helper()
	cfg, err := config.Parse("ConfigMap lbauthz config.yaml", []byte(data), func(string) string { return "" })
	if err != nil {
		t.Fatalf("lbauthz config in the ConfigMap: %v", err)
	}
	return cfg
}

func container(t *testing.T, d *appsv1.Deployment, name string) *corev1.Container {
	t.Helper()
	for i := range d.Spec.Template.Spec.Containers {
		if c := &d.Spec.Template.Spec.Containers[i]; c.Name == name {
			return c
		}
	}
	t.Fatalf("deployment %s has no container %q", d.Name, name)
	return nil
}

func containerPort(t *testing.T, c *corev1.Container, name string) int32 {
	t.Helper()
	for _, p := range c.Ports {
		if p.Name == name {
			return p.ContainerPort
		}
	}
	t.Fatalf("container %s has no port named %q", c.Name, name)
	return 0
}

func portOf(t *testing.T, addr string) string {
	t.Helper()
	i := strings.LastIndex(addr, ":")
	if i < 0 {
		t.Fatalf("address %q has no port", addr)
	}
	return addr[i+1:]
}

type sidecarSetup struct {
	objs       []any
	deployment *appsv1.Deployment
	lbauthz    *corev1.Container
	config     *configv1.Config
}

func loadSidecar(t *testing.T) sidecarSetup {
	t.Helper()
	objs := mustDecodeManifests(t, "kubernetes/sidecar.yaml")
	s := sidecarSetup{objs: objs, deployment: find[*appsv1.Deployment](t, objs, "app")}
	s.lbauthz = container(t, s.deployment, "lbauthz")
	cm := find[*corev1.ConfigMap](t, objs, "lbauthz")
	s.config = loadLbauthzConfig(t, cm.Data["config.yaml"])
	return s
}

func TestKubernetes_ManifestsDecodeStrictly(t *testing.T) {
	for _, f := range []string{"kubernetes/sidecar.yaml", "kubernetes/istio.yaml", "kubernetes/envoy-gateway.yaml",
		"kubernetes/istio-mtls.yaml", "kubernetes/envoy-gateway-mtls.yaml"} {
		t.Run(path.Base(f), func(t *testing.T) { mustDecodeManifests(t, f) })
	}
}

func TestKubernetesSidecar_LbauthzContainerIsLockedDown(t *testing.T) {
	s := loadSidecar(t)
	c := s.lbauthz
	sc := c.SecurityContext
	if sc == nil {
		t.Fatal("lbauthz has no securityContext")
	}
	check := func(ok bool, what string) {
		if !ok {
			t.Errorf("lbauthz securityContext: %s", what)
		}
	}
	check(sc.RunAsNonRoot != nil && *sc.RunAsNonRoot, "runAsNonRoot must be true")
	check(sc.RunAsUser == nil || *sc.RunAsUser != 0, "runAsUser must not be 0")
	check(sc.ReadOnlyRootFilesystem != nil && *sc.ReadOnlyRootFilesystem, "readOnlyRootFilesystem must be true")
	check(sc.AllowPrivilegeEscalation != nil && !*sc.AllowPrivilegeEscalation, "allowPrivilegeEscalation must be false")
	check(sc.Capabilities != nil && slices.Contains(sc.Capabilities.Drop, "ALL") && len(sc.Capabilities.Add) == 0, "capabilities must drop ALL and add none")
	check(sc.Privileged == nil || !*sc.Privileged, "must not be privileged")
	seccomp := sc.SeccompProfile
	if seccomp == nil && s.deployment.Spec.Template.Spec.SecurityContext != nil {
		seccomp = s.deployment.Spec.Template.Spec.SecurityContext.SeccompProfile
	}
	check(seccomp != nil && seccomp.Type == corev1.SeccompProfileTypeRuntimeDefault, "seccomp profile must be RuntimeDefault")
	if ps := s.deployment.Spec.Template.Spec; ps.HostNetwork || ps.HostPID || ps.HostIPC {
		t.Error("the pod must not share the host's network, PID or IPC namespace")
	}

	for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		if _, ok := c.Resources.Requests[r]; !ok {
			t.Errorf("lbauthz has no %s request", r)
		}
		if _, ok := c.Resources.Limits[r]; !ok {
			t.Errorf("lbauthz has no %s limit", r)
		}
	}
	if !strings.HasPrefix(c.Image, "ghcr.io/lbauthz/lbauthz:") {
		t.Errorf("lbauthz image %q", c.Image)
	}
}

func TestKubernetesSidecar_ProbesAndPortsMatchTheConfig(t *testing.T) {
	s := loadSidecar(t)
	c := s.lbauthz
	if got := fmt.Sprint(containerPort(t, c, "authz-grpc")); got != portOf(t, s.config.Listen.Grpc) {
		t.Errorf("container port authz-grpc %s, config listens on %s", got, s.config.Listen.Grpc)
	}
	if got := fmt.Sprint(containerPort(t, c, "authz-http")); got != portOf(t, s.config.Listen.Http) {
		t.Errorf("container port authz-http %s, config listens on %s", got, s.config.Listen.Http)
	}
	// The kubelet probes the pod IP, so the HTTP listener must not be loopback only.
	if strings.HasPrefix(s.config.Listen.Http, "127.") || strings.HasPrefix(s.config.Listen.Http, "localhost:") {
		t.Errorf("listen.http %q is loopback only: the kubelet's probes could not reach it", s.config.Listen.Http)
	}
	for _, p := range []struct {
		name  string
		probe *corev1.Probe
		path  string
	}{{"readiness", c.ReadinessProbe, "/readyz"}, {"liveness", c.LivenessProbe, "/healthz"}} {
		if p.probe == nil || p.probe.HTTPGet == nil {
			t.Errorf("lbauthz has no HTTP %s probe", p.name)
			continue
		}
		if p.probe.HTTPGet.Path != p.path || p.probe.HTTPGet.Port != intstr.FromString("authz-http") {
			t.Errorf("%s probe %s on %s, want %s on authz-http", p.name, p.probe.HTTPGet.Path, p.probe.HTTPGet.Port.String(), p.path)
		}
	}
	if len(c.Args) < 3 || c.Args[0] != "serve" || c.Args[1] != "--config" {
		t.Fatalf("lbauthz args %q, want serve --config FILE", c.Args)
	}
	if !mountedFrom(t, s.deployment, c, c.Args[2], func(v corev1.Volume) bool {
		return v.ConfigMap != nil && v.ConfigMap.Name == "lbauthz"
	}) {
		t.Errorf("--config %s is not a file of the lbauthz ConfigMap", c.Args[2])
	}

	// Services reach the ports by name.
	for _, svc := range all[*corev1.Service](s.objs) {
		if !labelsMatch(svc.Spec.Selector, s.deployment.Spec.Template.Labels) {
			t.Errorf("service %s selects %v, not the app's pods", svc.Name, svc.Spec.Selector)
		}
		for _, p := range svc.Spec.Ports {
			found := false
			for _, ct := range s.deployment.Spec.Template.Spec.Containers {
				for _, cp := range ct.Ports {
					found = found || cp.Name == p.TargetPort.String()
				}
			}
			if !found {
				t.Errorf("service %s port %s targets %s, which no container has", svc.Name, p.Name, p.TargetPort.String())
			}
		}
	}
}

func TestKubernetesSidecar_SecretsAreReadOnlyFilesFromSecrets(t *testing.T) {
	s := loadSidecar(t)
	for _, file := range []string{s.config.Liveblocks.SecretKeyFile, s.config.Session.Jwt.HmacSecretFile} {
		if file == "" {
			t.Fatal("the config must read its secrets from files")
		}
		if !mountedFrom(t, s.deployment, s.lbauthz, file, func(v corev1.Volume) bool {
			return v.Secret != nil && v.Secret.DefaultMode != nil && *v.Secret.DefaultMode&0o007 == 0
		}) {
			t.Errorf("%s is not a file of a Secret volume closed to others", file)
		}
	}
	for _, e := range s.lbauthz.Env {
		if e.Value != "" && strings.Contains(strings.ToUpper(e.Name), "SECRET") {
			t.Errorf("environment variable %s holds a secret in the manifest", e.Name)
		}
	}
}

// mountedFrom reports whether file is provided, read-only, by a volume of the
// pod that accepts, mounted in c.
func mountedFrom(t *testing.T, d *appsv1.Deployment, c *corev1.Container, file string, accept func(corev1.Volume) bool) bool {
	t.Helper()
	for _, m := range c.VolumeMounts {
		rel, ok := strings.CutPrefix(file, strings.TrimSuffix(m.MountPath, "/")+"/")
		if !ok || !m.ReadOnly {
			continue
		}
		for _, v := range d.Spec.Template.Spec.Volumes {
			if v.Name != m.Name || !accept(v) {
				continue
			}
			var items []corev1.KeyToPath
			switch {
			case v.Secret != nil:
				items = v.Secret.Items
			case v.ConfigMap != nil:
				items = v.ConfigMap.Items
			}
			if len(items) == 0 {
				return true
			}
			for _, it := range items {
				if it.Path == rel {
					return true
				}
			}
		}
	}
	return false
}

func labelsMatch(selector, labels map[string]string) bool {
	if len(selector) == 0 {
		return false
	}
	for k, v := range selector {
		if labels[k] != v {
			return false
		}
	}
	return true
}

func TestIstio_ProviderPolicyAndServiceEntryAgree(t *testing.T) {
	sidecar := loadSidecar(t)
	objs := mustDecodeManifests(t, "kubernetes/istio.yaml")

	cm := find[*corev1.ConfigMap](t, objs, "istio")
	if cm.Namespace != "istio-system" {
		t.Errorf("the mesh config lives in istio-system, not %q", cm.Namespace)
	}
	mesh := &meshv1alpha1.MeshConfig{}
	if err := protojson.Unmarshal(yamlToJSON(t, "mesh", []byte(cm.Data["mesh"])), mesh); err != nil {
		t.Fatalf("mesh config: %v", err)
	}
	var provider *meshv1alpha1.MeshConfig_ExtensionProvider_EnvoyExternalAuthorizationGrpcProvider
	for _, p := range mesh.GetExtensionProviders() {
		if p.GetName() == "lbauthz" {
			provider = p.GetEnvoyExtAuthzGrpc()
		}
	}
	if provider == nil {
		t.Fatal("no envoyExtAuthzGrpc extension provider named lbauthz")
	}
	if provider.GetFailOpen() {
		t.Error("failOpen must be false")
	}
	if provider.GetStatusOnError() != "503" {
		t.Errorf("statusOnError %q, want 503", provider.GetStatusOnError())
	}
	if d := provider.GetTimeout().AsDuration(); provider.GetTimeout() == nil || d < time.Second || d >= 10*time.Second {
		t.Errorf("timeout %v: must be explicit (Istio's default is 600 s), cover a Liveblocks call and stay under the client's 10 s", d)
	}
	if b := provider.GetIncludeRequestBodyInCheck(); b.GetMaxRequestBytes() != 4096 || !b.GetAllowPartialMessage() {
		t.Errorf("includeRequestBodyInCheck %v: want 4096 bytes, partial allowed (it applies to every request)", b)
	}

	se := find[*istioObject](t, objs, "lbauthz-local").Spec.(*networkingv1alpha3.ServiceEntry)
	if !slices.Contains(se.GetHosts(), provider.GetService()) {
		t.Errorf("provider service %q is not a host of the ServiceEntry %v", provider.GetService(), se.GetHosts())
	}
	if len(se.GetEndpoints()) != 1 || se.GetEndpoints()[0].GetAddress() != "127.0.0.1" ||
		se.GetResolution() != networkingv1alpha3.ServiceEntry_STATIC {
		t.Errorf("the ServiceEntry must resolve statically to 127.0.0.1 (the pod's own lbauthz): %v", se)
	}
	if !slices.Equal(se.GetExportTo(), []string{"."}) {
		t.Errorf("exportTo %v: keep lbauthz.local to this namespace", se.GetExportTo())
	}
	grpcPort := uint32(containerPort(t, sidecar.lbauthz, "authz-grpc"))
	if len(se.GetPorts()) != 1 || se.GetPorts()[0].GetNumber() != grpcPort || se.GetPorts()[0].GetProtocol() != "GRPC" ||
		provider.GetPort() != grpcPort {
		t.Errorf("ServiceEntry ports %v and provider port %d must be lbauthz's gRPC port %d", se.GetPorts(), provider.GetPort(), grpcPort)
	}

	ap := find[*istioObject](t, objs, "lbauthz").Spec.(*securityv1beta1.AuthorizationPolicy)
	if ap.GetAction() != securityv1beta1.AuthorizationPolicy_CUSTOM || ap.GetProvider().GetName() != "lbauthz" {
		t.Errorf("AuthorizationPolicy must be CUSTOM with provider lbauthz, is %v %q", ap.GetAction(), ap.GetProvider().GetName())
	}
	if len(ap.GetRules()) != 1 || proto.Size(ap.GetRules()[0]) != 0 {
		t.Errorf("rules %v: want exactly [{}], so every request is checked", ap.GetRules())
	}
	if !labelsMatch(ap.GetSelector().GetMatchLabels(), sidecar.deployment.Spec.Template.Labels) {
		t.Errorf("the policy selects %v, not the app's pods", ap.GetSelector().GetMatchLabels())
	}
}

func TestEnvoyGateway_EveryAppRouteIsCheckedFailClosed(t *testing.T) {
	sidecar := loadSidecar(t)
	objs := mustDecodeManifests(t, "kubernetes/envoy-gateway.yaml")
	routes := all[*gwapiv1.HTTPRoute](objs)
	policies := all[*egSecurityPolicy](objs)

	servicePort := func(name string, port gwapiv1.PortNumber) *corev1.ServicePort {
		for _, svc := range all[*corev1.Service](sidecar.objs) {
			if svc.Name != name {
				continue
			}
			for i := range svc.Spec.Ports {
				if svc.Spec.Ports[i].Port == int32(port) {
					return &svc.Spec.Ports[i]
				}
			}
		}
		return nil
	}

	var gateways []string
	for _, r := range routes {
		for _, p := range r.Spec.ParentRefs {
			gateways = append(gateways, string(p.Name))
		}
		for _, rule := range r.Spec.Rules {
			for _, b := range rule.BackendRefs {
				if b.Port == nil || servicePort(string(b.Name), *b.Port) == nil {
					t.Errorf("route %s sends to %s, which sidecar.yaml's Services do not have", r.Name, b.Name)
					continue
				}
				if b.Name != "app" {
					continue
				}
				checked := false
				for _, sp := range policies {
					for _, tr := range sp.Spec.TargetRefs {
						checked = checked || (tr.Kind == "HTTPRoute" && string(tr.Name) == r.Name && sp.Spec.ExtAuth != nil)
					}
				}
				if !checked {
					t.Errorf("route %s sends to the app without an extAuth SecurityPolicy", r.Name)
				}
			}
		}
	}

	token := find[*gwapiv1.HTTPRoute](t, objs, "liveblocks-auth")
	m := token.Spec.Rules[0].Matches[0].Path
	if m == nil || m.Type == nil || *m.Type != gwapiv1.PathMatchExact || m.Value == nil || *m.Value != authPath {
		t.Errorf("liveblocks-auth must match the exact path %s", authPath)
	}
	var exact []string
	for _, m := range token.Spec.Rules[0].Matches[1:] {
		if m.Path != nil && m.Path.Type != nil && *m.Path.Type == gwapiv1.PathMatchExact && m.Path.Value != nil {
			exact = append(exact, *m.Path.Value)
		}
	}
	if !slices.Equal(exact, directoryPaths) {
		t.Errorf("liveblocks-auth must also match the directory's paths exactly: %v, want %v", exact, directoryPaths)
	}
	if b := token.Spec.Rules[0].BackendRefs; len(b) != 1 || b[0].Name != "lbauthz" || servicePort("lbauthz", *b[0].Port).TargetPort.String() != "authz-http" {
		t.Errorf("liveblocks-auth must go to lbauthz's HTTP listener")
	}

	sp := find[*egSecurityPolicy](t, objs, "lbauthz")
	ea := sp.Spec.ExtAuth
	if ea == nil || ea.GRPC == nil || len(ea.GRPC.BackendRefs) != 1 {
		t.Fatal("SecurityPolicy lbauthz must have extAuth.grpc with one backendRef")
	}
	b := ea.GRPC.BackendRefs[0]
	if b.Name != "lbauthz" || b.Port == nil || servicePort("lbauthz", *b.Port) == nil ||
		servicePort("lbauthz", *b.Port).TargetPort.String() != "authz-grpc" {
		t.Errorf("extAuth must call lbauthz's gRPC port, calls %s:%v", b.Name, b.Port)
	}
	if ea.FailOpen == nil || *ea.FailOpen {
		t.Error("failOpen must be set to false")
	}
	if ea.StatusOnError == nil || *ea.StatusOnError != 503 {
		t.Error("statusOnError must be 503")
	}
	if ea.Timeout == nil {
		t.Error("timeout must be explicit (Envoy Gateway's default is 10 s)")
	} else if d, err := time.ParseDuration(string(*ea.Timeout)); err != nil || d > time.Second {
		t.Errorf("timeout %q: want a short one for the pass-through", *ea.Timeout)
	}
	if ea.BodyToExtAuth != nil {
		t.Error("bodyToExtAuth would buffer every request body of the app")
	}

	ctp := find[*egClientTrafficPolicy](t, objs, "lbauthz-strip-identity")
	if h := ctp.Spec.Headers; h == nil || h.EarlyRequestHeaders == nil {
		t.Fatal("ClientTrafficPolicy must remove identity headers early")
	} else {
		for _, hdr := range identityHeaders {
			if !slices.Contains(h.EarlyRequestHeaders.Remove, hdr) {
				t.Errorf("earlyRequestHeaders.remove lacks %s", hdr)
			}
		}
		if h.WithUnderscoresAction == nil || *h.WithUnderscoresAction == "Allow" {
			t.Error("withUnderscoresAction must drop or reject x_user_id-style headers")
		}
	}
	for _, tr := range ctp.Spec.TargetRefs {
		if tr.Kind != "Gateway" || !slices.Contains(gateways, string(tr.Name)) {
			t.Errorf("ClientTrafficPolicy targets %s %s, not the routes' Gateway %v", tr.Kind, tr.Name, gateways)
		}
	}

	np := find[*networkingv1.NetworkPolicy](t, objs, "app-only-through-gateway")
	if !labelsMatch(np.Spec.PodSelector.MatchLabels, sidecar.deployment.Spec.Template.Labels) {
		t.Error("the NetworkPolicy must select the app's pods")
	}
	for _, rule := range np.Spec.Ingress {
		if len(rule.From) == 0 {
			t.Error("an ingress rule without `from` lets any pod reach the app directly")
		}
	}
}

// TestKubernetes_DecoderRejectsBrokenManifests proves the strict decoding can
// fail, for each kind of type used.
func TestKubernetes_DecoderRejectsBrokenManifests(t *testing.T) {
	for _, tc := range []struct{ file, name, old, new string }{
		{"kubernetes/sidecar.yaml", "misspelt field", "readOnlyRootFilesystem: true", "readOnlyRootFilesytem: true"},
		{"kubernetes/sidecar.yaml", "wrong type", "replicas: 2", "replicas: two"},
		{"kubernetes/sidecar.yaml", "duplicate key", "  replicas: 2\n", "  replicas: 2\n  replicas: 3\n"},
		{"kubernetes/istio.yaml", "misspelt Istio field", "action: CUSTOM", "acton: CUSTOM"},
		{"kubernetes/istio.yaml", "unknown enum value", "resolution: STATIC", "resolution: STATIK"},
		{"kubernetes/envoy-gateway.yaml", "misspelt Gateway API field", "parentRefs:\n  - name: eg\n  rules:\n  - matches:\n    - path:\n        type: Exact", "parentRef:\n  - name: eg\n  rules:\n  - matches:\n    - path:\n        type: Exact"},
		{"kubernetes/envoy-gateway.yaml", "misspelt Envoy Gateway field", "failOpen: false", "failopen: false"},
		{"kubernetes/envoy-gateway.yaml", "unknown kind", "kind: NetworkPolicy", "kind: NetworkPolicies"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bad := mustReplaceOnce(t, string(readConfig(t, tc.file)), tc.old, tc.new)
			if _, err := decodeManifests(t, tc.file, []byte(bad)); err == nil {
				t.Fatalf("%s with a %s decoded without error", tc.file, tc.name)
			} else {
				t.Logf("rejected as expected: %v", err)
			}
		})
	}

	// The mesh config sits in a string inside the ConfigMap: check that its
	// decoding is strict too.
	cm := find[*corev1.ConfigMap](t, mustDecodeManifests(t, "kubernetes/istio.yaml"), "istio")
	bad := mustReplaceOnce(t, cm.Data["mesh"], "failOpen: false", "failOpn: false")
	if err := protojson.Unmarshal(yamlToJSON(t, "mesh", []byte(bad)), &meshv1alpha1.MeshConfig{}); err == nil {
		t.Error("a mesh config with a misspelt field decoded without error")
	}
	// And the lbauthz config in sidecar.yaml's ConfigMap.
	cfg := find[*corev1.ConfigMap](t, mustDecodeManifests(t, "kubernetes/sidecar.yaml"), "lbauthz").Data["config.yaml"]
	if _, err := config.Parse("bad", []byte(mustReplaceOnce(t, cfg, "auth_path:", "authpath:")), func(string) string { return "" }); err == nil {
		t.Error("an lbauthz config with a misspelt field decoded without error")
	}
}
