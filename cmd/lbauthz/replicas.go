package main

import (
	"crypto/tls"
	"net"

	"go.uber.org/zap"

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
