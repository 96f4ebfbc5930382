package session

import (
	"context"
	"crypto/tls"
	"errors"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
)

// RedisOptions configures a RedisStore.
type RedisOptions struct {
	Address  string // host:port
	Username string
	Password string
	DB       int
	TLS      bool
	PoolSize int // 0: go-redis' default (10 per CPU)

	// KeyTemplate makes the key from the session id: "{id}" is replaced,
	// e.g. "sess:{id}". Without a literal prefix, every key of the database
	// is a session whose name the cookie chooses: use one unless the cookie
	// is signed (the config refuses it otherwise).
	KeyTemplate string
	// ExpiresPath, when set, is the dotted path of the session's end in the
	// document (express-session's "cookie.expires").
	ExpiresPath string
	// Timeout bounds one lookup (1s when zero); the caller's deadline
	// applies when shorter.
	Timeout time.Duration
	// Decode reads a stored session; nil reads a JSON document
	// (DecodeDocument). It returns an *InvalidError for a bad session.
	Decode func([]byte) (map[string]any, error)
}

// RedisStore reads sessions that the app keeps in Redis as JSON strings
// (connect-redis, and most Redis session libraries). A lookup is one round
// trip: GET of the session and PTTL of its key, so a cached identity never
// outlives the key.
type RedisStore struct {
	client         *redis.Client
	prefix, suffix string
	expiresPath    string
	timeout        time.Duration
	decode         func([]byte) (map[string]any, error)
	now            func() time.Time
}

// NewRedisStore returns a store; it does not connect until the first
// lookup, so the sidecar starts while Redis is down.
func NewRedisStore(opts RedisOptions) (*RedisStore, error) {
	prefix, suffix, ok := strings.Cut(opts.KeyTemplate, "{id}")
	if !ok || strings.Contains(suffix, "{id}") {
		return nil, errors.New(`redis: the key template must hold "{id}" exactly once`)
	}
	if opts.Address == "" {
		return nil, errors.New("redis: no address")
	}
	if opts.Timeout <= 0 {
		opts.Timeout = time.Second
	}
	if opts.Decode == nil {
		opts.Decode = DecodeDocument
	}
	ropts := &redis.Options{
		Addr:     opts.Address,
		Username: opts.Username,
		Password: opts.Password,
		DB:       opts.DB,
		PoolSize: opts.PoolSize,
		// The request's deadline (Envoy's ext_authz timeout) bounds every
		// command, so a slow Redis gives a 503 in time, not a proxy error.
		ContextTimeoutEnabled: true,
		DialTimeout:           opts.Timeout,
		ReadTimeout:           opts.Timeout,
		WriteTimeout:          opts.Timeout,
		PoolTimeout:           opts.Timeout,
		// One retry: a pooled connection that Redis closed (a restart) is
		// replaced at once instead of failing the next request. Dials are
		// not retried: a Redis that refuses must answer 503 quickly.
		MaxRetries:               1,
		DialerRetries:            1,
		DisableIdentity:          true,
		MaintNotificationsConfig: &maintnotifications.Config{Mode: maintnotifications.ModeDisabled},
	}
	if opts.TLS {
		host := opts.Address
		if i := strings.LastIndexByte(host, ':'); i >= 0 {
			host = strings.Trim(host[:i], "[]")
		}
		ropts.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12, ServerName: host}
	}
	return &RedisStore{
		client: redis.NewClient(ropts), prefix: prefix, suffix: suffix,
		expiresPath: opts.ExpiresPath, timeout: opts.Timeout, now: time.Now, decode: opts.Decode,
	}, nil
}

// Lookup reads the session stored under the id's key. An id that CheckID
// refuses is invalid without asking Redis.
func (s *RedisStore) Lookup(ctx context.Context, id string) (Data, error) {
	if err := CheckID(id); err != nil {
		return Data{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	key := s.prefix + id + s.suffix
	pipe := s.client.Pipeline()
	get := pipe.Get(ctx, key)
	pttl := pipe.PTTL(ctx, key)
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return Data{}, &UnavailableError{Err: redisError(err)}
	}
	raw, err := get.Bytes()
	if errors.Is(err, redis.Nil) {
		return Data{}, Invalid("unknown session")
	}
	if err != nil {
		return Data{}, &UnavailableError{Err: redisError(err)}
	}
	doc, err := s.decode(raw)
	if err != nil {
		return Data{}, err
	}
	var d Data
	d.Doc = doc
	if ttl, err := pttl.Result(); err == nil && ttl > 0 {
		d.Expires = s.now().Add(ttl)
	}
	if s.expiresPath != "" {
		if t, ok := expiresAt(lookup(doc, s.expiresPath)); ok {
			d.Expires = earliest(d.Expires, t)
		}
	}
	if !d.Expires.IsZero() && !s.now().Before(d.Expires) {
		return Data{}, &InvalidError{Reason: "expired", Step: "expired"}
	}
	return d, nil
}

// Close closes the connections to Redis.
func (s *RedisStore) Close() error { return s.client.Close() }

// redisError keeps what a Redis error says about the server, never the key
// (which holds the session id).
func redisError(err error) error {
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return errors.New("redis: timeout")
	case errors.Is(err, context.Canceled):
		return errors.New("redis: canceled")
	}
	return err
}
