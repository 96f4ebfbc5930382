package config

import (
	"fmt"
	"os"
	"slices"

	"github.com/lbauthz/lbauthz/authz/rooms"
	configv1 "github.com/lbauthz/lbauthz/proto/lbauthz/config/v1"
)

// Warning is a setting that loads, but weakens what the sidecar protects or
// refuses what the app needs: `lbauthz validate` prints each one and
// `lbauthz serve` logs them.
type Warning struct {
	Field   string // the config field, e.g. "session.jwt.require_exp"
	Message string // why it is risky; never a secret
}

func (w Warning) String() string { return w.Field + ": " + w.Message }

// Warnings returns the risky settings of a loaded config: a Redis key
// template without a literal prefix, JWTs accepted without "exp", plain
// http allowed off loopback, secret files that other users may read,
// trusted peers wider than a proxy's addresses, gRPC reflection on, and
// access-token grants that all depend on {room} (no inbox). It
// reads the mode of the secret files, not their content.
func Warnings(cfg *configv1.Config) []Warning {
	var ws []Warning
	add := func(field, format string, args ...any) {
		ws = append(ws, Warning{Field: field, Message: fmt.Sprintf(format, args...)})
	}
	s := cfg.GetSession()
	if r := s.GetRedis(); r != nil && UnprefixedKeyTemplate(r.KeyTemplate) {
		add("session.redis.key_template", "%q has no literal prefix: any key of the database holding JSON is a session to whoever can sign a cookie for its name", r.KeyTemplate)
	}
	if j := s.GetJwt(); j != nil && j.RequireExp != nil && !*j.RequireExp {
		add("session.jwt.require_exp", "false: a token without \"exp\" is accepted forever, even after the user signed out")
	}
	for _, u := range []struct {
		field, url string
		allowed    bool
	}{
		{"liveblocks.base_url", cfg.GetLiveblocks().GetBaseUrl(), cfg.GetLiveblocks().GetAllowInsecureHttp()},
		{"session.jwt.jwks_url", s.GetJwt().GetJwksUrl(), s.GetJwt().GetAllowInsecureHttp()},
		{"session.introspection.url", s.GetIntrospection().GetUrl(), s.GetIntrospection().GetAllowInsecureHttp()},
	} {
		if u.allowed && InsecureURL(u.url) {
			add(u.field, "%q is plain http off loopback (allow_insecure_http): whoever is on the path reads and changes what it carries", u.url)
		}
	}
	for _, f := range SecretFileFields(cfg) {
		if w := secretFileWarning(f.Path); w != "" {
			add(f.Field, "%s %s", f.Path, w)
		}
	}
	if cfg.GetListen().GetGrpcReflection() && cfg.GetListen().GetGrpc() != "" {
		add("listen.grpc_reflection", "true: whoever can reach %s can list the gRPC services and read their schemas", cfg.GetListen().GetGrpc())
	}
	if l := cfg.GetListen(); l.GetAdmin() != "" && l.GetAdminTokenFile() != "" && l.GetAdminTls() == nil && !loopbackAddr(l.GetAdmin()) {
		add("listen.admin_token_file", "the admin listener %s is plain HTTP off loopback: whoever is on the path reads the token (set listen.admin_tls)", l.GetAdmin())
	}
	if cfg.GetLiveblocks().GetMode() == ModeAccessToken {
		if c, err := rooms.Compile(cfg.GetRooms()); err == nil && c.Policy != nil && !c.Policy.GrantsWithoutRoom() {
			add("rooms.access_token.grants", `every grant depends on {room}: a token without a room (the inbox of Notifications, the client's {} body) is refused with 403; add one that does not, e.g. pattern "{organization_id}:*" or "user-{user_id}:*" with ["*:read"]`)
		}
	}
	for i, p := range cfg.GetHttpDoors().GetTrustedPeers() {
		if WideTrustedPeer(p) {
			add(fmt.Sprintf("http_doors.trusted_peers[%d]", i), "%q is wider than a proxy's addresses: every host in it can choose the client address the per-address limit counts, and call the check doors", p)
		}
	}
	return ws
}

// WideTrustedPeer reports whether a trusted_peers entry covers more than a
// proxy's few addresses: an IPv4 prefix shorter than /24 or an IPv6 prefix
// shorter than /64 that is not loopback (0.0.0.0/0 and 10.0.0.0/8 are).
func WideTrustedPeer(p string) bool {
	pfx, err := ParsePeer(p)
	if err != nil || pfx.Addr().IsLoopback() && pfx.Bits() >= 8 {
		return false
	}
	if pfx.Addr().Is4() {
		return pfx.Bits() < 24
	}
	return pfx.Bits() < 64
}

// secretFileWarning says who besides its owner may read a secret file, or
// "" when nobody may (or the file cannot be read: ReadSecrets says so). A
// group that the sidecar itself belongs to is its own (Kubernetes' fsGroup).
func secretFileWarning(path string) string {
	fi, err := os.Stat(path)
	if err != nil {
		return ""
	}
	perm := fi.Mode().Perm()
	if perm&0o004 != 0 {
		return fmt.Sprintf("is readable by every user (mode %04o); 0400 or 0440 with the sidecar's group is enough", perm)
	}
	if perm&0o040 != 0 {
		if gid, ok := fileGroup(fi); ok && !ownGroup(gid) {
			return fmt.Sprintf("is readable by group %d, which the sidecar is not in (mode %04o)", gid, perm)
		}
	}
	return ""
}

func ownGroup(gid int) bool {
	if gid == os.Getgid() || gid == os.Getegid() {
		return true
	}
	groups, err := os.Getgroups()
	return err == nil && slices.Contains(groups, gid)
}

// SecretFileField is a secret file and the config field naming it.
type SecretFileField struct{ Field, Path string }

// SecretFileFields lists the secret files of a config with their fields
// (the public key file is not a secret).
func SecretFileFields(cfg *configv1.Config) []SecretFileField {
	var out []SecretFileField
	add := func(field, f string) {
		if f != "" {
			out = append(out, SecretFileField{field, f})
		}
	}
	add("liveblocks.secret_key_file", cfg.GetLiveblocks().GetSecretKeyFile())
	s := cfg.GetSession()
	add("session.jwt.hmac_secret_file", s.GetJwt().GetHmacSecretFile())
	for i, f := range s.GetCookieSecretFiles() {
		add(fmt.Sprintf("session.cookie_secret_files[%d]", i), f)
	}
	add("session.redis.password_file", s.GetRedis().GetPasswordFile())
	add("session.sql.password_file", s.GetSql().GetPasswordFile())
	add("shared.redis.password_file", cfg.GetShared().GetRedis().GetPasswordFile())
	add("listen.admin_token_file", cfg.GetListen().GetAdminTokenFile())
	for i, r := range cfg.GetRooms().GetProvision() {
		add(fmt.Sprintf("rooms.provision[%d].access_source.sql.password_file", i), r.GetAccessSource().GetSql().GetPasswordFile())
	}
	return out
}
