package deploy_test

import (
	"slices"
	"testing"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	tlsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	meshv1alpha1 "istio.io/api/mesh/v1alpha1"
	networkingv1alpha3 "istio.io/api/networking/v1alpha3"
	corev1 "k8s.io/api/core/v1"
	gwapiv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// The mTLS variants of the Envoy, Istio and Envoy Gateway configs, decoded
// into their real types. Every variant names lbauthz's certificate
// lbauthzServerName, as the nginx and Caddy variants do (mtls_test.go).

func TestEnvoyMTLS_LbauthzClusterVerifiesLbauthzAndShowsAClientCertificate(t *testing.T) {
	plain, mtls := mustLoadEnvoy(t, "envoy/envoy.yaml"), mustLoadEnvoy(t, "envoy/envoy-mtls.yaml")
	if got, want := len(mtls.GetStaticResources().GetListeners()), len(plain.GetStaticResources().GetListeners()); got != want || got == 0 {
		t.Fatalf("envoy-mtls.yaml has %d listeners, envoy.yaml %d", got, want)
	}
	for i, l := range plain.GetStaticResources().GetListeners() {
		if !proto.Equal(l, mtls.GetStaticResources().GetListeners()[i]) {
			t.Fatalf("listener %q differs from envoy.yaml's: only the lbauthz cluster may", l.GetName())
		}
	}
	c := cluster(t, mtls, "lbauthz")
	ts := c.GetTransportSocket()
	if ts.GetName() != "envoy.transport_sockets.tls" {
		t.Fatalf("the lbauthz cluster's transport socket is %q, want envoy.transport_sockets.tls", ts.GetName())
	}
	up := mustUnpack[*tlsv3.UpstreamTlsContext](t, "lbauthz transport socket", ts.GetTypedConfig())
	if up.GetSni() != lbauthzServerName {
		t.Errorf("SNI %q, want %q", up.GetSni(), lbauthzServerName)
	}
	ctx := up.GetCommonTlsContext()
	if !slices.Equal(ctx.GetAlpnProtocols(), []string{"h2"}) {
		t.Errorf("ALPN %v, want [h2]: lbauthz's gRPC listener offers h2 only", ctx.GetAlpnProtocols())
	}
	if certs := ctx.GetTlsCertificates(); len(certs) != 1 ||
		certs[0].GetCertificateChain().GetFilename() != "/etc/envoy/tls/envoy-client.crt" ||
		certs[0].GetPrivateKey().GetFilename() != "/etc/envoy/tls/envoy-client.key" {
		t.Errorf("client certificate %v, want the pair under /etc/envoy/tls named in the comments", certs)
	}
	vc := ctx.GetValidationContext()
	if vc.GetTrustedCa().GetFilename() != "/etc/envoy/tls/ca.crt" {
		t.Errorf("trusted CA %q, want /etc/envoy/tls/ca.crt: without it lbauthz's certificate is not verified", vc.GetTrustedCa().GetFilename())
	}
	sans := vc.GetMatchTypedSubjectAltNames()
	if len(sans) != 1 || sans[0].GetSanType() != tlsv3.SubjectAltNameMatcher_DNS || sans[0].GetMatcher().GetExact() != lbauthzServerName {
		t.Errorf("SAN matchers %v, want DNS %q exactly: without one any certificate of the CA would do", sans, lbauthzServerName)
	}
	if ep := c.GetLoadAssignment().GetEndpoints()[0].GetLbEndpoints()[0].GetEndpoint().GetAddress().GetSocketAddress(); ep.GetAddress() != lbauthzServerName || ep.GetPortValue() != 9191 {
		t.Errorf("the cluster calls %s:%d, want %s:9191", ep.GetAddress(), ep.GetPortValue(), lbauthzServerName)
	}
	if c.GetType() != clusterv3.Cluster_STRICT_DNS {
		t.Errorf("cluster type %v, want STRICT_DNS for a host name", c.GetType())
	}
	// Everything else (HTTP/2, circuit breakers) is envoy.yaml's.
	a, b := proto.Clone(cluster(t, plain, "lbauthz")).(*clusterv3.Cluster), proto.Clone(c).(*clusterv3.Cluster)
	for _, x := range []*clusterv3.Cluster{a, b} {
		x.TransportSocket, x.LoadAssignment, x.ClusterDiscoveryType, x.ConnectTimeout = nil, nil, nil, nil
	}
	if !proto.Equal(a, b) {
		t.Errorf("the lbauthz cluster differs from envoy.yaml's beyond its address and TLS:\n%v\n%v", a, b)
	}
}

func TestIstioMTLS_ProviderAndDestinationRuleAgree(t *testing.T) {
	objs := mustDecodeManifests(t, "kubernetes/istio-mtls.yaml")
	cm := find[*corev1.ConfigMap](t, objs, "istio")
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
	if provider == nil || provider.GetFailOpen() || provider.GetStatusOnError() != "503" {
		t.Fatalf("provider %v: want lbauthz, failing closed with 503", provider)
	}
	dr := find[*istioObject](t, objs, "lbauthz-mtls").Spec.(*networkingv1alpha3.DestinationRule)
	if dr.GetHost() != provider.GetService() {
		t.Fatalf("the DestinationRule is for %q, the provider calls %q", dr.GetHost(), provider.GetService())
	}
	var tls *networkingv1alpha3.ClientTLSSettings
	for _, p := range dr.GetTrafficPolicy().GetPortLevelSettings() {
		if p.GetPort().GetNumber() == provider.GetPort() {
			tls = p.GetTls()
		}
	}
	if tls == nil {
		t.Fatalf("no TLS settings for the provider's port %d", provider.GetPort())
	}
	if tls.GetMode() != networkingv1alpha3.ClientTLSSettings_MUTUAL {
		t.Errorf("mode %v, want MUTUAL", tls.GetMode())
	}
	if tls.GetSni() != lbauthzServerName || !slices.Equal(tls.GetSubjectAltNames(), []string{lbauthzServerName}) {
		t.Errorf("SNI %q and SANs %v, want %q for both", tls.GetSni(), tls.GetSubjectAltNames(), lbauthzServerName)
	}
	if tls.GetClientCertificate() == "" || tls.GetPrivateKey() == "" || tls.GetCaCertificates() == "" {
		t.Errorf("MUTUAL needs a client certificate, its key and the CA: %v", tls)
	}
}

func TestEnvoyGatewayMTLS_BackendTLSPolicyCoversTheExtAuthBackend(t *testing.T) {
	sidecar := loadSidecar(t)
	svc := find[*corev1.Service](t, sidecar.objs, "lbauthz")
	objs := mustDecodeManifests(t, "kubernetes/envoy-gateway-mtls.yaml")
	sp := find[*egSecurityPolicy](t, objs, "lbauthz")
	if sp.Spec.ExtAuth == nil || sp.Spec.ExtAuth.GRPC == nil || len(sp.Spec.ExtAuth.GRPC.BackendRefs) != 1 {
		t.Fatal("the SecurityPolicy has no single gRPC extAuth backend")
	}
	if fo := sp.Spec.ExtAuth.FailOpen; fo == nil || *fo {
		t.Error("extAuth must fail closed (failOpen: false)")
	}
	ref := sp.Spec.ExtAuth.GRPC.BackendRefs[0]
	var portName string
	for _, p := range svc.Spec.Ports {
		if ref.Port != nil && p.Port == int32(*ref.Port) {
			portName = p.Name
		}
	}
	if string(ref.Name) != svc.Name || portName == "" {
		t.Fatalf("the extAuth backend %s:%v is not a port of sidecar.yaml's lbauthz Service", ref.Name, ref.Port)
	}
	btp := find[*gwapiv1.BackendTLSPolicy](t, objs, "lbauthz-grpc")
	if len(btp.Spec.TargetRefs) != 1 {
		t.Fatalf("BackendTLSPolicy targets %v, want the lbauthz Service only", btp.Spec.TargetRefs)
	}
	tr := btp.Spec.TargetRefs[0]
	if tr.Kind != "Service" || string(tr.Name) != svc.Name || tr.SectionName == nil || string(*tr.SectionName) != portName {
		t.Errorf("BackendTLSPolicy targets %s %s section %v, want Service %s section %q (the extAuth port)", tr.Kind, tr.Name, tr.SectionName, svc.Name, portName)
	}
	v := btp.Spec.Validation
	if string(v.Hostname) != lbauthzServerName {
		t.Errorf("hostname (SNI and the name checked) %q, want %q", v.Hostname, lbauthzServerName)
	}
	if len(v.SubjectAltNames) != 1 || string(v.SubjectAltNames[0].Hostname) != lbauthzServerName {
		t.Errorf("subjectAltNames %v, want %q", v.SubjectAltNames, lbauthzServerName)
	}
	if len(v.CACertificateRefs) != 1 || v.CACertificateRefs[0].Kind != "ConfigMap" || v.WellKnownCACertificates != nil {
		t.Errorf("the CA must be lbauthz's own (a ConfigMap), not the system's: %v", v)
	}
	ep := find[*egEnvoyProxy](t, objs, "lbauthz-client-cert")
	if bt := ep.Spec.BackendTLS; bt == nil || bt.ClientCertificateRef == nil || bt.ClientCertificateRef.Name == "" ||
		bt.ClientCertificateRef.Kind == nil || *bt.ClientCertificateRef.Kind != "Secret" {
		t.Error("the EnvoyProxy shows no client certificate (backendTLS.clientCertificateRef to a Secret)")
	}
}
