package config_test

import (
	"strings"
	"testing"
	"time"

	"github.com/lbauthz/lbauthz/authz/config"
)

func TestParse_SharedAuditAndTLSDefaults(t *testing.T) {
	cfg, err := config.Parse("t.yaml", []byte(doorsBase+`
shared:
  redis: { addrs: ["redis-0.redis:6379", "redis-1.redis:6379"] }
  cache: { enabled: true }
audit: { path: "-" }
listen:
  grpc_tls: { cert_file: /tls/tls.crt, key_file: /tls/tls.key, client_ca_file: /tls/ca.crt, require_client_cert: true,
              allowed_uris: ["spiffe://cluster.local/ns/gateway/*"] }
`), func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	s := cfg.Shared
	if s.RevocationTtl.AsDuration() != 24*time.Hour || s.Redis.Timeout.AsDuration() != 100*time.Millisecond ||
		s.Redis.KeyPrefix != "lbauthz:" || s.Cache.Ttl.AsDuration() != cfg.Session.Cache.Ttl.AsDuration() {
		t.Fatalf("shared defaults: %v", s)
	}
	if a := cfg.Audit; a.MaxSizeBytes != 100<<20 || a.Keep != 5 || a.Buffer != 4096 {
		t.Fatalf("audit defaults: %v", a)
	}
	if cfg.Listen.GrpcTls.ClientCaFile != "/tls/ca.crt" || cfg.Listen.HttpTls != nil {
		t.Fatalf("listen: %v", cfg.Listen)
	}
}

func TestParse_SharedAuditAndTLSValidationNamesFieldAndValue(t *testing.T) {
	for _, tc := range []struct{ yaml, want string }{
		{`shared: { redis: {} }`, `shared.redis.addrs: at least one host:port address is required`},
		{`shared: { redis: { addrs: ["redis"] } }`, `shared.redis.addrs[0]: "redis" is not a host:port address`},
		{`shared: { redis: { addrs: ["a:1"], master_name: m, cluster: true } }`, `shared.redis.cluster: a Sentinel master`},
		{`shared: { redis: { addrs: ["a:1", "b:1"], db: 2 } }`, `shared.redis.db: a Redis Cluster has only database 0`},
		{`shared: { redis: { addrs: ["a:1"], timeout: "-1s" } }`, `shared.redis.timeout`},
		{`audit: { keep: 3 }`, `audit.path: a file, or "-" for standard output, is required`},
		{`listen: { http_tls: { cert_file: /c } }`, `listen.http_tls: cert_file and key_file are both required`},
		{`listen: { grpc_tls: { cert_file: /c, key_file: /k, require_client_cert: true } }`, `listen.grpc_tls.client_ca_file: required`},
		{`listen: { grpc_tls: { cert_file: /c, key_file: /k, client_ca_file: /ca, allowed_uris: ["ns/default"] } }`, `listen.grpc_tls.allowed_uris[0]: "ns/default" is not an absolute URI`},
		{`listen: { grpc_tls: { cert_file: /c, key_file: /k, client_ca_file: /ca, allowed_dns_names: ["a b"] } }`, `listen.grpc_tls.allowed_dns_names[0]: "a b" is not a DNS name`},
		{`listen: { admin: "127.0.0.1:9292" }`, `listen.admin: needs an authentication: admin_token_file, or admin_tls with require_client_cert`},
		{`listen: { admin: "127.0.0.1:9292", admin_tls: { cert_file: /c, key_file: /k } }`, `listen.admin: needs an authentication`},
		{`listen: { admin: "admin", admin_token_file: /t }`, `listen.admin: "admin" is not a host:port address`},
		{`listen: { admin: "127.0.0.1:8181", admin_token_file: /t }`, `listen.admin: "127.0.0.1:8181" is the address of another listener`},
		{`listen: { admin_token_file: /t }`, `listen.admin: required when admin_token_file or admin_tls is set`},
		{`listen: { admin: "127.0.0.1:9292", admin_tls: { cert_file: /c, key_file: /k, require_client_cert: true } }`, `listen.admin_tls.client_ca_file: required`},
	} {
		_, err := config.Parse("t.yaml", []byte(doorsBase+tc.yaml), func(string) string { return "" })
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want it to say %q", tc.yaml, err, tc.want)
		}
	}
}

func TestParse_AdminListenerWithATokenOrAClientCertificateLoads(t *testing.T) {
	for _, yaml := range []string{
		`listen: { admin: "127.0.0.1:9292", admin_token_file: /run/secrets/admin-token }`,
		`listen: { admin: "0.0.0.0:9292", admin_tls: { cert_file: /c, key_file: /k, client_ca_file: /ca, require_client_cert: true } }`,
	} {
		if _, err := config.Parse("t.yaml", []byte(doorsBase+yaml), func(string) string { return "" }); err != nil {
			t.Errorf("%s: %v", yaml, err)
		}
	}
}

func TestWarnings_AdminTokenInPlainHTTPOffLoopback(t *testing.T) {
	for _, tc := range []struct {
		listen string
		warned bool
	}{
		{`listen: { admin: "0.0.0.0:9292", admin_token_file: /t }`, true},
		{`listen: { admin: "127.0.0.1:9292", admin_token_file: /t }`, false},
		{`listen: { admin: "0.0.0.0:9292", admin_token_file: /t, admin_tls: { cert_file: /c, key_file: /k } }`, false},
	} {
		cfg, err := config.Parse("t.yaml", []byte(doorsBase+tc.listen), func(string) string { return "" })
		if err != nil {
			t.Fatal(err)
		}
		warned := false
		for _, w := range config.Warnings(cfg) {
			warned = warned || w.Field == "listen.admin_token_file" && strings.Contains(w.Message, "plain HTTP off loopback")
		}
		if warned != tc.warned {
			t.Errorf("%s: warned %v, want %v", tc.listen, warned, tc.warned)
		}
	}
}
