package config_test

import (
	"strings"
	"testing"

	"github.com/lbauthz/lbauthz/authz/config"
)

const roomsBase = `
session:
  cookie: session
  jwt: { hmac_secret_file: /run/secrets/hmac, algorithms: [HS256] }
`

func TestParse_RoomsSection(t *testing.T) {
	cfg, err := config.Parse("rooms.yaml", []byte(roomsBase+`
rooms:
  provision:
    - room: "org-{org}:doc-{doc}"
      default_accesses: []
      groups_accesses:
        "org-{org}": ["*:write"]
      users_accesses:
        "auditor": ["room:read", "room:presence:write"]
`), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Liveblocks.Mode != config.ModeIDToken {
		t.Fatalf("mode defaults to %q", cfg.Liveblocks.Mode)
	}
	r := cfg.Rooms.Provision[0]
	if got := r.GroupsAccesses["org-{org}"].AsSlice(); len(got) != 1 || got[0] != "*:write" {
		t.Fatalf("groups_accesses = %v", got)
	}
	if got := r.UsersAccesses["auditor"].AsSlice(); len(got) != 2 {
		t.Fatalf("users_accesses = %v", got)
	}

	cfg, err = config.Parse("acc.yaml", []byte(roomsBase+`
liveblocks: { mode: access_token }
rooms:
  access_token:
    grants:
      - { pattern: "user-{user_id}:*", permissions: ["*:write"] }
      - { pattern: "{group}:*", permissions: ["*:write"] }
`), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Liveblocks.Mode != config.ModeAccessToken || len(cfg.Rooms.AccessToken.Grants) != 2 {
		t.Fatalf("mode %q, grants %v", cfg.Liveblocks.Mode, cfg.Rooms.AccessToken.Grants)
	}
}

func TestParse_RoomsErrorsNameTheFieldAndTheValue(t *testing.T) {
	for _, tc := range []struct{ yaml, says string }{
		{`
rooms:
  provision:
    - room: "org-{org}:doc-{doc}"
      groups_accesses: { "org-{org}": ["room:admin"] }`,
			`rooms.provision[0].groups_accesses["org-{org}"]: "room:admin" is not a Liveblocks permission`},
		{`
rooms:
  provision:
    - room: "r"
      default_accesses: ["room:read", "room:write"]`,
			`rooms.provision[0].default_accesses: "room:write" is a second base scope`},
		{`
rooms:
  provision:
    - room: "r"
      users_accesses: { "u": "*:write" }`,
			`rooms.provision[0].users_accesses.u: expected a list of strings, got "*:write"`},
		{`
rooms:
  provision:
    - room: "r"
      users_accesses: { "u": [42] }`,
			`rooms.provision[0].users_accesses.u[0]: expected a string, got "42"`},
		{`
rooms:
  provision:
    - room: "doc-{id"`,
			`rooms.provision[0].room: "doc-{id" has a "{" without a "}"`},
		{`
liveblocks: { mode: access }`,
			`liveblocks.mode: "access" is not one of id_token, access_token`},
		{`
liveblocks: { mode: access_token }`,
			`rooms.access_token: required by liveblocks.mode "access_token"`},
		{`
rooms:
  access_token: { grants: [ { pattern: "*", permissions: ["*:read"] } ] }`,
			`rooms.access_token: set, but liveblocks.mode is "id_token"`},
		{`
liveblocks: { mode: access_token }
rooms:
  access_token: { grants: [ { pattern: "a*b", permissions: ["*:read"] } ] }`,
			`rooms.access_token.grants[0].pattern: "a*b" may contain "*" only once, as its last character`},
		{`
liveblocks: { mode: access_token }
rooms:
  provision: [ { room: "r" } ]
  access_token: { grants: [ { pattern: "*", permissions: ["*:read"] } ] }`,
			`rooms.provision[0]: has no access_source, but liveblocks.mode is "access_token"`},
		{`
liveblocks: { mode: access_token }
rooms:
  provision: [ { room: "doc-{id}", default_accesses: ["*:read"], access_source: { http: { url: "http://app/a" } } } ]
  access_token: { grants: [ { pattern: "*", permissions: ["*:read"] } ] }`,
			`rooms.provision[0]: sets accesses, but liveblocks.mode is "access_token": only its access_source is used`},
		{`
rooms:
  provision: [ { room: "doc-{id}", access_source: { max_age: 48h, http: { url: "http://app/a" } } } ]`,
			`rooms.provision[0].access_source.max_age: 48h0m0s is over the limit of 24h0m0s`},
		{`
rooms:
  provision: [ { room: "doc-{id}", access_source: { sql: { driver: oracle, dsn: "x", query: "SELECT $1" } } } ]`,
			`rooms.provision[0].access_source.sql.driver: "oracle" is not one of postgres, mysql`},
		{`
rooms:
  provision: [ { room: "doc-{id}", access_source: { sql: { driver: mysql, dsn: "app:hunter2@tcp(db:3306)/app", query: "SELECT $1" } } } ]`,
			`rooms.provision[0].access_source.sql.dsn: holds a password: put it in rooms.provision[0].access_source.sql.password_file`},
		{`
rooms:
  provision: [ { room: "doc-{id}", access_source: { sql: { driver: mysql, dsn: "app@tcp(db:3306)/app", query: "SELECT kind, id, perms FROM a WHERE room = ? OR room = $2" } } } ]`,
			`rooms.provision[0].access_source.sql.query: write the parameters as $1 (the room id), $2, ... (the room pattern's captures), not ?`},
		{`
rooms:
  provison: []`,
			`unknown key "provison" (did you mean "provision"?)`},
	} {
		_, err := config.Parse("bad.yaml", []byte(roomsBase+tc.yaml), noEnv)
		if err == nil || !strings.Contains(err.Error(), tc.says) {
			t.Errorf("config %s\nerror: %v\nwant it to say: %s", tc.yaml, err, tc.says)
		}
	}
}
