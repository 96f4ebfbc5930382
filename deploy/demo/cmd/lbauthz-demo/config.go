package main

import (
	_ "embed"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"

	"github.com/lbauthz/lbauthz/authz/config"
	configv1 "github.com/lbauthz/lbauthz/proto/lbauthz/config/v1"
)

// The demo's session signing key. It is public on purpose: the demo signs its
// own sessions with it, and it must never be used for anything real. That is
// why this command only talks to a Liveblocks dev server on loopback with the
// dev server's key, and only listens on loopback.
const demoHMACSecret = "lbauthz-demo-session-key-not-a-secret-0001"

// devServerKey is the secret key the Liveblocks dev server accepts; it is not
// a key of any real Liveblocks project.
const devServerKey = "sk_localdev"

// demoDirectory is the directory of the demo's users, groups and room that
// lbauthz answers the Liveblocks client's resolvers from (names, avatars as
// data: URLs, groups); the groups are the ones the demo app signs into its
// sessions (deploy/demo/app.mjs).
//
//go:embed directory.json
var demoDirectory []byte

// The listen addresses and the directory file are placeholders, replaced by
// demoConfig: the defaults, or LBAUTHZ_DEMO_GRPC / LBAUTHZ_DEMO_HTTP (the
// demo's tests use free ports).
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
directory:
  # The users, groups and room of demo (directory.json beside this file):
  # the page's Composer asks lbauthz for names, avatars and who to suggest
  # after "@"; only users and groups with access to the room are suggested.
  file: DEMO_DIRECTORY_FILE
log:
  format: console
`

// demoConfig is the built-in config of `lbauthz-demo serve`: the Liveblocks
// dev server (LIVEBLOCKS_BASE_URL, default http://127.0.0.1:1153), sessions
// signed with the demo key, and the demo page's rooms provisioned on first
// use. It listens on 127.0.0.1:9191 (gRPC) and 127.0.0.1:8181 (HTTP) unless
// LBAUTHZ_DEMO_GRPC or LBAUTHZ_DEMO_HTTP name other addresses. Its
// directory is read from directoryFile, where the caller has written
// demoDirectory.
//
// It returns an error, and no config, when LIVEBLOCKS_SECRET_KEY is set to
// anything but the dev server's sk_localdev, when LIVEBLOCKS_BASE_URL is not
// on loopback, or when a listen address is not on loopback: a demo started
// by mistake next to a real Liveblocks project must not issue its tokens for
// sessions anyone can sign.
func demoConfig(getenv func(string) string, directoryFile string) (*configv1.Config, *config.Secrets, error) {
	if key := getenv("LIVEBLOCKS_SECRET_KEY"); key != "" && key != devServerKey {
		return nil, nil, fmt.Errorf("LIVEBLOCKS_SECRET_KEY: the demo only uses the dev server's key %s", devServerKey)
	}
	addr := func(k, def string) (string, error) {
		v := getenv(k)
		if v == "" {
			return def, nil
		}
		host, _, err := net.SplitHostPort(v)
		if err != nil {
			return "", fmt.Errorf("%s=%q: %w", k, v, err)
		}
		if !isLoopback(host) {
			return "", fmt.Errorf("%s=%q: the demo only listens on loopback", k, v)
		}
		return v, nil
	}
	grpcAddr, err := addr("LBAUTHZ_DEMO_GRPC", "127.0.0.1:9191")
	if err != nil {
		return nil, nil, err
	}
	httpAddr, err := addr("LBAUTHZ_DEMO_HTTP", "127.0.0.1:8181")
	if err != nil {
		return nil, nil, err
	}
	base := getenv("LIVEBLOCKS_BASE_URL")
	if base == "" {
		base = "http://127.0.0.1:1153"
	}
	if u, err := url.Parse(base); err != nil || !isLoopback(u.Hostname()) {
		return nil, nil, fmt.Errorf("LIVEBLOCKS_BASE_URL=%q: the demo only talks to a Liveblocks dev server on loopback", base)
	}
	yaml := strings.NewReplacer(
		"DEMO_GRPC_ADDR", strconv.Quote(grpcAddr),
		"DEMO_HTTP_ADDR", strconv.Quote(httpAddr),
		"DEMO_DIRECTORY_FILE", strconv.Quote(directoryFile),
	).Replace(demoConfigYAML)
	env := func(k string) string {
		if k == "LIVEBLOCKS_BASE_URL" {
			return base
		}
		return ""
	}
	cfg, err := config.Parse("demo config", []byte(yaml), env)
	if err != nil {
		return nil, nil, err
	}
	return cfg, &config.Secrets{LiveblocksSecretKey: devServerKey, HMACSecret: []byte(demoHMACSecret)}, nil
}

// isLoopback reports whether host is "localhost" or a loopback IP address.
func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
