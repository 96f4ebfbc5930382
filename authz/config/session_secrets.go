package config

import (
	"fmt"

	configv1 "github.com/lbauthz/lbauthz/proto/lbauthz/config/v1"
)

// SessionSecrets are the session store's secrets.
type SessionSecrets struct {
	// CookieSecrets are the app's cookie signing secrets, in the order of
	// session.cookie_secret_files.
	CookieSecrets [][]byte
	// RedisPassword is read from session.redis.password_file.
	RedisPassword string
	// SQLPassword is read from session.sql.password_file.
	SQLPassword string
	// AppSecrets are the app's own secrets (a framework's SECRET_KEY and
	// its fallbacks), in the order of session.app_secret_files.
	AppSecrets [][]byte
}

func readSessionSecrets(s *configv1.Session, out *SessionSecrets) error {
	for i, f := range s.GetCookieSecretFiles() {
		b, err := readSecretFile(fmt.Sprintf("session.cookie_secret_files[%d]", i), f)
		if err != nil {
			return err
		}
		out.CookieSecrets = append(out.CookieSecrets, b)
	}
	for i, f := range s.GetAppSecretFiles() {
		b, err := readSecretFile(fmt.Sprintf("session.app_secret_files[%d]", i), f)
		if err != nil {
			return err
		}
		out.AppSecrets = append(out.AppSecrets, b)
	}
	if f := s.GetRedis().GetPasswordFile(); f != "" {
		b, err := readSecretFile("session.redis.password_file", f)
		if err != nil {
			return err
		}
		out.RedisPassword = string(b)
	}
	if f := s.GetSql().GetPasswordFile(); f != "" {
		b, err := readSecretFile("session.sql.password_file", f)
		if err != nil {
			return err
		}
		out.SQLPassword = string(b)
	}
	return nil
}
