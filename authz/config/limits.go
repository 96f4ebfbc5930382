package config

import (
	"fmt"
	"net/url"
	"strings"

	configv1 "github.com/lbauthz/lbauthz/proto/lbauthz/config/v1"
)

// Defaults of auth_limits.
const (
	DefaultUserPerMinute    = 60
	DefaultUserBurst        = 30
	DefaultAddressPerMinute = 60
	DefaultAddressBurst     = 60
	DefaultMaxTracked       = 100_000

	// MaxRatePerMinute and MaxTrackedLimit bound the values a file may set.
	MaxRatePerMinute = 1_000_000
	MaxTrackedLimit  = 10_000_000
)

// DefaultAccessLevel is the level of the access lines when log.access_level
// is not set.
const DefaultAccessLevel = "debug"

func applyLimitsDefaults(cfg *configv1.Config) {
	if cfg.AuthLimits == nil {
		cfg.AuthLimits = &configv1.AuthLimits{}
	}
	l := cfg.AuthLimits
	l.PerUser = rateDefaults(l.PerUser, DefaultUserPerMinute, DefaultUserBurst)
	l.PerAddress = rateDefaults(l.PerAddress, DefaultAddressPerMinute, DefaultAddressBurst)
	if l.MaxTracked == 0 {
		l.MaxTracked = DefaultMaxTracked
	}
	if l.Origins == nil {
		l.Origins = &configv1.Origins{}
	}
	if cfg.Log.AccessLevel == "" {
		cfg.Log.AccessLevel = DefaultAccessLevel
	}
}

func rateDefaults(r *configv1.RateLimit, perMinute, burst uint32) *configv1.RateLimit {
	if r == nil {
		r = &configv1.RateLimit{}
	}
	if r.PerMinute == 0 {
		r.PerMinute = perMinute
	}
	if r.Burst == 0 {
		r.Burst = burst
	}
	return r
}

func validateLimits(add func(string, string, ...any), cfg *configv1.Config) {
	l := cfg.AuthLimits
	for _, r := range []struct {
		field string
		rate  *configv1.RateLimit
	}{{"auth_limits.per_user", l.PerUser}, {"auth_limits.per_address", l.PerAddress}} {
		if r.rate.PerMinute > MaxRatePerMinute {
			add(r.field+".per_minute", "%d is over the limit of %d", r.rate.PerMinute, MaxRatePerMinute)
		}
		if r.rate.Burst > MaxRatePerMinute {
			add(r.field+".burst", "%d is over the limit of %d", r.rate.Burst, MaxRatePerMinute)
		}
	}
	if l.MaxTracked > MaxTrackedLimit {
		add("auth_limits.max_tracked", "%d is over the limit of %d", l.MaxTracked, MaxTrackedLimit)
	}
	for i, o := range l.Origins.Allowed {
		norm, err := ParseOrigin(o)
		if err != nil {
			add(fmt.Sprintf("auth_limits.origins.allowed[%d]", i), "%q %v", o, err)
			continue
		}
		l.Origins.Allowed[i] = norm
	}
	if !isLevel(cfg.Log.AccessLevel) {
		add("log.access_level", "%q is not one of debug, info, warn, error", cfg.Log.AccessLevel)
	}
}

func isLevel(s string) bool {
	switch s {
	case "debug", "info", "warn", "error":
		return true
	}
	return false
}

// ParseOrigin checks an entry of auth_limits.origins.allowed and returns it
// as browsers send it in the Origin header: lower-case scheme and host, and
// the port only when it is not the scheme's default.
func ParseOrigin(s string) (string, error) {
	switch {
	case s == "*":
		return "", fmt.Errorf("is a wildcard: it would let any web site get tokens with the user's cookie; list the origins")
	case strings.EqualFold(s, "null"):
		return "", fmt.Errorf("is the origin of sandboxed and file pages, which any site can produce")
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("is not an origin such as https://app.example.com")
	}
	if u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" {
		return "", fmt.Errorf("is not an origin: an origin is a scheme, a host and a port, without path, query or user")
	}
	if strings.Contains(u.Host, "*") {
		return "", fmt.Errorf("has a wildcard: list the origins")
	}
	host := strings.ToLower(u.Hostname())
	port := u.Port()
	if (u.Scheme == "https" && port == "443") || (u.Scheme == "http" && port == "80") {
		port = ""
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	out := u.Scheme + "://" + host
	if port != "" {
		out += ":" + port
	}
	return out, nil
}
