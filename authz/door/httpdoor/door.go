package httpdoor

import (
	"net/http"

	"github.com/lbauthz/lbauthz/authz/config"
	"github.com/lbauthz/lbauthz/authz/door"
	configv1 "github.com/lbauthz/lbauthz/proto/lbauthz/config/v1"
)

// name is the HTTP doors' name in the registry and their logger's.
const name = "http_doors"

// Door registers the HTTP doors (the direct auth endpoint and the /check/*
// doors) on the HTTP listener, with their settings from http_doors; a
// reload changes those settings.
var Door = door.Builder{
	Name: name,
	New: func(cfg *configv1.Config, env door.Env) (door.Door, error) {
		s, err := SettingsFromConfig(cfg.HttpDoors)
		if err != nil {
			return nil, err
		}
		return &registered{env: env, settings: s}, nil
	},
}

// SettingsFromConfig reads the http_doors section of a validated config (nil
// gives the defaults).
func SettingsFromConfig(c *configv1.HTTPDoors) (Settings, error) {
	peers, err := config.TrustedPeers(c)
	if err != nil {
		return Settings{}, err
	}
	return Settings{TrustedPeers: peers, MaxBodyBytes: int64(c.GetMaxBodyBytes()), TrustedHops: int(c.GetTrustedHops())}, nil
}

// registered is the HTTP doors as serve builds them: the Handler exists once
// serve has put the doors on its listener.
type registered struct {
	env      door.Env
	settings Settings
	h        *Handler
}

var (
	_ door.HTTP       = (*registered)(nil)
	_ door.Reloadable = (*registered)(nil)
)

func (*registered) Name() string { return name }

// HTTPHandler returns the doors over next (/healthz, /readyz, /metrics).
func (d *registered) HTTPHandler(next http.Handler) http.Handler {
	d.h = New(d.env.Engines, Options{Settings: d.settings, Next: next, Logger: d.env.Log, ReadTimeout: d.env.HTTPReadTimeout})
	return d.h
}

// Prepare reads the new http_doors settings.
func (d *registered) Prepare(cfg *configv1.Config) (func(), error) {
	s, err := SettingsFromConfig(cfg.HttpDoors)
	if err != nil {
		return nil, err
	}
	return func() {
		d.settings = s
		if d.h != nil {
			d.h.SetSettings(s)
		}
	}, nil
}
