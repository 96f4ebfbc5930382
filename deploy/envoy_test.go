package deploy_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	bootstrapv3 "github.com/envoyproxy/go-control-plane/envoy/config/bootstrap/v3"
	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	extauthzv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_authz/v3"
	headermutationv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/header_mutation/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/router/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	upstreamhttpv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/upstreams/http/v3"
	matcherv3 "github.com/envoyproxy/go-control-plane/envoy/type/matcher/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/known/anypb"
)

// The Envoy configs cannot be run here (no Envoy binary can be installed), so
// these tests do what Envoy does when it loads a bootstrap: parse it with
// unknown fields rejected, resolve every typed_config to its extension's
// message, and run the protoc-gen-validate rules Envoy enforces. Then they
// check the points that make the config safe.

const authPath = "/api/liveblocks-auth"

// loadEnvoyBootstrap parses an Envoy bootstrap the strict way and returns it
// with every message packed in a google.protobuf.Any, unpacked.
func loadEnvoyBootstrap(t *testing.T, name string, yamlText []byte) (*bootstrapv3.Bootstrap, error) {
	t.Helper()
	bs := &bootstrapv3.Bootstrap{}
	// Default options: unknown fields and unknown Any types are errors.
	if err := protojson.Unmarshal(yamlToJSON(t, name, yamlText), bs); err != nil {
		return nil, err
	}
	msgs, err := unpackAnys(bs)
	if err != nil {
		return nil, err
	}
	for _, m := range append([]proto.Message{bs}, msgs...) {
		v, ok := m.(interface{ ValidateAll() error })
		if !ok {
			t.Fatalf("%s: %s has no ValidateAll method", name, m.ProtoReflect().Descriptor().FullName())
		}
		if err := v.ValidateAll(); err != nil {
			return nil, err
		}
	}
	return bs, nil
}

// unpackAnys walks m and returns the message inside every Any, recursively
// (an Any inside an unpacked message is unpacked too). ValidateAll on a
// message stops at its Any fields, so each unpacked message must be
// validated on its own.
func unpackAnys(m proto.Message) ([]proto.Message, error) {
	var out []proto.Message
	var walk func(protoreflect.Message) error
	walk = func(m protoreflect.Message) error {
		if a, ok := m.Interface().(*anypb.Any); ok {
			inner, err := a.UnmarshalNew()
			if err != nil {
				return err
			}
			out = append(out, inner)
			return walk(inner.ProtoReflect())
		}
		var err error
		m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
			switch {
			case fd.IsMap():
				if fd.MapValue().Message() == nil {
					return true
				}
				v.Map().Range(func(_ protoreflect.MapKey, mv protoreflect.Value) bool {
					err = walk(mv.Message())
					return err == nil
				})
			case fd.IsList():
				if fd.Message() == nil {
					return true
				}
				for i := 0; i < v.List().Len() && err == nil; i++ {
					err = walk(v.List().Get(i).Message())
				}
			case fd.Message() != nil:
				err = walk(v.Message())
			}
			return err == nil
		})
		return err
	}
	return out, walk(m.ProtoReflect())
}

// deprecatedFieldsSet lists the deprecated fields set in m and in every
// message packed in an Any inside it. Envoy still loads most of them, with a
// warning, but a config shipped to operators should not lean on them.
func deprecatedFieldsSet(t *testing.T, m proto.Message) []string {
	t.Helper()
	inner, err := unpackAnys(m)
	if err != nil {
		t.Fatal(err)
	}
	var found []string
	var walk func(protoreflect.Message)
	walk = func(m protoreflect.Message) {
		if _, ok := m.Interface().(*anypb.Any); ok {
			return // its content is in inner
		}
		m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
			if opts, ok := fd.Options().(*descriptorpb.FieldOptions); ok && opts.GetDeprecated() {
				found = append(found, string(fd.FullName()))
			}
			switch {
			case fd.IsMap():
				if fd.MapValue().Message() != nil {
					v.Map().Range(func(_ protoreflect.MapKey, mv protoreflect.Value) bool {
						walk(mv.Message())
						return true
					})
				}
			case fd.IsList():
				if fd.Message() != nil {
					for i := 0; i < v.List().Len(); i++ {
						walk(v.List().Get(i).Message())
					}
				}
			case fd.Message() != nil:
				walk(v.Message())
			}
			return true
		})
	}
	for _, m := range append([]proto.Message{m}, inner...) {
		walk(m.ProtoReflect())
	}
	return found
}

func mustLoadEnvoy(t *testing.T, path string) *bootstrapv3.Bootstrap {
	t.Helper()
	bs, err := loadEnvoyBootstrap(t, path, readConfig(t, path))
	if err != nil {
		t.Fatalf("%s does not load as an Envoy bootstrap: %v", path, err)
	}
	if d := deprecatedFieldsSet(t, bs); len(d) > 0 {
		t.Errorf("%s sets deprecated fields: %v", path, d)
	}
	return bs
}

func mustUnpack[T proto.Message](t *testing.T, what string, a *anypb.Any) T {
	t.Helper()
	m, err := a.UnmarshalNew()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	v, ok := m.(T)
	if !ok {
		t.Fatalf("%s is a %s", what, m.ProtoReflect().Descriptor().FullName())
	}
	return v
}

// ingress returns the listener's HTTP connection manager.
func ingress(t *testing.T, bs *bootstrapv3.Bootstrap) *hcmv3.HttpConnectionManager {
	t.Helper()
	ls := bs.GetStaticResources().GetListeners()
	if len(ls) != 1 || len(ls[0].GetFilterChains()) != 1 || len(ls[0].GetFilterChains()[0].GetFilters()) != 1 {
		t.Fatalf("want one listener with one filter chain holding one network filter")
	}
	return mustUnpack[*hcmv3.HttpConnectionManager](t, "the network filter", ls[0].GetFilterChains()[0].GetFilters()[0].GetTypedConfig())
}

func httpFilterNames(hcm *hcmv3.HttpConnectionManager) []string {
	var names []string
	for _, f := range hcm.GetHttpFilters() {
		names = append(names, f.GetName())
	}
	return names
}

func httpFilter(t *testing.T, hcm *hcmv3.HttpConnectionManager, name string) *hcmv3.HttpFilter {
	t.Helper()
	for _, f := range hcm.GetHttpFilters() {
		if f.GetName() == name {
			return f
		}
	}
	t.Fatalf("no HTTP filter named %q (have %v)", name, httpFilterNames(hcm))
	return nil
}

func extAuthz(t *testing.T, hcm *hcmv3.HttpConnectionManager, name string) *extauthzv3.ExtAuthz {
	t.Helper()
	return mustUnpack[*extauthzv3.ExtAuthz](t, "filter "+name, httpFilter(t, hcm, name).GetTypedConfig())
}

func routes(hcm *hcmv3.HttpConnectionManager) []*routev3.Route {
	var rs []*routev3.Route
	for _, vh := range hcm.GetRouteConfig().GetVirtualHosts() {
		rs = append(rs, vh.GetRoutes()...)
	}
	return rs
}

func routeNamed(t *testing.T, hcm *hcmv3.HttpConnectionManager, name string) *routev3.Route {
	t.Helper()
	for _, r := range routes(hcm) {
		if r.GetName() == name {
			return r
		}
	}
	t.Fatalf("no route named %q", name)
	return nil
}

// perFilter returns a route's per-filter config for a filter: whether the
// route disables the filter, and the ext_authz per-route settings if any.
func perFilter(t *testing.T, cfg map[string]*anypb.Any, filter string) (disabled bool, settings *extauthzv3.ExtAuthzPerRoute) {
	t.Helper()
	a, ok := cfg[filter]
	if !ok {
		return false, nil
	}
	m, err := a.UnmarshalNew()
	if err != nil {
		t.Fatalf("per-filter config for %s: %v", filter, err)
	}
	if fc, ok := m.(*routev3.FilterConfig); ok {
		if fc.GetDisabled() {
			return true, nil
		}
		if fc.GetConfig() == nil {
			return false, nil
		}
		m = mustUnpack[proto.Message](t, "FilterConfig.config for "+filter, fc.GetConfig())
	}
	s, ok := m.(*extauthzv3.ExtAuthzPerRoute)
	if !ok {
		t.Fatalf("per-filter config for %s is a %s", filter, m.ProtoReflect().Descriptor().FullName())
	}
	return s.GetDisabled(), s
}

func cluster(t *testing.T, bs *bootstrapv3.Bootstrap, name string) *clusterv3.Cluster {
	t.Helper()
	for _, c := range bs.GetStaticResources().GetClusters() {
		if c.GetName() == name {
			return c
		}
	}
	t.Fatalf("no cluster named %q", name)
	return nil
}

// assertIdentityStrippedBeforeChecks checks the defense in depth every Envoy
// config needs: the client's identity headers are removed by the first HTTP
// filter, and nothing at route level removes them (route-level removal runs
// in the router, after ext_authz, and would delete lbauthz's headers).
func assertIdentityStrippedBeforeChecks(t *testing.T, hcm *hcmv3.HttpConnectionManager) {
	t.Helper()
	names := httpFilterNames(hcm)
	if len(names) == 0 || names[0] != "strip-identity-headers" {
		t.Fatalf("the first HTTP filter must strip identity headers; filters are %v", names)
	}
	if names[len(names)-1] != "envoy.filters.http.router" {
		t.Errorf("the last HTTP filter must be the router; filters are %v", names)
	}
	hm := mustUnpack[*headermutationv3.HeaderMutation](t, "strip-identity-headers", hcm.GetHttpFilters()[0].GetTypedConfig())
	var removed []string
	for _, m := range hm.GetMutations().GetRequestMutations() {
		removed = append(removed, strings.ToLower(m.GetRemove()))
	}
	for _, h := range identityHeaders {
		if !slices.Contains(removed, h) {
			t.Errorf("strip-identity-headers does not remove %s (removes %v)", h, removed)
		}
	}

	if a := hcm.GetCommonHttpProtocolOptions().GetHeadersWithUnderscoresAction(); a == corev3.HttpProtocolOptions_ALLOW {
		t.Error("headers with underscores must be dropped or rejected: x_user_id reaches CGI-style apps as HTTP_X_USER_ID")
	}

	rc := hcm.GetRouteConfig()
	checkLate := func(where string, removed []string) {
		for _, h := range removed {
			if slices.Contains(identityHeaders, strings.ToLower(h)) {
				t.Errorf("%s removes %s in request_headers_to_remove: that runs after ext_authz and deletes lbauthz's identity", where, h)
			}
		}
	}
	checkLate("route_config", rc.GetRequestHeadersToRemove())
	for _, vh := range rc.GetVirtualHosts() {
		checkLate("virtual host "+vh.GetName(), vh.GetRequestHeadersToRemove())
		for _, r := range vh.GetRoutes() {
			checkLate("route "+r.GetName(), r.GetRequestHeadersToRemove())
		}
	}
}

func assertFailsClosed(t *testing.T, name string, ea *extauthzv3.ExtAuthz) {
	t.Helper()
	if ea.GetFailureModeAllow() {
		t.Errorf("%s: failure_mode_allow must be false (fail closed)", name)
	}
	if got := ea.GetStatusOnError().GetCode(); got != typev3.StatusCode_ServiceUnavailable {
		t.Errorf("%s: status_on_error is %v, want 503 so the Liveblocks client retries", name, got)
	}
	if ea.GetWithRequestBody() != nil {
		t.Errorf("%s: with_request_body at filter level buffers every request body; set it per route", name)
	}
}

func TestEnvoyGRPC_LoadsAsStrictBootstrap(t *testing.T) {
	mustLoadEnvoy(t, "envoy/envoy.yaml")
}

func TestEnvoyHTTP_LoadsAsStrictBootstrap(t *testing.T) {
	mustLoadEnvoy(t, "envoy/envoy-http.yaml")
}

func TestEnvoyGRPC_IdentityHeadersStrippedBeforeTheCheck(t *testing.T) {
	assertIdentityStrippedBeforeChecks(t, ingress(t, mustLoadEnvoy(t, "envoy/envoy.yaml")))
}

func TestEnvoyHTTP_IdentityHeadersStrippedBeforeTheCheck(t *testing.T) {
	assertIdentityStrippedBeforeChecks(t, ingress(t, mustLoadEnvoy(t, "envoy/envoy-http.yaml")))
}

func TestEnvoyGRPC_ChecksFailClosedWithTimeoutsSet(t *testing.T) {
	hcm := ingress(t, mustLoadEnvoy(t, "envoy/envoy.yaml"))
	for _, tc := range []struct {
		filter, statPrefix string
		min, max           time.Duration
	}{
		// The token endpoint calls Liveblocks: seconds, but under the
		// client's own 10 s.
		{"lbauthz-liveblocks-auth", "liveblocks_auth", time.Second, 10 * time.Second},
		// The pass-through sits in front of every request.
		{"lbauthz", "passthrough", 50 * time.Millisecond, time.Second},
	} {
		ea := extAuthz(t, hcm, tc.filter)
		assertFailsClosed(t, tc.filter, ea)
		if ea.GetTransportApiVersion().String() != "V3" {
			t.Errorf("%s: transport_api_version must be V3", tc.filter)
		}
		if ea.GetStatPrefix() != tc.statPrefix {
			t.Errorf("%s: stat_prefix %q, want %q", tc.filter, ea.GetStatPrefix(), tc.statPrefix)
		}
		gs := ea.GetGrpcService()
		if gs.GetEnvoyGrpc().GetClusterName() != "lbauthz" {
			t.Errorf("%s: must call the lbauthz cluster over Envoy gRPC", tc.filter)
		}
		if gs.GetTimeout() == nil {
			t.Errorf("%s: the Check timeout must be explicit", tc.filter)
			continue
		}
		if d := gs.GetTimeout().AsDuration(); d < tc.min || d > tc.max {
			t.Errorf("%s: Check timeout %v outside [%v, %v]", tc.filter, d, tc.min, tc.max)
		}
	}
	if !httpFilter(t, hcm, "lbauthz-liveblocks-auth").GetDisabled() {
		t.Error("lbauthz-liveblocks-auth must be disabled by default and enabled on the token route only")
	}
	if httpFilter(t, hcm, "lbauthz").GetDisabled() {
		t.Error("the pass-through check must be enabled by default: a route added later is checked")
	}
}

func TestEnvoyGRPC_LbauthzClusterSpeaksHTTP2(t *testing.T) {
	c := cluster(t, mustLoadEnvoy(t, "envoy/envoy.yaml"), "lbauthz")
	a, ok := c.GetTypedExtensionProtocolOptions()["envoy.extensions.upstreams.http.v3.HttpProtocolOptions"]
	if !ok {
		t.Fatal("the lbauthz cluster has no HttpProtocolOptions: Envoy would speak HTTP/1.1 to a gRPC server")
	}
	opts := mustUnpack[*upstreamhttpv3.HttpProtocolOptions](t, "lbauthz protocol options", a)
	if opts.GetExplicitHttpConfig().GetHttp2ProtocolOptions() == nil {
		t.Error("the lbauthz cluster must be explicitly HTTP/2")
	}
}

func TestEnvoyGRPC_TokenRouteIsExactAndTheOnlyOneWithABody(t *testing.T) {
	hcm := ingress(t, mustLoadEnvoy(t, "envoy/envoy.yaml"))
	auth := routeNamed(t, hcm, "liveblocks_auth")
	if auth.GetMatch().GetPath() != authPath {
		t.Fatalf("token route must match the exact path %s, matches %v", authPath, auth.GetMatch())
	}
	if auth.GetDirectResponse() == nil {
		t.Error("token route must not forward to the app: lbauthz answers it")
	}
	if got := routes(hcm)[0]; got != auth {
		t.Errorf("token route must come first, before the catch-all; first is %q", got.GetName())
	}

	disabled, s := perFilter(t, auth.GetTypedPerFilterConfig(), "lbauthz-liveblocks-auth")
	if disabled || s == nil {
		t.Fatal("token route must enable lbauthz-liveblocks-auth with check settings")
	}
	body := s.GetCheckSettings().GetWithRequestBody()
	if body.GetMaxRequestBytes() != 4096 || body.GetAllowPartialMessage() {
		t.Errorf("token route body settings %v, want max_request_bytes 4096 without partial messages", body)
	}
	if disabled, _ := perFilter(t, auth.GetTypedPerFilterConfig(), "lbauthz"); !disabled {
		t.Error("token route must disable the pass-through check (one Check per request)")
	}

	for _, r := range routes(hcm) {
		if r == auth || r.GetName() == "liveblocks_directory" { // TestEnvoy_DirectoryPathsAreAnsweredByLbauthz
			continue
		}
		for name := range r.GetTypedPerFilterConfig() {
			if _, s := perFilter(t, r.GetTypedPerFilterConfig(), name); s.GetCheckSettings().GetWithRequestBody() != nil {
				t.Errorf("route %q buffers request bodies for %s; only the token route may", r.GetName(), name)
			}
			if disabled, _ := perFilter(t, r.GetTypedPerFilterConfig(), name); disabled && name == "lbauthz" {
				t.Errorf("route %q skips the pass-through check", r.GetName())
			}
		}
		if r.GetRoute().GetCluster() != "app" {
			t.Errorf("route %q goes to %q, want the app cluster", r.GetName(), r.GetRoute().GetCluster())
		}
	}
	for _, vh := range hcm.GetRouteConfig().GetVirtualHosts() {
		if len(vh.GetTypedPerFilterConfig()) != 0 {
			t.Errorf("virtual host %q has per-filter config; keep it on the routes", vh.GetName())
		}
	}
}

func TestEnvoyHTTP_CheckSendsTheCookieAndCopiesIdentity(t *testing.T) {
	bs := mustLoadEnvoy(t, "envoy/envoy-http.yaml")
	hcm := ingress(t, bs)
	ea := extAuthz(t, hcm, "lbauthz")
	assertFailsClosed(t, "lbauthz", ea)
	hs := ea.GetHttpService()
	if hs == nil {
		t.Fatal("envoy-http.yaml must use http_service")
	}
	if hs.GetPathPrefix() != "/check/envoy" {
		t.Errorf("path_prefix %q, want /check/envoy", hs.GetPathPrefix())
	}
	if hs.GetServerUri().GetCluster() != "lbauthz_http" {
		t.Errorf("check goes to cluster %q, want lbauthz_http", hs.GetServerUri().GetCluster())
	}
	if d := hs.GetServerUri().GetTimeout().AsDuration(); d <= 0 || d > time.Second {
		t.Errorf("check timeout %v, want a short explicit one", d)
	}
	exacts := func(patterns []*matcherv3.StringMatcher) []string {
		var out []string
		for _, p := range patterns {
			out = append(out, strings.ToLower(p.GetExact()))
		}
		return out
	}
	if got := exacts(ea.GetAllowedHeaders().GetPatterns()); !slices.Contains(got, "cookie") {
		t.Errorf("allowed_headers %v lacks cookie: every user would look signed out", got)
	}
	up := exacts(hs.GetAuthorizationResponse().GetAllowedUpstreamHeaders().GetPatterns())
	for _, h := range identityHeaders {
		if !slices.Contains(up, h) {
			t.Errorf("allowed_upstream_headers %v lacks %s", up, h)
		}
	}
	if got := exacts(hs.GetAuthorizationResponse().GetAllowedClientHeaders().GetPatterns()); !slices.Contains(got, "content-type") {
		t.Errorf("allowed_client_headers %v lacks content-type: the 401/403 JSON body would lose its type", got)
	}

	auth := routeNamed(t, hcm, "liveblocks_auth")
	if auth.GetMatch().GetPath() != authPath {
		t.Errorf("token route must match the exact path %s", authPath)
	}
	if auth.GetRoute().GetCluster() != "lbauthz_http" {
		t.Errorf("token route must be proxied to lbauthz (HTTP mode cannot return its 200 body), goes to %q", auth.GetRoute().GetCluster())
	}
	if disabled, _ := perFilter(t, auth.GetTypedPerFilterConfig(), "lbauthz"); !disabled {
		t.Error("token route must switch the check off: lbauthz answers it directly")
	}
	cluster(t, bs, "lbauthz_http")
}

func TestEnvoy_DeprecatedFieldsAreFlagged(t *testing.T) {
	good := string(readConfig(t, "envoy/envoy-http.yaml"))
	bad := mustReplaceOnce(t, good, "                path_prefix: /check/envoy\n",
		"                path_prefix: /check/envoy\n                authorization_request:\n                  allowed_headers:\n                    patterns:\n                    - exact: cookie\n")
	bs, err := loadEnvoyBootstrap(t, "deprecated", []byte(bad))
	if err != nil {
		t.Fatal(err)
	}
	if d := deprecatedFieldsSet(t, bs); !slices.Contains(d, "envoy.extensions.filters.http.ext_authz.v3.AuthorizationRequest.allowed_headers") {
		t.Errorf("the deprecated authorization_request.allowed_headers was not flagged (found %v)", d)
	}
}

// TestEnvoy_LoaderRejectsBrokenConfigs proves the loader above can fail: each
// case breaks envoy.yaml in one way Envoy itself would reject.
func TestEnvoy_LoaderRejectsBrokenConfigs(t *testing.T) {
	good := string(readConfig(t, "envoy/envoy.yaml"))
	for _, tc := range []struct{ name, old, new string }{
		{"misspelt field", "below.\n              failure_mode_allow: false", "below.\n              failure_mode_alow: false"},
		{"misspelt field inside a typed_config", "max_request_bytes: 4096", "max_request_byte: 4096"},
		{"wrong type", "port_value: 9191", "port_value: ninety-one"},
		{"unknown extension type", "extensions.filters.http.header_mutation.v3.HeaderMutation", "extensions.filters.http.header_mutation.v3.HeaderMutations"},
		{"value a validation rule rejects", "max_request_bytes: 4096", "max_request_bytes: 0"},
		{"status that is not an HTTP status", "status_on_error: { code: ServiceUnavailable }\n              # Not set", "status_on_error: { code: Unavailable }\n              # Not set"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bad := mustReplaceOnce(t, good, tc.old, tc.new)
			if _, err := loadEnvoyBootstrap(t, tc.name, []byte(bad)); err == nil {
				t.Fatalf("a config with %s loaded without error", tc.name)
			} else {
				t.Logf("rejected as expected: %v", err)
			}
		})
	}
}
