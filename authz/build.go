package authz

import (
	"errors"
	"fmt"
	"sync/atomic"

	"go.opentelemetry.io/otel/trace"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/lbauthz/lbauthz/authz/config"
	"github.com/lbauthz/lbauthz/liveblocks"
	configv1 "github.com/lbauthz/lbauthz/proto/lbauthz/config/v1"
)

// BuildOption gives FromConfig what the config does not hold: the metrics
// and the tracing, which outlive each config's engine.
type BuildOption func(*buildOptions)

type buildOptions struct {
	metrics  *Metrics
	tracing  trace.TracerProvider
	replicas Replicas
}

// WithReplicas gives the engine what it shares with the other replicas and
// its audit trail (replicas.go).
func WithReplicas(r Replicas) BuildOption { return func(o *buildOptions) { o.replicas = r } }

// WithMetrics makes the engine report into m.
func WithMetrics(m *Metrics) BuildOption { return func(o *buildOptions) { o.metrics = m } }

// WithTracerProvider makes the engine trace its decisions, session lookups
// and calls to Liveblocks with tp. Without it, tracing is off and costs
// nothing.
func WithTracerProvider(tp trace.TracerProvider) BuildOption {
	return func(o *buildOptions) { o.tracing = tp }
}

// FromConfig builds an engine from a loaded config and its secrets.
func FromConfig(cfg *configv1.Config, sec *config.Secrets, log *zap.Logger, with ...BuildOption) (*Engine, error) {
	var b buildOptions
	for _, f := range with {
		f(&b)
	}
	if err := liveblocks.ValidateSecretKey(sec.LiveblocksSecretKey); err != nil {
		var ve *liveblocks.ValidationError
		if errors.As(err, &ve) {
			err = errors.New(ve.Reason) // the reason never holds the key
		}
		return nil, fmt.Errorf("the Liveblocks secret key (liveblocks.secret_key_file or LIVEBLOCKS_SECRET_KEY) is not a secret key of the form sk_...: %w", err)
	}
	lb, err := liveblocks.New(liveblocks.Options{
		BaseURL: cfg.Liveblocks.BaseUrl, SecretKey: sec.LiveblocksSecretKey,
		HTTPClient: liveblocksHTTPClient(b.metrics, b.tracing), // liveblocks_transport.go
	})
	if err != nil {
		return nil, err
	}
	resolver, err := sessionsFromConfig(cfg, sec, b) // build_session.go
	if err != nil {
		return nil, err
	}
	provisioner, policy, err := roomsFromConfig(cfg, lb)
	if err != nil {
		return nil, err
	}
	limits, err := LimitsFromConfig(cfg.AuthLimits)
	if err != nil {
		return nil, fmt.Errorf("auth_limits: %w", err)
	}
	doors, err := HTTPDoorOptionsFromConfig(cfg.HttpDoors)
	if err != nil {
		return nil, err
	}
	accessLevel := zapcore.DebugLevel
	if l := cfg.GetLog().GetAccessLevel(); l != "" {
		if accessLevel, err = zapcore.ParseLevel(l); err != nil {
			return nil, fmt.Errorf("log.access_level: %w", err)
		}
	}
	h := cfg.UpstreamHeaders
	return New(Options{
		AuthPath:       cfg.Liveblocks.AuthPath,
		CookieName:     cfg.Session.Cookie,
		MaxCookieBytes: int(cfg.Session.MaxCookieBytes),
		Sessions:       resolver,
		// Pass-through requests when the store is down: anonymous, or 503.
		UnavailableOnStoreError: cfg.Session.OnStoreError == config.OnStoreErrorUnavailable,
		Liveblocks:              lb,
		LiveblocksTimeout:       cfg.Liveblocks.Timeout.AsDuration(),
		Headers:                 HeaderNames{UserID: h.UserId, GroupIDs: h.GroupIds, UserInfo: h.UserInfo},
		Provisioner:             provisioner,
		AccessPolicy:            policy,
		Limits:                  limits,
		TrustedPeers:            doors.TrustedPeers,
		MaxBodyBytes:            doors.MaxBodyBytes,
		StoreKind:               storeKind(cfg.Session),
		Logger:                  log,
		AccessLevel:             accessLevel,
		Metrics:                 b.metrics,
		TracerProvider:          b.tracing,
		Replicas:                b.replicas,
	})
}

// Holder holds the engine in use and swaps it atomically; requests keep the
// engine they started with.
type Holder struct{ p atomic.Pointer[Engine] }

// NewHolder returns a holder of e.
func NewHolder(e *Engine) *Holder {
	h := &Holder{}
	h.p.Store(e)
	return h
}

// Engine returns the engine in use.
func (h *Holder) Engine() *Engine { return h.p.Load() }

// Swap puts e in use.
func (h *Holder) Swap(e *Engine) { h.p.Store(e) }
