package shared

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
	"go.uber.org/zap"
)

// Options says how to reach the Redis that the replicas share.
type Options struct {
	// Addrs are host:port addresses: one for a single server, several for
	// the seed nodes of a Redis Cluster, or the Sentinels when MasterName is
	// set.
	Addrs []string
	// MasterName is the name of the master that the Sentinels watch; empty
	// when Addrs are not Sentinels.
	MasterName string
	// Cluster makes a single address be taken as a Cluster's configuration
	// endpoint (several addresses always mean a Cluster).
	Cluster bool

	Username, Password string
	SentinelUsername   string
	SentinelPassword   string
	DB                 int         // ignored by a Cluster
	TLS                *tls.Config // nil: plain TCP

	// KeyPrefix starts every key and channel name ("lbauthz:" when empty),
	// so that several deployments can share one Redis.
	KeyPrefix string
	// Timeout bounds one command (100ms when zero): past it the request is
	// answered from local state, so keep it well under the front proxy's
	// timeout.
	Timeout time.Duration
	// ProbeInterval is how often a Redis marked down is asked again (1s
	// when zero).
	ProbeInterval time.Duration
}

// Redis is the connection to the shared Redis and its health. When a
// command fails, Redis is marked down: the parts answer from local state
// without asking it, and a probe asks it every ProbeInterval until it
// answers, then marks it up again. Each change is logged once.
type Redis struct {
	client  redis.UniversalClient
	prefix  string
	timeout time.Duration
	probe   time.Duration
	log     *zap.Logger
	metrics *Metrics

	up      atomic.Bool
	probing atomic.Bool
	closed  chan struct{}
	wg      sync.WaitGroup
}

// Open returns a connection to the shared Redis. It does not connect: the
// first command does, so lbauthz starts while Redis is down (as down). log
// and m may be nil.
func Open(opts Options, log *zap.Logger, m *Metrics) (*Redis, error) {
	if len(opts.Addrs) == 0 {
		return nil, errors.New("shared.redis.addrs: no address")
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 100 * time.Millisecond
	}
	if opts.ProbeInterval <= 0 {
		opts.ProbeInterval = time.Second
	}
	if opts.KeyPrefix == "" {
		opts.KeyPrefix = "lbauthz:"
	}
	if log == nil {
		log = zap.NewNop()
	}
	client := redis.NewUniversalClient(&redis.UniversalOptions{
		Addrs:            opts.Addrs,
		MasterName:       opts.MasterName,
		IsClusterMode:    opts.Cluster,
		Username:         opts.Username,
		Password:         opts.Password,
		SentinelUsername: opts.SentinelUsername,
		SentinelPassword: opts.SentinelPassword,
		DB:               opts.DB,
		TLSConfig:        opts.TLS,
		// The command's own timeout bounds it, whatever the caller's
		// deadline: a hung Redis costs a request at most Timeout.
		ContextTimeoutEnabled: true,
		DialTimeout:           opts.Timeout,
		ReadTimeout:           opts.Timeout,
		WriteTimeout:          opts.Timeout,
		PoolTimeout:           opts.Timeout,
		// No retry: a failure falls back at once, and the probe reconnects.
		MaxRetries:               -1,
		DialerRetries:            1,
		DisableIdentity:          true,
		MaintNotificationsConfig: &maintnotifications.Config{Mode: maintnotifications.ModeDisabled},
	})
	r := &Redis{client: client, prefix: opts.KeyPrefix, timeout: opts.Timeout, probe: opts.ProbeInterval,
		log: log, metrics: m, closed: make(chan struct{})}
	r.up.Store(true)
	if m != nil {
		m.up.Set(1)
	}
	return r, nil
}

// Up reports whether Redis is in use (not marked down).
func (r *Redis) Up() bool { return r.up.Load() }

// Close stops the probe and closes the connections.
func (r *Redis) Close() error {
	select {
	case <-r.closed:
		return nil
	default:
	}
	close(r.closed)
	r.wg.Wait()
	return r.client.Close()
}

// key joins parts into a key under the prefix.
func (r *Redis) key(parts ...string) string {
	k := r.prefix
	for i, p := range parts {
		if i > 0 {
			k += ":"
		}
		k += p
	}
	return k
}

// ctx returns the context of one command: the caller's values, the
// command's own timeout, and not the caller's cancellation, so that a
// client that leaves does not mark Redis down.
func (r *Redis) ctx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), r.timeout)
}

// failed marks Redis down after a command of feature failed, logs it once
// and starts the probe that brings it back.
func (r *Redis) failed(feature string, err error) {
	r.metrics.fallback(feature)
	if !r.up.CompareAndSwap(true, false) {
		return
	}
	r.metrics.setUp(false)
	r.log.Warn("shared state on Redis unavailable: answering from local limits and cache until it answers again",
		zap.String("feature", feature), zap.Error(redisError(err)))
	r.startProbe()
}

func (r *Redis) startProbe() {
	if !r.probing.CompareAndSwap(false, true) {
		return
	}
	r.wg.Go(func() {
		defer r.probing.Store(false)
		t := time.NewTicker(r.probe)
		defer t.Stop()
		for {
			select {
			case <-r.closed:
				return
			case <-t.C:
			}
			ctx, cancel := r.ctx(context.Background())
			err := r.client.Ping(ctx).Err()
			cancel()
			if err == nil {
				r.up.Store(true)
				r.metrics.setUp(true)
				r.log.Info("shared state on Redis available again")
				return
			}
		}
	})
}

// hashKey turns a user id or a cookie value into a key part: the same in
// every replica, and neither the value nor short enough to guess it back
// from.
func hashKey(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:16])
}

// redisError keeps what an error says about Redis, never a key (which may
// hold a hash of a session).
func redisError(err error) error {
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return errors.New("redis: timeout")
	case errors.Is(err, context.Canceled):
		return errors.New("redis: canceled")
	}
	return err
}
