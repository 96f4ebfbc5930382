package deploy_test

import (
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"sigs.k8s.io/yaml"
)

// The ingress-nginx recipe is checked as the API server would store it
// (decoded strictly into k8s.io/api types) and against the contract of
// lbauthz's nginx door: ingress-nginx itself is not run here.
func TestIngressNginx_EveryAppRequestIsCheckedAndTheTokenPathGoesToLbauthz(t *testing.T) {
	var ings []*networkingv1.Ingress
	var cm *corev1.ConfigMap
	for i, doc := range yamlDocs(t, "ingress-nginx.yaml", readConfig(t, "kubernetes/ingress-nginx.yaml")) {
		j, err := yaml.YAMLToJSONStrict(doc)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(j), `"kind":"ConfigMap"`) {
			cm = &corev1.ConfigMap{}
			if err := decodeStrictJSON(j, cm); err != nil {
				t.Fatalf("document %d: %v", i+1, err)
			}
			continue
		}
		ing := &networkingv1.Ingress{}
		if err := decodeStrictJSON(j, ing); err != nil {
			t.Fatalf("document %d: %v", i+1, err)
		}
		ings = append(ings, ing)
	}
	if len(ings) != 2 || cm == nil {
		t.Fatalf("%d Ingresses and ConfigMap %v, want 2 and one", len(ings), cm != nil)
	}
	app, token := ings[0], ings[1]
	a := app.Annotations
	if url := a["nginx.ingress.kubernetes.io/auth-url"]; !strings.HasSuffix(url, ":8181/check/nginx") || !strings.HasPrefix(url, "http://lbauthz.") {
		t.Errorf("auth-url %q must be lbauthz's /check/nginx on its HTTP port", url)
	}
	headers := strings.Split(a["nginx.ingress.kubernetes.io/auth-response-headers"], ",")
	for _, h := range identityHeaders {
		found := false
		for _, got := range headers {
			found = found || strings.EqualFold(strings.TrimSpace(got), h)
		}
		if !found {
			t.Errorf("auth-response-headers %v lacks %s: a client could send its own", headers, h)
		}
	}
	ref := a["nginx.ingress.kubernetes.io/auth-proxy-set-headers"]
	if ref != "shop/"+cm.Name || cm.Data["X-Original-URI"] != "$request_uri" {
		t.Errorf("auth-proxy-set-headers %q with %v: the nginx door needs X-Original-URI $request_uri", ref, cm.Data)
	}
	if a["nginx.ingress.kubernetes.io/auth-method"] != "GET" {
		t.Error("the check is a GET without a body")
	}
	if p := app.Spec.Rules[0].HTTP.Paths[0]; p.Path != "/" || *p.PathType != networkingv1.PathTypePrefix || p.Backend.Service.Name != "app" {
		t.Errorf("the app Ingress must send every path to the app: %+v", p)
	}

	if _, ok := token.Annotations["nginx.ingress.kubernetes.io/auth-url"]; ok {
		t.Error("the token path must not be checked by auth-url: lbauthz answers it itself")
	}
	p := token.Spec.Rules[0].HTTP.Paths[0]
	if p.Path != authPath || *p.PathType != networkingv1.PathTypeExact || p.Backend.Service.Name != "lbauthz" || p.Backend.Service.Port.Number != 8181 {
		t.Errorf("token route %+v, want Exact %s to lbauthz:8181", p, authPath)
	}
	var dir []string
	for _, p := range token.Spec.Rules[0].HTTP.Paths[1:] {
		if *p.PathType == networkingv1.PathTypeExact && p.Backend.Service.Name == "lbauthz" && p.Backend.Service.Port.Number == 8181 {
			dir = append(dir, p.Path)
		}
	}
	if !slices.Equal(dir, directoryPaths) {
		t.Errorf("the directory's paths %v, want Exact %v to lbauthz:8181", dir, directoryPaths)
	}
	if token.Spec.Rules[0].Host != app.Spec.Rules[0].Host {
		t.Error("the token path must be on the app's host (the session cookie is the app's)")
	}
}
