package config

import configv1 "github.com/lbauthz/lbauthz/proto/lbauthz/config/v1"

// SecretFiles lists the files a config reads its secrets from, so a change
// to one (Kubernetes rotating a mounted Secret) can reload the config.
func SecretFiles(cfg *configv1.Config) []string {
	var files []string
	add := func(f string) {
		if f != "" {
			files = append(files, f)
		}
	}
	add(cfg.GetLiveblocks().GetSecretKeyFile())
	s := cfg.GetSession()
	add(s.GetJwt().GetHmacSecretFile())
	add(s.GetJwt().GetPublicKeyFile())
	for _, f := range s.GetCookieSecretFiles() {
		add(f)
	}
	for _, f := range s.GetAppSecretFiles() {
		add(f)
	}
	add(s.GetRedis().GetPasswordFile())
	add(s.GetSql().GetPasswordFile())
	add(cfg.GetShared().GetRedis().GetPasswordFile())
	add(cfg.GetListen().GetAdminTokenFile())
	for _, src := range cfg.GetMoreSessions() {
		more := SecretFiles(&configv1.Config{Session: src.GetSession()})
		files = append(files, more...)
	}
	return files
}
