package main

import (
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/golang-jwt/jwt/v5"

	"github.com/lbauthz/lbauthz/authz/config"
	configv1 "github.com/lbauthz/lbauthz/proto/lbauthz/config/v1"
)

// The demo's session signing key. It is public on purpose: the demo signs its
// own sessions with it, and it must never be used for anything real.
const demoHMACSecret = "lbauthz-demo-session-key-not-a-secret-0001"

// The listen addresses are placeholders, replaced by demoConfig: the
// defaults, or LBAUTHZ_DEMO_GRPC / LBAUTHZ_DEMO_HTTP (the demo's tests use
// free ports).
const demoConfigYAML = `
listen:
  grpc: DEMO_GRPC_ADDR
  http: DEMO_HTTP_ADDR
liveblocks:
  auth_path: "/api/liveblocks-auth"
session:
  cookie: "session"
  jwt:
    hmac_secret_file: "(built in)"
    algorithms: ["HS256"]
identity:
  user_id: "sub"
  group_ids: "groups"
  user_info: { name: "name", avatar: "picture" }
upstream_headers:
  user_id: "x-user-id"
  group_ids: "x-user-groups"
  user_info: "x-user-info"
rooms:
  provision:
    # The demo page's rooms (deploy/demo/): created on first use, group
    # "team" edits, group "viewers" watches, everybody else is refused.
    - room: "demo-*"
      default_accesses: []
      groups_accesses:
        team: ["*:write"]
        viewers: ["*:read", "room:presence:write"]
log:
  format: console
`

// demoConfig is the built-in config of `lbauthz serve --demo`: the Liveblocks
// dev server (LIVEBLOCKS_BASE_URL, default http://127.0.0.1:1153, key
// sk_localdev unless LIVEBLOCKS_SECRET_KEY says otherwise), sessions signed
// with the demo key, and the demo page's rooms provisioned on first use. It
// listens on 127.0.0.1:9191 (gRPC) and 127.0.0.1:8181 (HTTP) unless
// LBAUTHZ_DEMO_GRPC or LBAUTHZ_DEMO_HTTP name other addresses.
func demoConfig(getenv func(string) string) (*configv1.Config, *config.Secrets, error) {
	addr := func(k, def string) string {
		if v := getenv(k); v != "" {
			return v
		}
		return def
	}
	yaml := strings.NewReplacer(
		"DEMO_GRPC_ADDR", strconv.Quote(addr("LBAUTHZ_DEMO_GRPC", "127.0.0.1:9191")),
		"DEMO_HTTP_ADDR", strconv.Quote(addr("LBAUTHZ_DEMO_HTTP", "127.0.0.1:8181")),
	).Replace(demoConfigYAML)
	env := func(k string) string {
		if v := getenv(k); v != "" {
			return v
		}
		if k == "LIVEBLOCKS_BASE_URL" {
			return "http://127.0.0.1:1153"
		}
		return ""
	}
	cfg, err := config.Parse("demo config", []byte(yaml), env)
	if err != nil {
		return nil, nil, err
	}
	key := getenv("LIVEBLOCKS_SECRET_KEY")
	if key == "" {
		key = "sk_localdev"
	}
	return cfg, &config.Secrets{LiveblocksSecretKey: key, HMACSecret: []byte(demoHMACSecret)}, nil
}

// demoSession signs a demo session JWT (HS256) for a user, with the claims
// the demo app (deploy/demo/app.mjs) puts in its own sessions; the avatar is
// served by that app, so the demo needs no network.
func demoSession(sub, name string, groups []string, ttl time.Duration) string {
	now := time.Now()
	tok := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"sub": sub, "name": name, "groups": groups,
		"picture": "/avatars/" + url.PathEscape(sub) + ".svg",
		"iat":     now.Unix(), "exp": now.Add(ttl).Unix(),
	})
	signed, _ := tok.SignedString([]byte(demoHMACSecret)) // HS256 with a []byte key cannot fail
	return signed
}

// cmdDemoSession prints a session cookie value signed with the demo key, for
// trying the demo by hand: lbauthz demo-session alice team.
func cmdDemoSession(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		fmt.Fprintln(stderr, "usage: lbauthz demo-session USER [GROUP...]  (a session for `lbauthz serve --demo` only)")
		return exitUsage
	}
	fmt.Fprintln(stdout, demoSession(args[0], displayName(args[0]), args[1:], 12*time.Hour))
	return exitOK
}

// displayName is a user id with its first letter in upper case ("élodie"
// gives "Élodie"): the first rune, not the first byte.
func displayName(user string) string {
	r, size := utf8.DecodeRuneInString(user)
	if r == utf8.RuneError {
		return user
	}
	return string(unicode.ToUpper(r)) + user[size:]
}
