package deploy_test

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	yamlv3 "gopkg.in/yaml.v3"
)

// Traefik cannot be run here: its Go module carries replace directives, so
// neither `go install` nor importing its config package from this module
// works, and no Debian package of it is available here. This is the closest
// real check available: the dynamic configuration is decoded strictly into
// structs that mirror the field names of Traefik v3's file provider
// (pkg/config/dynamic: Router, Service, ServersLoadBalancer, Headers,
// ForwardAuth as documented for v3.3+). A misspelt or misplaced key fails the
// decode. The mirror holds only the parts this file uses, so it can reject a
// valid key it does not know, never accept an invalid one.

type traefikDynamic struct {
	HTTP struct {
		Routers     map[string]traefikRouter     `yaml:"routers"`
		Middlewares map[string]traefikMiddleware `yaml:"middlewares"`
		Services    map[string]traefikService    `yaml:"services"`
	} `yaml:"http"`
}

type traefikRouter struct {
	EntryPoints []string `yaml:"entryPoints"`
	Middlewares []string `yaml:"middlewares"`
	Service     string   `yaml:"service"`
	Rule        string   `yaml:"rule"`
	Priority    int      `yaml:"priority"`
}

type traefikMiddleware struct {
	Headers *struct {
		CustomRequestHeaders  map[string]string `yaml:"customRequestHeaders"`
		CustomResponseHeaders map[string]string `yaml:"customResponseHeaders"`
	} `yaml:"headers"`
	ForwardAuth *traefikForwardAuth `yaml:"forwardAuth"`
}

type traefikForwardAuth struct {
	Address                  string   `yaml:"address"`
	TrustForwardHeader       bool     `yaml:"trustForwardHeader"`
	AuthResponseHeaders      []string `yaml:"authResponseHeaders"`
	AuthResponseHeadersRegex string   `yaml:"authResponseHeadersRegex"`
	AuthRequestHeaders       []string `yaml:"authRequestHeaders"`
	AddAuthCookiesToResponse []string `yaml:"addAuthCookiesToResponse"`
	ForwardBody              bool     `yaml:"forwardBody"`
	MaxBodySize              *int64   `yaml:"maxBodySize"`
	PreserveLocationHeader   bool     `yaml:"preserveLocationHeader"`
}

type traefikService struct {
	LoadBalancer *struct {
		Servers []struct {
			URL string `yaml:"url"`
		} `yaml:"servers"`
		PassHostHeader *bool `yaml:"passHostHeader"`
	} `yaml:"loadBalancer"`
}

func decodeTraefik(data []byte) (*traefikDynamic, error) {
	var d traefikDynamic
	dec := yamlv3.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&d); err != nil {
		return nil, err
	}
	return &d, nil
}

func TestTraefik_DynamicConfigDecodesStrictly(t *testing.T) {
	if _, err := decodeTraefik(readConfig(t, "traefik/dynamic.yaml")); err != nil {
		t.Fatalf("traefik/dynamic.yaml: %v", err)
	}
}

func TestTraefik_EveryRouteToTheAppIsCheckedAndIdentityComesFromLbauthz(t *testing.T) {
	d, err := decodeTraefik(readConfig(t, "traefik/dynamic.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	h := d.HTTP

	// Every reference resolves.
	for name, r := range h.Routers {
		if _, ok := h.Services[r.Service]; !ok {
			t.Errorf("router %s uses undefined service %q", name, r.Service)
		}
		for _, m := range r.Middlewares {
			if _, ok := h.Middlewares[m]; !ok {
				t.Errorf("router %s uses undefined middleware %q", name, m)
			}
		}
		if len(r.EntryPoints) == 0 {
			t.Errorf("router %s has no entry point", name)
		}
	}

	// The forwardAuth middleware and what it calls.
	fa := h.Middlewares["lbauthz"].ForwardAuth
	if fa == nil {
		t.Fatal("no forwardAuth middleware named lbauthz")
	}
	sidecar := h.Services["lbauthz"].LoadBalancer
	if sidecar == nil || len(sidecar.Servers) != 1 {
		t.Fatal("service lbauthz must have one server")
	}
	if want := sidecar.Servers[0].URL + "/check/forward"; fa.Address != want {
		t.Errorf("forwardAuth address %q, want %q (the lbauthz service's /check/forward)", fa.Address, want)
	}
	if fa.TrustForwardHeader {
		t.Error("trustForwardHeader must be false at the edge: clients could choose the path that gets checked")
	}
	for _, hdr := range identityHeaders {
		if !slices.ContainsFunc(fa.AuthResponseHeaders, func(s string) bool { return strings.EqualFold(s, hdr) }) {
			t.Errorf("authResponseHeaders %v lacks %s", fa.AuthResponseHeaders, hdr)
		}
	}
	if len(fa.AuthRequestHeaders) > 0 && !slices.ContainsFunc(fa.AuthRequestHeaders, func(s string) bool { return strings.EqualFold(s, "cookie") }) {
		t.Errorf("authRequestHeaders %v filters out the session cookie", fa.AuthRequestHeaders)
	}
	if fa.ForwardBody {
		t.Error("forwardBody would buffer every request body for the check")
	}

	// Identity headers are stripped before anything else.
	strip := h.Middlewares["lbauthz-strip-identity"].Headers
	if strip == nil {
		t.Fatal("no headers middleware named lbauthz-strip-identity")
	}
	for _, hdr := range identityHeaders {
		found := false
		for k, v := range strip.CustomRequestHeaders {
			if strings.EqualFold(k, hdr) && v == "" {
				found = true
			}
		}
		if !found {
			t.Errorf("lbauthz-strip-identity does not remove %s", hdr)
		}
	}

	// No route reaches the app unchecked; the token route goes to lbauthz.
	for name, r := range h.Routers {
		if len(r.Middlewares) == 0 || r.Middlewares[0] != "lbauthz-strip-identity" {
			t.Errorf("router %s must strip identity headers first, has %v", name, r.Middlewares)
		}
		if r.Service == "app" && !slices.Contains(r.Middlewares, "lbauthz") {
			t.Errorf("router %s sends requests to the app without the lbauthz check", name)
		}
	}
	auth, app := h.Routers["liveblocks-auth"], h.Routers["app"]
	if auth.Rule != "Path(`"+authPath+"`)" || auth.Service != "lbauthz" {
		t.Errorf("router liveblocks-auth: rule %q to %q, want the exact token path to lbauthz", auth.Rule, auth.Service)
	}
	if slices.Contains(auth.Middlewares, "lbauthz") {
		t.Error("the token route must not run forwardAuth: lbauthz answers it directly")
	}
	if auth.Priority <= app.Priority {
		t.Errorf("token router priority %d must be above the app router's %d", auth.Priority, app.Priority)
	}
	dir := h.Routers["liveblocks-directory"]
	var rules []string
	for _, p := range directoryPaths {
		rules = append(rules, "Path(`"+p+"`)")
	}
	if dir.Rule != strings.Join(rules, " || ") || dir.Service != "lbauthz" || slices.Contains(dir.Middlewares, "lbauthz") {
		t.Errorf("router liveblocks-directory: rule %q to %q with %v, want the exact directory paths to lbauthz without forwardAuth",
			dir.Rule, dir.Service, dir.Middlewares)
	}
	if dir.Priority <= app.Priority {
		t.Errorf("directory router priority %d must be above the app router's %d", dir.Priority, app.Priority)
	}
}

// TestTraefik_DecoderRejectsBrokenConfigs proves the strict decode can fail.
func TestTraefik_DecoderRejectsBrokenConfigs(t *testing.T) {
	good := string(readConfig(t, "traefik/dynamic.yaml"))
	for _, tc := range []struct{ name, old, new string }{
		{"misspelt field", "authResponseHeaders:", "authResponseHeader:"},
		{"field in the wrong place", "      priority: 1\n", "      priority: 1\n      address: x\n"},
		{"wrong type", "priority: 1\n", "priority: high\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := decodeTraefik([]byte(mustReplaceOnce(t, good, tc.old, tc.new))); err == nil {
				t.Fatalf("a config with a %s decoded without error", tc.name)
			}
		})
	}
}
