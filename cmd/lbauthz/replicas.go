package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"
	"google.golang.org/protobuf/proto"

	"github.com/lbauthz/lbauthz/authz"
	"github.com/lbauthz/lbauthz/authz/audit"
	"github.com/lbauthz/lbauthz/authz/config"
	"github.com/lbauthz/lbauthz/authz/session"
	"github.com/lbauthz/lbauthz/authz/shared"
	"github.com/lbauthz/lbauthz/internal/tlsconfig"
	configv1 "github.com/lbauthz/lbauthz/proto/lbauthz/config/v1"
)

// sharedOptions turns the shared section into the options of the shared
// Redis; ok is false when there is none.
func sharedOptions(cfg *configv1.Config, password string) (opts shared.Options, ok bool) {
	r := cfg.GetShared().GetRedis()
	if r == nil {
		return shared.Options{}, false
	}
	opts = shared.Options{
		Addrs: r.Addrs, MasterName: r.MasterName, Cluster: r.Cluster,
		Username: r.Username, Password: password, DB: int(r.Db),
		KeyPrefix: r.KeyPrefix, Timeout: r.Timeout.AsDuration(),
	}
	if r.MasterName != "" {
		// Sentinels take the same credentials as the servers they watch.
		opts.SentinelUsername, opts.SentinelPassword = r.Username, password
	}
	if r.Tls {
		opts.TLS = &tls.Config{MinVersion: tls.VersionTLS12}
		if host, _, err := net.SplitHostPort(r.Addrs[0]); err == nil && len(r.Addrs) == 1 {
			opts.TLS.ServerName = host
		}
	}
	return opts, true
}

// listenerTLS returns the TLS of a listener (nil when it has none), logging
// each reload of its files and each failed one.
func listenerTLS(field string, t *configv1.TLS, log *zap.Logger) (*tlsconfig.Server, error) {
	if t == nil {
		return nil, nil
	}
	l := log.With(zap.String("listener", field))
	return tlsconfig.New(tlsconfig.Options{
		CertFile: t.CertFile, KeyFile: t.KeyFile, ClientCAFile: t.ClientCaFile,
		RequireClientCert: t.RequireClientCert, AllowedDNSNames: t.AllowedDnsNames, AllowedURIs: t.AllowedUris,
		OnReload: func() { l.Info("TLS files reloaded") },
		OnError: func(err error) {
			l.Warn("TLS files changed but could not be loaded; the previous ones stay in use", zap.Error(err))
		},
	})
}

// replicas are the shared state and the audit trail of a serving process.
// They are made once, from the config serve starts with: a reload keeps
// them (a change of shared or audit needs a restart), but takes the new
// auth_limits into the shared budgets (forConfig).
type replicas struct {
	build  authz.Replicas
	redis  *shared.Redis
	audit  *audit.Log
	cancel context.CancelFunc

	mu       sync.Mutex
	limiters map[limiterKey]*shared.Limiter
}

// limiterKey is a shared budget's settings: a reload that keeps them keeps
// the limiter (and its local fallback budgets).
type limiterKey struct {
	name                      string
	perMinute, burst, tracked int
}

// forConfig returns what an engine built from cfg shares: the same Redis,
// revocations and audit trail, with shared budgets of cfg's auth_limits.
func (r *replicas) forConfig(cfg *configv1.Config) authz.Replicas {
	b := r.build
	if r.redis == nil {
		return b
	}
	l := cfg.AuthLimits
	tracked := int(l.GetMaxTracked())
	b.UserBudget, b.AddressBudget = nil, nil
	if pu := l.GetPerUser(); !pu.GetDisabled() {
		b.UserBudget = r.limiter(limiterKey{"user", int(pu.PerMinute), int(pu.Burst), tracked})
	}
	if pa := l.GetPerAddress(); !pa.GetDisabled() {
		b.AddressBudget = r.limiter(limiterKey{"address", int(pa.PerMinute), int(pa.Burst), tracked})
	}
	return b
}

func (r *replicas) limiter(k limiterKey) *shared.Limiter {
	r.mu.Lock()
	defer r.mu.Unlock()
	if l, ok := r.limiters[k]; ok {
		return l
	}
	if r.limiters == nil {
		r.limiters = map[limiterKey]*shared.Limiter{}
	}
	l := r.redis.NewLimiter(k.name, k.perMinute, k.burst, k.tracked)
	r.limiters[k] = l
	return l
}

// sameReplicas reports whether two configs share the same way and keep the
// same audit trail: a change of shared or audit takes a restart.
func sameReplicas(a, b *configv1.Config) bool {
	return proto.Equal(a.GetShared(), b.GetShared()) && proto.Equal(a.GetAudit(), b.GetAudit())
}

// openReplicas opens the shared Redis and the audit trail the config asks
// for, and starts following revocations. It does not wait for Redis: a
// Redis that is down is a fallback, not a failure to start.
func openReplicas(ctx context.Context, cfg *configv1.Config, sec *config.Secrets, log *zap.Logger, reg prometheus.Registerer) (*replicas, error) {
	r := &replicas{cancel: func() {}}
	redis.SetLogger(redisLogger{log.Named("redis")})
	if a := cfg.GetAudit(); a.GetPath() != "" {
		l, err := audit.Open(audit.Options{Path: a.Path, MaxSizeBytes: int64(a.MaxSizeBytes), Keep: int(a.Keep), Buffer: int(a.Buffer)},
			log.Named("audit"), audit.NewMetrics(reg))
		if err != nil {
			return nil, err
		}
		r.audit, r.build.Audit = l, l
	}
	opts, ok := sharedOptions(cfg, sec.SharedRedisPassword)
	if !ok {
		return r, nil
	}
	rd, err := shared.Open(opts, log.Named("shared"), shared.NewMetrics(reg))
	if err != nil {
		r.close()
		return nil, err
	}
	r.redis = rd
	if c := cfg.Shared.GetCache(); c.GetEnabled() {
		ttl := c.Ttl.AsDuration()
		r.build.CacheStore = func(store session.Store, keep []string) session.Store {
			return rd.NewCachedStore(store, ttl, keep)
		}
	}
	revs := rd.NewRevocations(nil)
	r.build.Revocations = revs
	rctx, cancel := context.WithCancel(ctx)
	r.cancel = cancel
	go revs.Run(rctx)
	return r, nil
}

// close stops following revocations, writes the buffered audit records and
// closes Redis.
func (r *replicas) close() {
	r.cancel()
	if r.audit != nil {
		_ = r.audit.Close()
	}
	if r.redis != nil {
		_ = r.redis.Close()
	}
}

// redisLogger takes go-redis' own messages (a failed dial, once per
// attempt) at debug level: an outage is logged once, by the shared layer
// or the session store, not once per connection attempt.
type redisLogger struct{ log *zap.Logger }

func (l redisLogger) Printf(_ context.Context, format string, v ...any) {
	if ce := l.log.Check(zap.DebugLevel, "go-redis"); ce != nil {
		ce.Write(zap.String("message", fmt.Sprintf(format, v...)))
	}
}
