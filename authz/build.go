package authz

import (
	"fmt"
	"sync/atomic"

	"go.uber.org/zap"

	"github.com/lbauthz/lbauthz/authz/config"
	"github.com/lbauthz/lbauthz/authz/session"
	"github.com/lbauthz/lbauthz/liveblocks"
	configv1 "github.com/lbauthz/lbauthz/proto/lbauthz/config/v1"
)

// FromConfig builds an engine from a loaded config and its secrets.
func FromConfig(cfg *configv1.Config, sec *config.Secrets, log *zap.Logger) (*Engine, error) {
	lb, err := liveblocks.New(liveblocks.Options{BaseURL: cfg.Liveblocks.BaseUrl, SecretKey: sec.LiveblocksSecretKey})
	if err != nil {
		return nil, fmt.Errorf("liveblocks: %w", err)
	}
	store, err := storeFromConfig(cfg.Session, sec)
	if err != nil {
		return nil, err
	}
	id := cfg.Identity
	c := cfg.Session.Cache
	resolver := session.NewResolver(store,
		&session.Mapping{UserID: id.UserId, GroupIDs: id.GroupIds, UserInfo: id.UserInfo},
		session.CacheOptions{
			TTL: c.Ttl.AsDuration(), NegativeTTL: c.NegativeTtl.AsDuration(),
			MaxEntries: int(c.MaxEntries), Disabled: c.Disabled,
		})
	h := cfg.UpstreamHeaders
	return New(Options{
		AuthPath:          cfg.Liveblocks.AuthPath,
		CookieName:        cfg.Session.Cookie,
		MaxCookieBytes:    int(cfg.Session.MaxCookieBytes),
		Sessions:          resolver,
		Liveblocks:        lb,
		LiveblocksTimeout: cfg.Liveblocks.Timeout.AsDuration(),
		Headers:           HeaderNames{UserID: h.UserId, GroupIDs: h.GroupIds, UserInfo: h.UserInfo},
		Logger:            log,
	})
}

func storeFromConfig(s *configv1.Session, sec *config.Secrets) (session.Store, error) {
	j := s.Jwt
	opts := session.JWTOptions{
		Algorithms: j.Algorithms, HMACSecret: sec.HMACSecret,
		Issuer: j.Issuer, Audience: j.Audience, Leeway: j.Leeway.AsDuration(),
	}
	if len(sec.PublicKeysPEM) > 0 {
		keys, err := session.ParsePublicKeys(sec.PublicKeysPEM)
		if err != nil {
			return nil, fmt.Errorf("session.jwt.public_key_file: %w", err)
		}
		opts.PublicKeys = keys
	}
	st, err := session.NewJWTStore(opts)
	if err != nil {
		return nil, fmt.Errorf("session.jwt: %w", err)
	}
	return st, nil
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
