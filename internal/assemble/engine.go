// Package assemble builds what a config describes: the engine (its session
// store, Liveblocks client, rooms and limits) and the doors' settings. It is
// the one place that reads the config schema to make the runtime parts; the
// engine and the doors know nothing of it.
package assemble

import (
	"errors"
	"fmt"

	"go.opentelemetry.io/otel/trace"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/lbauthz/lbauthz/authz"
	"github.com/lbauthz/lbauthz/authz/config"
	"github.com/lbauthz/lbauthz/authz/directory"
	"github.com/lbauthz/lbauthz/liveblocks"
	configv1 "github.com/lbauthz/lbauthz/proto/lbauthz/config/v1"
)

// Option gives Engine what the config does not hold: the metrics
// and the tracing, which outlive each config's engine.
type Option func(*buildOptions)

type buildOptions struct {
	metrics  *authz.Metrics
	tracing  trace.TracerProvider
	replicas authz.Replicas
}

// WithReplicas gives the engine what it shares with the other replicas and
// its audit trail (authz.Replicas).
func WithReplicas(r authz.Replicas) Option { return func(o *buildOptions) { o.replicas = r } }

// WithMetrics makes the engine report into m.
func WithMetrics(m *authz.Metrics) Option { return func(o *buildOptions) { o.metrics = m } }

// WithTracerProvider makes the engine trace its decisions, session lookups
// and calls to Liveblocks with tp. Without it, tracing is off and costs
// nothing.
func WithTracerProvider(tp trace.TracerProvider) Option {
	return func(o *buildOptions) { o.tracing = tp }
}

// Engine builds an engine from a loaded, validated config and its secrets.
func Engine(cfg *configv1.Config, sec *config.Secrets, log *zap.Logger, with ...Option) (*authz.Engine, error) {
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
		HTTPClient: authz.LiveblocksHTTPClient(b.metrics, b.tracing),
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
	limits, err := limitsFromConfig(cfg.AuthLimits)
	if err != nil {
		return nil, fmt.Errorf("auth_limits: %w", err)
	}
	trustedPeers, err := config.TrustedPeers(cfg.HttpDoors)
	if err != nil {
		return nil, err
	}
	accessLevel := zapcore.DebugLevel
	if l := cfg.GetLog().GetAccessLevel(); l != "" {
		if accessLevel, err = zapcore.ParseLevel(l); err != nil {
			return nil, fmt.Errorf("log.access_level: %w", err)
		}
	}
	more, err := moreSources(cfg, sec, b)
	if err != nil {
		_ = resolver.Close()
		return nil, err
	}
	dir, err := directory.FromConfig(cfg.GetDirectory(), lb, log)
	if err != nil {
		_ = resolver.Close()
		return nil, err
	}
	h := cfg.UpstreamHeaders
	e, err := authz.New(authz.Options{
		AuthPath:       cfg.Liveblocks.AuthPath,
		CookieName:     cfg.Session.Cookie,
		Bearer:         cfg.Session.Bearer,
		Header:         cfg.Session.Header,
		MoreSources:    more,
		MaxCookieBytes: int(cfg.Session.MaxCookieBytes),
		Sessions:       resolver,
		// Pass-through requests when the store is down: anonymous, or 503.
		UnavailableOnStoreError: cfg.Session.OnStoreError == config.OnStoreErrorUnavailable,
		Liveblocks:              lb,
		LiveblocksTimeout:       cfg.Liveblocks.Timeout.AsDuration(),
		Headers:                 authz.HeaderNames{UserID: h.UserId, GroupIDs: h.GroupIds, UserInfo: h.UserInfo},
		Provisioner:             provisioner,
		AccessPolicy:            policy,
		Limits:                  limits,
		UnlimitedPeers:          trustedPeers,
		StoreKind:               storeKind(cfg.Session),
		Logger:                  log,
		AccessLevel:             accessLevel,
		Metrics:                 b.metrics,
		TracerProvider:          b.tracing,
		Replicas:                b.replicas,
		Directory:               dir,
	})
	if err != nil && dir != nil {
		dir.Close()
	}
	return e, err
}
