package config_test

import (
	"strings"
	"testing"

	"github.com/lbauthz/lbauthz/authz/config"
)

func TestParse_DirectoryAndAccessSourceErrorsNameTheField(t *testing.T) {
	base := "session:\n  cookie: s\n  redis: {address: \"h:1\", key_template: \"sess:{id}\"}\n"
	cases := []struct{ name, yaml, want string }{
		{"no source", base + "directory: {ttl: 1m}", "directory: give exactly one source: sql, http or file (got 0)"},
		{"two sources", base + "directory: {file: /d.json, http: {users_url: \"http://a/u\", groups_url: \"http://a/g\", search_url: \"http://a/s\"}}", "got 2"},
		{"sql without search", base + "directory: {sql: {dsn: \"postgres://app@db/app\", users_query: \"SELECT 1 WHERE $1\", groups_query: \"SELECT 1 WHERE $1\"}}", "directory.sql.search_query: required"},
		{"sql password in dsn", base + "directory: {file: /d, sql: {dsn: \"postgres://app:hunter2@db/app\"}}", "directory.sql.dsn: holds a password"},
		{"http not a URL", base + "directory: {http: {users_url: \"/u\", groups_url: \"http://a/g\", search_url: \"http://a/s\"}}", `directory.http.users_url: "/u" is not an http(s) URL`},
		{"path is the auth path", base + "directory: {file: /d.json, users_path: /api/liveblocks-auth}", `directory.users_path: "/api/liveblocks-auth" is also liveblocks.auth_path`},
		{"path not a path", base + "directory: {file: /d.json, rooms_path: rooms}", `directory.rooms_path: "rooms" must be a path`},
		{"suggestions", base + "directory: {file: /d.json, max_suggestions: 1000}", "directory.max_suggestions: 1000"},
		{"access source with both", base + "rooms: {provision: [{room: \"doc-{id}\", access_source: {http: {url: \"http://a/x\"}, sql: {dsn: d, query: \"SELECT $1\"}}}]}", "rooms.provision[0].access_source: give exactly one of sql and http"},
		{"access source query", base + "rooms: {provision: [{room: \"doc-{id}\", access_source: {sql: {dsn: d, query: \"SELECT 1\"}}}]}", "rooms.provision[0].access_source.sql.query: required"},
		{"access source url", base + "rooms: {provision: [{room: \"doc-{id}\", access_source: {http: {url: \"ftp://a\"}}}]}", `rooms.provision[0].access_source.http.url: "ftp://a" is not an http(s) URL`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := config.Parse("c.yaml", []byte(tc.yaml), noEnv)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("want an error with %q, got %v", tc.want, err)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Fatal("the error holds the DSN's password")
			}
		})
	}
	ok := base + `directory: {file: /d.json, room_url: "https://app.test/d/{room}"}
rooms: {provision: [{room: "doc-{id}", access_source: {max_age: 30s, sql: {dsn: "postgres://app@db/app", query: "SELECT 'default', '', '' FROM d WHERE id = $2"}}}]}
`
	if _, err := config.Parse("c.yaml", []byte(ok), noEnv); err != nil {
		t.Fatalf("a valid directory and access source: %v", err)
	}
}
