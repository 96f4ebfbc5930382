package config

import (
	"time"

	"google.golang.org/protobuf/types/known/durationpb"

	configv1 "github.com/lbauthz/lbauthz/proto/lbauthz/config/v1"
)

// Defaults of the fields a file may leave out.
const (
	DefaultGRPCAddr       = "127.0.0.1:9191"
	DefaultHTTPAddr       = "127.0.0.1:8181"
	DefaultBaseURL        = "https://api.liveblocks.io"
	DefaultAuthPath       = "/api/liveblocks-auth"
	DefaultTimeout        = 5 * time.Second
	DefaultShutdownGrace  = 10 * time.Second
	DefaultMaxCookieBytes = 4096
	DefaultCacheTTL       = 30 * time.Second
	DefaultNegativeTTL    = 5 * time.Second
	DefaultCacheEntries   = 100_000
	DefaultCacheBytes     = 64 << 20
	MinCacheBytes         = 64 << 10
	DefaultUserIDPath     = "sub"
	DefaultUserIDHeader   = "x-user-id"
	DefaultGroupsHeader   = "x-user-groups"
	DefaultMaxBodyBytes   = 4096
	MaxBodyBytesLimit     = 1 << 20
	DefaultTrustedHops    = 1
	MaxTrustedHops        = 10
)

// Defaults of listen.http_timeouts.
const (
	DefaultHTTPReadHeaderTimeout = 5 * time.Second
	DefaultHTTPReadTimeout       = 15 * time.Second
	DefaultHTTPWriteTimeout      = 20 * time.Second
	DefaultHTTPIdleTimeout       = 120 * time.Second
)

// DefaultTrustedPeers are the peers whose check requests the HTTP doors
// believe when http_doors.trusted_peers is empty: a proxy on the same host.
var DefaultTrustedPeers = []string{"127.0.0.0/8", "::1/128"}

func applyEnv(cfg *configv1.Config, getenv func(string) string) {
	if cfg.Liveblocks == nil {
		cfg.Liveblocks = &configv1.Liveblocks{}
	}
	if cfg.Liveblocks.BaseUrl == "" {
		cfg.Liveblocks.BaseUrl = getenv("LIVEBLOCKS_BASE_URL")
	}
}

func applyDefaults(cfg *configv1.Config) {
	if cfg.Listen == nil {
		cfg.Listen = &configv1.Listen{Grpc: DefaultGRPCAddr, Http: DefaultHTTPAddr}
	}
	if cfg.Listen.Grpc == "" && cfg.Listen.Http == "" {
		cfg.Listen.Grpc, cfg.Listen.Http = DefaultGRPCAddr, DefaultHTTPAddr
	}
	setDuration(&cfg.Listen.ShutdownGrace, DefaultShutdownGrace)
	if cfg.Listen.HttpTimeouts == nil {
		cfg.Listen.HttpTimeouts = &configv1.HTTPTimeouts{}
	}
	t := cfg.Listen.HttpTimeouts
	setNonZeroDuration(&t.ReadHeader, DefaultHTTPReadHeaderTimeout)
	setNonZeroDuration(&t.Read, DefaultHTTPReadTimeout)
	setNonZeroDuration(&t.Write, DefaultHTTPWriteTimeout)
	setNonZeroDuration(&t.Idle, DefaultHTTPIdleTimeout)

	lb := cfg.Liveblocks
	if lb.BaseUrl == "" {
		lb.BaseUrl = DefaultBaseURL
	}
	if lb.AuthPath == "" {
		lb.AuthPath = DefaultAuthPath
	}
	setDuration(&lb.Timeout, DefaultTimeout)
	if lb.Mode == "" {
		lb.Mode = ModeIDToken
	}

	if cfg.Session == nil {
		cfg.Session = &configv1.Session{}
	}
	wroteCookie := cfg.Session.Cookie != ""
	if cfg.Session.MaxCookieBytes == 0 {
		cfg.Session.MaxCookieBytes = DefaultMaxCookieBytes
	}
	if cfg.Session.Cache == nil {
		cfg.Session.Cache = &configv1.Cache{}
	}
	c := cfg.Session.Cache
	setDuration(&c.Ttl, DefaultCacheTTL)
	setDuration(&c.NegativeTtl, DefaultNegativeTTL)
	if c.MaxEntries == 0 {
		c.MaxEntries = DefaultCacheEntries
	}
	if c.MaxBytes == 0 {
		c.MaxBytes = DefaultCacheBytes
	}
	if cfg.Identity == nil {
		cfg.Identity = &configv1.Identity{}
	}
	applySessionDefaults(cfg)
	keepCookieDefault(cfg.Session, wroteCookie) // sources.go
	if cfg.Identity.UserId == "" {
		cfg.Identity.UserId = DefaultUserIDPath
	}
	if cfg.UpstreamHeaders == nil {
		cfg.UpstreamHeaders = &configv1.UpstreamHeaders{}
	}
	if cfg.UpstreamHeaders.UserId == "" {
		cfg.UpstreamHeaders.UserId = DefaultUserIDHeader
	}
	if cfg.UpstreamHeaders.GroupIds == "" {
		cfg.UpstreamHeaders.GroupIds = DefaultGroupsHeader
	}
	if cfg.HttpDoors == nil {
		cfg.HttpDoors = &configv1.HTTPDoors{}
	}
	if len(cfg.HttpDoors.TrustedPeers) == 0 {
		cfg.HttpDoors.TrustedPeers = append([]string(nil), DefaultTrustedPeers...)
	}
	if cfg.HttpDoors.MaxBodyBytes == 0 {
		cfg.HttpDoors.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if cfg.HttpDoors.TrustedHops == 0 {
		cfg.HttpDoors.TrustedHops = DefaultTrustedHops
	}
	if cfg.Log == nil {
		cfg.Log = &configv1.Log{}
	}
	if cfg.Log.Level == "" {
		cfg.Log.Level = "info"
	}
	if cfg.Log.Format == "" {
		cfg.Log.Format = "json"
	}
	applyLimitsDefaults(cfg)   // limits.go
	applyReplicasDefaults(cfg) // replicas.go
}

func setDuration(d **durationpb.Duration, def time.Duration) {
	if *d == nil {
		*d = durationpb.New(def)
	}
}

// setNonZeroDuration sets a duration whose zero means the default.
func setNonZeroDuration(d **durationpb.Duration, def time.Duration) {
	if *d == nil || (*d).AsDuration() == 0 {
		*d = durationpb.New(def)
	}
}
