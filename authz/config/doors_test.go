package config_test

import (
	"strings"
	"testing"

	"github.com/lbauthz/lbauthz/authz/config"
)

// doorsBase is the smallest valid config; http_doors is appended to it.
const doorsBase = `
liveblocks: { base_url: "http://127.0.0.1:1153" }
session:
  cookie: "session"
  jwt: { hmac_secret_file: "/run/secrets/hmac", algorithms: ["HS256"] }
`

func TestParse_HTTPDoorsDefaults(t *testing.T) {
	cfg, err := config.Parse("t.yaml", []byte(doorsBase), func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	d := cfg.HttpDoors
	if strings.Join(d.TrustedPeers, ",") != "127.0.0.0/8,::1/128" || d.MaxBodyBytes != 4096 {
		t.Fatalf("defaults: trusted_peers %v, max_body_bytes %d", d.TrustedPeers, d.MaxBodyBytes)
	}
}

func TestParse_HTTPDoorsValidationNamesFieldAndValue(t *testing.T) {
	authPathOf := func(p string) string {
		return strings.Replace(doorsBase, `base_url: "http://127.0.0.1:1153"`, `base_url: "http://127.0.0.1:1153", auth_path: "`+p+`"`, 1)
	}
	for _, tc := range []struct{ yaml, want string }{
		{doorsBase + `http_doors: { trusted_peers: ["127.0.0.0/8", "10.0.0.0/33"] }`, `http_doors.trusted_peers[1]: "10.0.0.0/33" is not a CIDR prefix`},
		{doorsBase + `http_doors: { trusted_peers: ["proxy.internal"] }`, `http_doors.trusted_peers[0]: "proxy.internal" is not a CIDR prefix`},
		{doorsBase + `http_doors: { max_body_bytes: 2000000 }`, `http_doors.max_body_bytes: 2000000 is over the limit of 1048576`},
		{doorsBase + `http_doors: { trusted_peer: ["127.0.0.1"] }`, `trusted_peer`},
		{authPathOf("/check/nginx"), `liveblocks.auth_path: "/check/nginx" is a path of the sidecar's own HTTP listener`},
		{authPathOf("/healthz"), `liveblocks.auth_path: "/healthz" is a path of the sidecar's own HTTP listener`},
	} {
		_, err := config.Parse("t.yaml", []byte(tc.yaml), func(string) string { return "" })
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want it to say %q", tc.yaml, err, tc.want)
		}
	}
}

func TestParsePeer(t *testing.T) {
	for in, want := range map[string]string{
		"10.1.2.3":            "10.1.2.3/32",
		"10.1.2.3/8":          "10.0.0.0/8",
		"::1":                 "::1/128",
		"::ffff:127.0.0.1":    "127.0.0.1/32",
		"::ffff:10.0.0.0/104": "10.0.0.0/8",
		"fe80::1%eth0":        "fe80::1/128",
	} {
		p, err := config.ParsePeer(in)
		if err != nil || p.String() != want {
			t.Errorf("ParsePeer(%q) = %v, %v; want %s", in, p, err, want)
		}
	}
	for _, bad := range []string{"", "10.0.0.0/33", "host", "10.0.0.1/-1"} {
		if _, err := config.ParsePeer(bad); err == nil {
			t.Errorf("ParsePeer(%q) accepted", bad)
		}
	}
}
