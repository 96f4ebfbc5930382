package config

import (
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"time"

	configv1 "github.com/lbauthz/lbauthz/proto/lbauthz/config/v1"
)

// Defaults of shared, audit and the listeners' tls.
const (
	DefaultRevocationTTL     = 24 * time.Hour
	DefaultSharedTimeout     = 100 * time.Millisecond
	DefaultSharedKeyPrefix   = "lbauthz:"
	DefaultAuditMaxSizeBytes = 100 << 20
	DefaultAuditKeep         = 5
	DefaultAuditBuffer       = 4096
)

func applyReplicasDefaults(cfg *configv1.Config) {
	if s := cfg.Shared; s != nil && s.Redis != nil {
		setDuration(&s.RevocationTtl, DefaultRevocationTTL)
		setDuration(&s.Redis.Timeout, DefaultSharedTimeout)
		if s.Redis.KeyPrefix == "" {
			s.Redis.KeyPrefix = DefaultSharedKeyPrefix
		}
		if s.Cache != nil && s.Cache.Enabled && s.Cache.Ttl == nil && cfg.Session.GetCache().GetTtl() != nil {
			s.Cache.Ttl = cfg.Session.Cache.Ttl
		}
	}
	if a := cfg.Audit; a != nil && a.Path != "" {
		if a.MaxSizeBytes == 0 {
			a.MaxSizeBytes = DefaultAuditMaxSizeBytes
		}
		if a.Keep == 0 {
			a.Keep = DefaultAuditKeep
		}
		if a.Buffer == 0 {
			a.Buffer = DefaultAuditBuffer
		}
	}
}

func validateReplicas(add func(string, string, ...any), cfg *configv1.Config) {
	if s := cfg.Shared; s != nil {
		r := s.Redis
		if r == nil || len(r.Addrs) == 0 {
			add("shared.redis.addrs", "at least one host:port address is required")
		} else {
			for i, a := range r.Addrs {
				if _, port, err := net.SplitHostPort(a); err != nil || port == "" {
					add(fmt.Sprintf("shared.redis.addrs[%d]", i), "%q is not a host:port address", a)
				}
			}
			if r.MasterName != "" && r.Cluster {
				add("shared.redis.cluster", "a Sentinel master (master_name) is not a Cluster")
			}
			if r.Db != 0 && (r.Cluster || len(r.Addrs) > 1 && r.MasterName == "") {
				add("shared.redis.db", "a Redis Cluster has only database 0")
			}
			checkPositive(add, "shared.redis.timeout", r.Timeout, false)
		}
		checkPositive(add, "shared.revocation_ttl", s.RevocationTtl, false)
		if s.Cache.GetEnabled() {
			checkPositive(add, "shared.cache.ttl", s.Cache.Ttl, false)
		}
	}
	if a := cfg.Audit; a != nil && a.Path == "" {
		add("audit.path", `a file, or "-" for standard output, is required`)
	}
	validateTLS(add, "listen.grpc_tls", cfg.Listen.GrpcTls)
	validateTLS(add, "listen.http_tls", cfg.Listen.HttpTls)
	validateAdmin(add, cfg.Listen)
}

// validateAdmin checks the admin listener: an address of its own, and
// always an authentication (a bearer token, a required client certificate,
// or both), loopback included: a sidecar shares its loopback with the app.
func validateAdmin(add func(string, string, ...any), l *configv1.Listen) {
	validateTLS(add, "listen.admin_tls", l.AdminTls)
	if l.Admin == "" {
		if l.AdminTokenFile != "" || l.AdminTls != nil {
			add("listen.admin", "required when admin_token_file or admin_tls is set")
		}
		return
	}
	if _, port, err := net.SplitHostPort(l.Admin); err != nil || port == "" {
		add("listen.admin", "%q is not a host:port address", l.Admin)
	} else if l.Admin == l.Grpc || l.Admin == l.Http {
		add("listen.admin", "%q is the address of another listener: the admin listener needs its own", l.Admin)
	}
	if l.AdminTokenFile == "" && !l.AdminTls.GetRequireClientCert() {
		add("listen.admin", "needs an authentication: admin_token_file, or admin_tls with require_client_cert (or both)")
	}
}

// MinAdminTokenBytes is the least length of the admin listener's token.
const MinAdminTokenBytes = 32

// ReadAdminToken reads listen.admin_token_file (nil when none is named).
func ReadAdminToken(cfg *configv1.Config) ([]byte, error) {
	f := cfg.GetListen().GetAdminTokenFile()
	if f == "" {
		return nil, nil
	}
	b, err := readSecretFile("listen.admin_token_file", f)
	if err != nil {
		return nil, err
	}
	if len(b) < MinAdminTokenBytes {
		return nil, fmt.Errorf("listen.admin_token_file %s: the token is %d bytes; it must be at least %d (openssl rand -hex 32)", f, len(b), MinAdminTokenBytes)
	}
	return b, nil
}

func validateTLS(add func(string, string, ...any), field string, t *configv1.TLS) {
	if t == nil {
		return
	}
	if t.CertFile == "" || t.KeyFile == "" {
		add(field, "cert_file and key_file are both required")
	}
	asksClient := t.RequireClientCert || len(t.AllowedDnsNames)+len(t.AllowedUris) > 0
	if t.ClientCaFile == "" && asksClient {
		add(field+".client_ca_file", "required to ask for client certificates")
	}
	for i, u := range t.AllowedUris {
		if p, err := url.Parse(strings.TrimSuffix(u, "*")); err != nil || p.Scheme == "" {
			add(fmt.Sprintf("%s.allowed_uris[%d]", field, i), "%q is not an absolute URI (spiffe://trust-domain/path)", u)
		}
	}
	for i, n := range t.AllowedDnsNames {
		if n == "" || strings.ContainsAny(n, " /:") {
			add(fmt.Sprintf("%s.allowed_dns_names[%d]", field, i), "%q is not a DNS name", n)
		}
	}
}

// ReadSharedRedisPassword reads shared.redis.password_file ("" when none is
// named), for the commands that need Redis and none of the other secrets.
func ReadSharedRedisPassword(cfg *configv1.Config) (string, error) {
	f := cfg.GetShared().GetRedis().GetPasswordFile()
	if f == "" {
		return "", nil
	}
	b, err := readSecretFile("shared.redis.password_file", f)
	return string(b), err
}

// loopbackAddr reports whether a listen address (host:port) is on loopback
// only: localhost, 127.0.0.0/8 or ::1. An empty host listens everywhere.
func loopbackAddr(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.Unmap().IsLoopback()
}
