package config

import (
	"bytes"
	"fmt"
	"os"

	configv1 "github.com/lbauthz/lbauthz/proto/lbauthz/config/v1"
)

// Secrets are the values a config points at but does not hold. They never
// appear in errors or logs.
type Secrets struct {
	LiveblocksSecretKey string
	HMACSecret          []byte
	PublicKeysPEM       []byte
	// Session holds the session store's secrets (session_secrets.go).
	Session SessionSecrets
	// SharedRedisPassword is the password of shared.redis.
	SharedRedisPassword string
	// More are the secrets of more_sessions, in order: each the Secrets of
	// SourceConfig(cfg, i+1).
	More []*Secrets
	// AdminToken is the bearer token of the admin listener.
	AdminToken []byte
}

// ReadSecrets reads the files a config names. The Liveblocks secret key comes
// from liveblocks.secret_key_file, or LIVEBLOCKS_SECRET_KEY when no file is
// named. Surrounding whitespace (a trailing newline) is trimmed. Errors name
// the file or variable, never its content.
func ReadSecrets(cfg *configv1.Config, getenv func(string) string) (*Secrets, error) {
	s := &Secrets{}
	if f := cfg.GetLiveblocks().GetSecretKeyFile(); f != "" {
		b, err := readSecretFile("liveblocks.secret_key_file", f)
		if err != nil {
			return nil, err
		}
		s.LiveblocksSecretKey = string(b)
	} else {
		s.LiveblocksSecretKey = string(bytes.TrimSpace([]byte(getenv("LIVEBLOCKS_SECRET_KEY"))))
		if s.LiveblocksSecretKey == "" {
			return nil, fmt.Errorf("no Liveblocks secret key: set liveblocks.secret_key_file or the LIVEBLOCKS_SECRET_KEY environment variable")
		}
	}
	if j := cfg.GetSession().GetJwt(); j != nil {
		if j.HmacSecretFile != "" {
			b, err := readSecretFile("session.jwt.hmac_secret_file", j.HmacSecretFile)
			if err != nil {
				return nil, err
			}
			if len(b) < 32 {
				return nil, fmt.Errorf("session.jwt.hmac_secret_file %s: the secret is %d bytes; HMAC session secrets must be at least 32 bytes", j.HmacSecretFile, len(b))
			}
			s.HMACSecret = b
		}
		if j.PublicKeyFile != "" {
			b, err := readSecretFile("session.jwt.public_key_file", j.PublicKeyFile)
			if err != nil {
				return nil, err
			}
			s.PublicKeysPEM = b
		}
	}
	if err := readSessionSecrets(cfg.GetSession(), &s.Session); err != nil {
		return nil, err
	}
	var err error
	if s.SharedRedisPassword, err = ReadSharedRedisPassword(cfg); err != nil {
		return nil, err
	}
	for i := range cfg.GetMoreSessions() {
		more, err := ReadSecrets(SourceConfig(cfg, i+1), getenv)
		if err != nil {
			return nil, fmt.Errorf("more_sessions[%d]: %w", i, err)
		}
		s.More = append(s.More, more)
	}
	if s.AdminToken, err = ReadAdminToken(cfg); err != nil {
		return nil, err
	}
	return s, nil
}

// readSecretFile reads a secret file, refusing one that anyone may write
// (whoever could replace it chooses the secret). A file others may read is
// only warned about (Warnings): Kubernetes mounts Secrets 0644 unless
// defaultMode says otherwise.
func readSecretFile(field, path string) ([]byte, error) {
	if fi, err := os.Stat(path); err == nil && fi.Mode().Perm()&0o002 != 0 {
		return nil, fmt.Errorf("%s: %s is writable by every user (mode %04o): make it writable by its owner only", field, path, fi.Mode().Perm())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", field, err)
	}
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return nil, fmt.Errorf("%s: %s is empty", field, path)
	}
	return b, nil
}
