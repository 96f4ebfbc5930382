package config

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"

	configv1 "github.com/lbauthz/lbauthz/proto/lbauthz/config/v1"
)

// Algorithms lists the JWT signing algorithms a session may use.
var Algorithms = []string{
	"HS256", "HS384", "HS512",
	"RS256", "RS384", "RS512",
	"PS256", "PS384", "PS512",
	"ES256", "ES384", "ES512",
	"EdDSA",
}

// IsHMAC reports whether alg is one of the HMAC algorithms.
func IsHMAC(alg string) bool { return strings.HasPrefix(alg, "HS") }

// Validate checks a decoded, defaulted config. Errors name the field and the
// bad value (config values are never secrets: secrets live in files).
func Validate(cfg *configv1.Config) error {
	var errs []error
	add := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", field, fmt.Sprintf(format, args...)))
	}

	checkAddr := func(field, addr string) {
		if addr == "" {
			return
		}
		if _, port, err := net.SplitHostPort(addr); err != nil || port == "" {
			add(field, "%q is not a host:port address", addr)
		}
	}
	checkAddr("listen.grpc", cfg.Listen.Grpc)
	checkAddr("listen.http", cfg.Listen.Http)
	checkPositive(add, "listen.shutdown_grace", cfg.Listen.ShutdownGrace, true)

	lb := cfg.Liveblocks
	checkURL(add, "liveblocks.base_url", lb.BaseUrl, lb.AllowInsecureHttp)
	if !strings.HasPrefix(lb.AuthPath, "/") || strings.ContainsAny(lb.AuthPath, "?# \t%") {
		add("liveblocks.auth_path", "%q must be a path starting with / (no query, fragment, space or escapes)", lb.AuthPath)
	}
	checkPositive(add, "liveblocks.timeout", lb.Timeout, false)
	validateHTTPTimeouts(add, cfg.Listen.HttpTimeouts, lb.Timeout.AsDuration())

	s := cfg.Session
	validateCredential(add, "session", s) // sources.go
	validateSession(add, s)
	checkPositive(add, "session.cache.ttl", s.Cache.Ttl, true)
	checkPositive(add, "session.cache.negative_ttl", s.Cache.NegativeTtl, true)
	if s.Cache.MaxBytes < MinCacheBytes {
		add("session.cache.max_bytes", "%d is below the least the cache takes (%d)", s.Cache.MaxBytes, MinCacheBytes)
	}

	id := cfg.Identity
	checkPath(add, "identity.user_id", id.UserId)
	if id.GroupIds != "" {
		checkPath(add, "identity.group_ids", id.GroupIds)
	}
	for k, p := range id.UserInfo {
		if k == "" {
			add("identity.user_info", "a userInfo key is empty")
		}
		checkPath(add, "identity.user_info."+k, p)
	}
	validateGroupRules(add, id.Groups)
	if id.OrganizationId != "" {
		checkPath(add, "identity.organization_id", id.OrganizationId)
	}
	if id.OrganizationTemplate != "" {
		if id.OrganizationId == "" {
			add("identity.organization_template", "needs identity.organization_id, the path of the value it is made of")
		} else if !strings.Contains(id.OrganizationTemplate, "{value}") {
			add("identity.organization_template", "%q does not hold \"{value}\"", id.OrganizationTemplate)
		}
	}

	h := cfg.UpstreamHeaders
	names := map[string]string{}
	for _, f := range []struct{ field, name string }{
		{"upstream_headers.user_id", h.UserId},
		{"upstream_headers.group_ids", h.GroupIds},
		{"upstream_headers.user_info", h.UserInfo},
	} {
		if f.name == "" {
			continue
		}
		n := strings.ToLower(f.name)
		switch {
		case !isToken(n):
			add(f.field, "%q is not a valid header name", f.name)
		case slices.Contains(reservedHeaders, n):
			add(f.field, "%q is a header the sidecar must not set", f.name)
		case names[n] != "":
			add(f.field, "%q is already used by %s", f.name, names[n])
		}
		names[n] = f.field
	}
	h.UserId, h.GroupIds, h.UserInfo = strings.ToLower(h.UserId), strings.ToLower(h.GroupIds), strings.ToLower(h.UserInfo)

	if p := lb.AuthPath; strings.HasPrefix(p, "/check/") || p == "/healthz" || p == "/readyz" || p == "/metrics" {
		add("liveblocks.auth_path", "%q is a path of the sidecar's own HTTP listener", p)
	}
	for i, p := range cfg.HttpDoors.TrustedPeers {
		if _, err := ParsePeer(p); err != nil {
			add(fmt.Sprintf("http_doors.trusted_peers[%d]", i), "%q is not a CIDR prefix (10.0.0.0/8) or an IP address", p)
		}
	}
	if n := cfg.HttpDoors.MaxBodyBytes; n > MaxBodyBytesLimit {
		add("http_doors.max_body_bytes", "%d is over the limit of %d", n, MaxBodyBytesLimit)
	}
	if n := cfg.HttpDoors.TrustedHops; n > MaxTrustedHops {
		add("http_doors.trusted_hops", "%d is over the limit of %d", n, MaxTrustedHops)
	}

	if !slices.Contains([]string{"debug", "info", "warn", "error"}, cfg.Log.Level) {
		add("log.level", "%q is not one of debug, info, warn, error", cfg.Log.Level)
	}
	if !slices.Contains([]string{"json", "console"}, cfg.Log.Format) {
		add("log.format", "%q is not one of json, console", cfg.Log.Format)
	}
	validateLimits(add, cfg)        // limits.go
	validateReplicas(add, cfg)      // replicas.go
	validateSources(add, cfg)       // sources.go
	validateDirectory(add, cfg)     // directory.go
	validateAccessSources(add, cfg) // directory.go
	errs = append(errs, validateRooms(cfg)...)
	return errors.Join(errs...)
}

// TrustedPeers parses http_doors.trusted_peers; empty when none are set
// (the doors then trust DefaultTrustedPeers).
func TrustedPeers(c *configv1.HTTPDoors) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for i, p := range c.GetTrustedPeers() {
		prefix, err := ParsePeer(p)
		if err != nil {
			return nil, fmt.Errorf("http_doors.trusted_peers[%d]: %q is not a CIDR prefix or an IP address", i, p)
		}
		out = append(out, prefix)
	}
	return out, nil
}

// ParsePeer parses an entry of http_doors.trusted_peers: a CIDR prefix or a
// single address (a /32 or /128 prefix). IPv4-mapped IPv6 forms are turned
// into IPv4, as the peers they are compared with are.
func ParsePeer(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, err
		}
		if p.Addr().Is4In6() && p.Bits() >= 96 {
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	a = a.Unmap().WithZone("")
	return netip.PrefixFrom(a, a.BitLen()), nil
}

var reservedHeaders = []string{
	"cookie", "set-cookie", "authorization", "host", "content-length", "content-type",
	"transfer-encoding", "connection", "upgrade", "te", "trailer", "keep-alive",
	"proxy-authorization", "proxy-connection",
}

func validateJWT(add func(string, string, ...any), j *configv1.JWT) {
	if len(j.Algorithms) == 0 {
		add("session.jwt.algorithms", "list the accepted algorithms, e.g. [HS256]")
	}
	var hmac, public bool
	for _, a := range j.Algorithms {
		switch {
		case strings.EqualFold(a, "none"):
			add("session.jwt.algorithms", `"none" is never accepted: an unsigned token proves nothing`)
		case !slices.Contains(Algorithms, a):
			add("session.jwt.algorithms", "%q is not one of %s", a, strings.Join(Algorithms, ", "))
		case IsHMAC(a):
			hmac = true
		default:
			public = true
		}
	}
	if hmac && j.HmacSecretFile == "" {
		add("session.jwt.hmac_secret_file", "required by the HMAC algorithms in session.jwt.algorithms")
	}
	if public && j.PublicKeyFile == "" && j.JwksUrl == "" {
		add("session.jwt.public_key_file", "required (or session.jwt.jwks_url) by the public-key algorithms in session.jwt.algorithms")
	}
	if j.PublicKeyFile != "" && j.JwksUrl != "" {
		add("session.jwt.jwks_url", "set with session.jwt.public_key_file: choose one source of public keys")
	}
	if j.JwksUrl != "" {
		if checkURL(add, "session.jwt.jwks_url", j.JwksUrl, j.AllowInsecureHttp) && !public {
			add("session.jwt.jwks_url", "set, but session.jwt.algorithms has no public-key algorithm")
		}
		checkPositive(add, "session.jwt.jwks_refresh", j.JwksRefresh, false)
		checkPositive(add, "session.jwt.jwks_min_interval", j.JwksMinInterval, true)
		checkPositive(add, "session.jwt.jwks_timeout", j.JwksTimeout, false)
	}
	if j.HmacSecretFile != "" && !hmac {
		add("session.jwt.hmac_secret_file", "set, but session.jwt.algorithms has no HMAC algorithm")
	}
	if j.PublicKeyFile != "" && !public {
		add("session.jwt.public_key_file", "set, but session.jwt.algorithms has no public-key algorithm")
	}
	checkPositive(add, "session.jwt.leeway", j.Leeway, true)
}

// checkURL checks an http(s) URL the sidecar calls: plain http only on a
// loopback host, or where the config allows it with allow_insecure_http.
// It reports whether the URL was accepted.
func checkURL(add func(string, string, ...any), field, raw string, allowInsecure bool) bool {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		add(field, "%q is not an http(s) URL", raw)
		return false
	}
	if InsecureURL(raw) && !allowInsecure {
		add(field, "%q is plain http to a host that is not loopback: use https, or set allow_insecure_http: true next to it", raw)
		return false
	}
	return true
}

// InsecureURL reports whether raw is a plain http:// URL whose host is not
// loopback (localhost, 127.0.0.0/8, ::1).
func InsecureURL(raw string) bool {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "http" {
		return false
	}
	host := u.Hostname()
	if strings.EqualFold(host, "localhost") {
		return false
	}
	a, err := netip.ParseAddr(host)
	return err != nil || !a.Unmap().IsLoopback()
}

// validateHTTPTimeouts checks listen.http_timeouts: positive, and the read
// and write timeouts no shorter than a call to Liveblocks, which a token
// request waits for.
func validateHTTPTimeouts(add func(string, string, ...any), t *configv1.HTTPTimeouts, liveblocks time.Duration) {
	for _, f := range []struct {
		field string
		d     *durationpb.Duration
		min   time.Duration
	}{
		{"listen.http_timeouts.read_header", t.ReadHeader, 0},
		{"listen.http_timeouts.read", t.Read, liveblocks},
		{"listen.http_timeouts.write", t.Write, liveblocks},
		{"listen.http_timeouts.idle", t.Idle, 0},
	} {
		v := f.d.AsDuration()
		switch {
		case v < 0:
			add(f.field, "%s must be greater than zero", v)
		case v < f.min:
			add(f.field, "%s is shorter than liveblocks.timeout (%s): token requests would be cut before Liveblocks answers", v, f.min)
		}
	}
}

func checkPositive(add func(string, string, ...any), field string, d *durationpb.Duration, zeroOK bool) {
	if d == nil {
		return
	}
	v := d.AsDuration()
	if v < 0 || (v == 0 && !zeroOK) {
		add(field, "%s must be greater than zero", v)
	}
}

func checkPath(add func(string, string, ...any), field, p string) {
	for _, seg := range strings.Split(p, ".") {
		if seg == "" {
			add(field, "%q is not a dotted path such as \"user.id\"", p)
			return
		}
	}
}

// isToken reports whether s is an HTTP token (RFC 9110), the grammar of
// header and cookie names.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`"(),/:;<=>?@[\]{}`, c) >= 0 {
			return false
		}
	}
	return true
}
