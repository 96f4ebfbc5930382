package authz

import (
	"errors"
	"fmt"
	"sync/atomic"

	"go.uber.org/zap"

	"github.com/lbauthz/lbauthz/authz/config"
	"github.com/lbauthz/lbauthz/liveblocks"
	configv1 "github.com/lbauthz/lbauthz/proto/lbauthz/config/v1"
)

// FromConfig builds an engine from a loaded config and its secrets.
func FromConfig(cfg *configv1.Config, sec *config.Secrets, log *zap.Logger) (*Engine, error) {
	if err := liveblocks.ValidateSecretKey(sec.LiveblocksSecretKey); err != nil {
		var ve *liveblocks.ValidationError
		if errors.As(err, &ve) {
			err = errors.New(ve.Reason) // the reason never holds the key
		}
		return nil, fmt.Errorf("the Liveblocks secret key (liveblocks.secret_key_file or LIVEBLOCKS_SECRET_KEY) is not a secret key of the form sk_...: %w", err)
	}
	lb, err := liveblocks.New(liveblocks.Options{BaseURL: cfg.Liveblocks.BaseUrl, SecretKey: sec.LiveblocksSecretKey})
	if err != nil {
		return nil, err
	}
	resolver, err := sessionsFromConfig(cfg, sec) // build_session.go
	if err != nil {
		return nil, err
	}
	provisioner, policy, err := roomsFromConfig(cfg, lb)
	if err != nil {
		return nil, err
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
		Logger:                  log,
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
