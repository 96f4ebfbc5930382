package main

import (
	"go.uber.org/zap"

	"github.com/lbauthz/lbauthz/authz/config"
	"github.com/lbauthz/lbauthz/internal/admin"
	configv1 "github.com/lbauthz/lbauthz/proto/lbauthz/config/v1"
)

// newAdmin returns the admin API the config asks for, publishing through
// the shared Redis of rep; nil when listen.admin is empty.
func newAdmin(cfg *configv1.Config, sec *config.Secrets, rep *replicas, log *zap.Logger) (*admin.Handler, error) {
	if cfg.Listen.Admin == "" {
		return nil, nil
	}
	opts := admin.Options{
		DefaultTTL:         config.DefaultRevocationTTL,
		Token:              sec.AdminToken,
		ClientCertRequired: cfg.Listen.AdminTls.GetRequireClientCert(),
		Log:                log.Named("admin"),
	}
	if rep.redis != nil {
		opts.Revoker = rep.redis
		opts.DefaultTTL = cfg.Shared.RevocationTtl.AsDuration()
	}
	return admin.New(opts)
}
