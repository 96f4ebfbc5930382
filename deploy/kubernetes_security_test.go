package deploy_test

import (
	"encoding/json"
	"regexp"
	"slices"
	"testing"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	earlyheadermutationv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/http/early_header_mutation/header_mutation/v3"
	"google.golang.org/protobuf/encoding/protojson"
	networkingv1alpha3 "istio.io/api/networking/v1alpha3"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"

	"github.com/lbauthz/lbauthz/authz/config"
)

// TestKubernetesSidecar_TheAppsIdentityHeadersAreAllConfigured reads every
// x-user-* header sidecar.yaml names (its comments say which ones the app
// reads) and wants each configured in upstream_headers, so that lbauthz sets
// or removes it on every request; and the sample's config raises no
// warning (no trusted peer wider than a proxy's addresses).
func TestKubernetesSidecar_TheAppsIdentityHeadersAreAllConfigured(t *testing.T) {
	s := loadSidecar(t)
	h := s.config.UpstreamHeaders
	configured := []string{h.UserId, h.GroupIds, h.UserInfo}
	named := regexp.MustCompile(`x-user-[a-z]+`).FindAllString(string(readConfig(t, "kubernetes/sidecar.yaml")), -1)
	for _, name := range append(named, identityHeaders...) {
		if !slices.Contains(configured, name) {
			t.Errorf("%s is named in sidecar.yaml but not configured in upstream_headers %v", name, configured)
		}
	}
	for _, w := range config.Warnings(s.config) {
		t.Errorf("the sample's config: %s", w)
	}
}

// TestIstio_IdentityHeadersAreRemovedBeforeTheCheck decodes the EnvoyFilter
// of istio.yaml into Istio's type, then its patch into Envoy's listener
// filter and HTTP connection manager (strictly, every typed_config
// resolved, the header mutation validated as Envoy does), and wants every
// identity header and its underscore spelling removed early, and headers
// with underscores dropped, in the app pods' inbound proxy.
func TestIstio_IdentityHeadersAreRemovedBeforeTheCheck(t *testing.T) {
	sidecar := loadSidecar(t)
	objs := mustDecodeManifests(t, "kubernetes/istio.yaml")
	ef := find[*istioObject](t, objs, "lbauthz-strip-identity").Spec.(*networkingv1alpha3.EnvoyFilter)
	if !labelsMatch(ef.GetWorkloadSelector().GetLabels(), sidecar.deployment.Spec.Template.Labels) {
		t.Errorf("the EnvoyFilter selects %v, not the app's pods", ef.GetWorkloadSelector().GetLabels())
	}
	if len(ef.GetConfigPatches()) != 1 {
		t.Fatalf("want one config patch, got %d", len(ef.GetConfigPatches()))
	}
	p := ef.GetConfigPatches()[0]
	if p.GetApplyTo() != networkingv1alpha3.EnvoyFilter_NETWORK_FILTER || p.GetMatch().GetContext() != networkingv1alpha3.EnvoyFilter_SIDECAR_INBOUND ||
		p.GetMatch().GetListener().GetFilterChain().GetFilter().GetName() != "envoy.filters.network.http_connection_manager" ||
		p.GetPatch().GetOperation() != networkingv1alpha3.EnvoyFilter_Patch_MERGE {
		t.Fatalf("the patch must MERGE into the inbound HTTP connection manager: %v", p)
	}
	js, err := json.Marshal(p.GetPatch().GetValue())
	if err != nil {
		t.Fatal(err)
	}
	filter := &listenerv3.Filter{}
	if err := protojson.Unmarshal(js, filter); err != nil {
		t.Fatalf("the patch is not an Envoy listener filter: %v", err)
	}
	hcm := &hcmv3.HttpConnectionManager{}
	if err := filter.GetTypedConfig().UnmarshalTo(hcm); err != nil {
		t.Fatalf("the patch's typed_config is not an HTTP connection manager: %v", err)
	}
	// A MERGE patch is partial (no stat_prefix, no routes), so only the
	// messages it adds whole are validated.
	if got := hcm.GetCommonHttpProtocolOptions().GetHeadersWithUnderscoresAction(); got != corev3.HttpProtocolOptions_DROP_HEADER {
		t.Errorf("headers_with_underscores_action %v, want DROP_HEADER", got)
	}
	var removed []string
	for _, ext := range hcm.GetEarlyHeaderMutationExtensions() {
		hm := &earlyheadermutationv3.HeaderMutation{}
		if err := ext.GetTypedConfig().UnmarshalTo(hm); err != nil {
			t.Fatalf("early header mutation %s: %v", ext.GetName(), err)
		}
		if err := ext.ValidateAll(); err != nil {
			t.Fatalf("early header mutation %s: %v", ext.GetName(), err)
		}
		if err := hm.ValidateAll(); err != nil {
			t.Fatalf("early header mutation %s: %v", ext.GetName(), err)
		}
		for _, m := range hm.GetMutations() {
			if r := m.GetRemove(); r != "" {
				removed = append(removed, r)
			}
		}
	}
	h := sidecar.config.UpstreamHeaders
	for _, name := range []string{h.UserId, h.GroupIds, h.UserInfo} {
		for _, spelling := range []string{name, regexp.MustCompile(`-`).ReplaceAllString(name, "_")} {
			if !slices.Contains(removed, spelling) {
				t.Errorf("%s is not removed before the Check (removed: %v)", spelling, removed)
			}
		}
	}
}

// TestKubernetes_LbauthzPortsAdmitOnlyTheGateway decodes the NetworkPolicies
// of sidecar.yaml with each recipe (the real k8s.io/api types) and checks,
// for the app's pods, that some policy selects them for ingress (or every
// port would be open), that no rule admits lbauthz's gRPC or HTTP port
// (/metrics) from anywhere but a named namespace or pod set, and that the
// app's own port stays reachable through the recipe's proxy.
func TestKubernetes_LbauthzPortsAdmitOnlyTheGateway(t *testing.T) {
	sidecar := loadSidecar(t)
	ports := map[string]int32{}
	for _, name := range []string{"authz-grpc", "authz-http"} {
		ports[name] = containerPort(t, sidecar.lbauthz, name)
	}
	appPort := containerPort(t, container(t, sidecar.deployment, "app"), "http")
	podLabels := sidecar.deployment.Spec.Template.Labels
	for _, recipe := range []string{"kubernetes/istio.yaml", "kubernetes/envoy-gateway.yaml"} {
		t.Run(recipe, func(t *testing.T) {
			var policies []*networkingv1.NetworkPolicy
			for _, np := range append(all[*networkingv1.NetworkPolicy](sidecar.objs), all[*networkingv1.NetworkPolicy](mustDecodeManifests(t, recipe))...) {
				if labelsMatch(np.Spec.PodSelector.MatchLabels, podLabels) && slices.Contains(np.Spec.PolicyTypes, networkingv1.PolicyTypeIngress) {
					policies = append(policies, np)
				}
			}
			if len(policies) == 0 {
				t.Fatal("no NetworkPolicy selects the app's pods for ingress: every port is open to every pod")
			}
			appReachable := false
			for _, np := range policies {
				for i, rule := range np.Spec.Ingress {
					for name, number := range ports {
						if admitsPort(rule, name, number) && !namedSourcesOnly(rule) {
							t.Errorf("NetworkPolicy %s rule %d admits %s from anywhere", np.Name, i, name)
						}
					}
					appReachable = appReachable || admitsPort(rule, "http", appPort)
				}
			}
			if !appReachable {
				t.Error("no NetworkPolicy admits the app's own port")
			}
		})
	}
}

// admitsPort reports whether an ingress rule admits a container port, by
// name or number (a rule without ports admits every port).
func admitsPort(rule networkingv1.NetworkPolicyIngressRule, name string, number int32) bool {
	if len(rule.Ports) == 0 {
		return true
	}
	for _, p := range rule.Ports {
		if p.Port == nil || p.Port.String() == name || (p.Port.IntVal == number && p.Port.StrVal == "") {
			if p.Protocol == nil || *p.Protocol == corev1.ProtocolTCP {
				return true
			}
		}
	}
	return false
}

// namedSourcesOnly reports whether every source of a rule is a namespace or
// pod set named by labels, never an address block or "all".
func namedSourcesOnly(rule networkingv1.NetworkPolicyIngressRule) bool {
	if len(rule.From) == 0 {
		return false
	}
	for _, peer := range rule.From {
		if peer.IPBlock != nil {
			return false
		}
		ns, pods := peer.NamespaceSelector, peer.PodSelector
		if (ns == nil || len(ns.MatchLabels)+len(ns.MatchExpressions) == 0) && (pods == nil || len(pods.MatchLabels)+len(pods.MatchExpressions) == 0) {
			return false
		}
	}
	return true
}
