package directory_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/lbauthz/lbauthz/authz/directory"
	"github.com/lbauthz/lbauthz/internal/testenv"
	"github.com/lbauthz/lbauthz/liveblocks"
)

// appSchema is a legacy app's users, teams and documents.
const appSchema = `
CREATE TABLE users (id text PRIMARY KEY, name text NOT NULL, avatar text, title text);
CREATE INDEX users_name_prefix ON users (lower(name) text_pattern_ops);
CREATE TABLE teams (id text PRIMARY KEY, name text NOT NULL, description text);
CREATE TABLE members (user_id text REFERENCES users, team_id text REFERENCES teams);
CREATE TABLE documents (id text PRIMARY KEY, title text NOT NULL);
INSERT INTO users VALUES
  ('alice', 'Alice', 'https://example.test/alice.png', 'CTO'),
  ('bob',   'Bob',   'https://example.test/bob.png',   NULL),
  ('carol', 'Carol', NULL, NULL),
  ('dave',  'Dave',  NULL, NULL),
  ('a_b',   'A_b',   NULL, NULL),
  ('brenda','Brenda', NULL, NULL);
INSERT INTO teams VALUES ('team', 'The Team', 'Everyone building it');
INSERT INTO members VALUES ('alice', 'team'), ('bob', 'team'), ('a_b', 'team');
INSERT INTO documents VALUES ('doc-1', 'Launch plan');
`

func sqlOptions(pg *testenv.Postgres) directory.SQLOptions {
	return directory.SQLOptions{
		DSN: pg.DSN(), Password: testenv.PostgresPassword,
		UsersQuery:  `SELECT id, name, avatar, title FROM users WHERE id = ANY($1)`,
		GroupsQuery: `SELECT id, name, description FROM teams WHERE id = ANY($1)`,
		RoomsQuery:  `SELECT id, title AS name, '/docs/' || id AS url FROM documents WHERE id = ANY($1)`,
		SearchQuery: `SELECT u.id, array_remove(array_agg(m.team_id), NULL) AS groups
			FROM users u LEFT JOIN members m ON m.user_id = u.id
			WHERE lower(u.name) LIKE $1 OR lower(u.id) LIKE $1
			GROUP BY u.id ORDER BY u.id LIMIT $2`,
	}
}

type fixture struct {
	srv *httptest.Server
	lb  *liveblocks.Client
}

// postgresSource starts PostgreSQL with the app's tables and returns a
// directory source of them.
func postgresSource(t *testing.T) directory.Source {
	t.Helper()
	pg := testenv.StartPostgres(t)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, pg.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, appSchema); err != nil {
		t.Fatal(err)
	}
	src, err := directory.NewSQLSource(sqlOptions(pg))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(src.Close)
	return src
}

// newFixture starts the Liveblocks dev server with the app's rooms, and
// serves the directory of src for the user named in each request's
// X-Test-User header (standing for the door, which resolves the session
// before calling the handler).
func newFixture(t *testing.T, src directory.Source) fixture {
	t.Helper()
	dev := testenv.StartLiveblocks(t)
	ctx := context.Background()
	lb, err := liveblocks.New(liveblocks.Options{BaseURL: dev.URL, SecretKey: testenv.DevSecretKey})
	if err != nil {
		t.Fatal(err)
	}
	w := []liveblocks.Permission{liveblocks.Write}
	for _, r := range []liveblocks.CreateRoomRequest{
		{ID: "doc-1", GroupsAccesses: map[string][]liveblocks.Permission{"team": w}, UsersAccesses: map[string][]liveblocks.Permission{"carol": {liveblocks.Read}}},
		{ID: "dave-only", UsersAccesses: map[string][]liveblocks.Permission{"dave": w}},
		{ID: "acme-doc", OrganizationID: "acme", DefaultAccesses: w},
	} {
		if _, err := lb.CreateRoom(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	dir, err := directory.New(directory.Options{Source: src, Liveblocks: lb, MaxSuggestions: 5})
	if err != nil {
		t.Fatal(err)
	}
	h := directory.NewHandler(dir, directory.Paths{}, nil)
	groups := map[string][]string{"alice": {"team"}, "bob": {"team"}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user := r.Header.Get("X-Test-User")
		h.ServeFor(w, r, directory.Who{UserID: user, GroupIDs: groups[user]})
	}))
	t.Cleanup(srv.Close)
	return fixture{srv: srv, lb: lb}
}

func (f fixture) get(t *testing.T, user, pathAndQuery string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, f.srv.URL+pathAndQuery, nil)
	req.Header.Set("X-Test-User", user)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, strings.TrimSpace(string(b))
}

// resolverCases are what every SQL source answers for the app's tables.
var resolverCases = []struct {
	name, user, path string
	want             string
}{
	{"users in the order asked, null for unknown", "alice", "/api/liveblocks-users?userIds=bob&userIds=nobody&userIds=alice",
		`[{"avatar":"https://example.test/bob.png","name":"Bob"},null,{"avatar":"https://example.test/alice.png","name":"Alice","title":"CTO"}]`},
	{"no ids, empty answer", "alice", "/api/liveblocks-users", `[]`},
	{"groups", "alice", "/api/liveblocks-groups?groupIds=team&groupIds=ghosts",
		`[{"description":"Everyone building it","name":"The Team"},null]`},
	{"rooms the user can enter; null for the others", "alice", "/api/liveblocks-rooms?roomIds=doc-1&roomIds=dave-only&roomIds=missing&roomIds=acme-doc",
		`[{"name":"Launch plan","url":"/docs/doc-1"},null,null,null]`},
	{"mentions: room members by name prefix, never Dave", "alice", "/api/liveblocks-mentions?roomId=doc-1&text=b",
		`[{"kind":"user","id":"bob"}]`},
	{"mentions: case-insensitive, users listed on the room too", "alice", "/api/liveblocks-mentions?roomId=doc-1&text=C",
		`[{"kind":"user","id":"carol"}]`},
	{"mentions: a user without access is never suggested", "alice", "/api/liveblocks-mentions?roomId=doc-1&text=dav", `[]`},
	{"mentions: groups with access, by name", "alice", "/api/liveblocks-mentions?roomId=doc-1&text=the",
		`[{"kind":"group","id":"team"}]`},
	{"mentions: empty text lists members, capped", "alice", "/api/liveblocks-mentions?roomId=doc-1&text=",
		`[{"kind":"user","id":"carol"},{"kind":"user","id":"a_b"},{"kind":"user","id":"alice"},{"kind":"user","id":"bob"},{"kind":"group","id":"team"}]`},
	{"mentions: _ is a character, not a wildcard", "alice", "/api/liveblocks-mentions?roomId=doc-1&text=" + url.QueryEscape("a_"),
		`[{"kind":"user","id":"a_b"}]`},
	{"mentions: % is a character, not a wildcard", "alice", "/api/liveblocks-mentions?roomId=doc-1&text=" + url.QueryEscape("%"), `[]`},
	{"mentions: \\ is a character, not an escape", "alice", "/api/liveblocks-mentions?roomId=doc-1&text=" + url.QueryEscape(`a\`), `[]`},
	{"mentions: ! is a character, whatever the escape", "alice", "/api/liveblocks-mentions?roomId=doc-1&text=" + url.QueryEscape("a!_"), `[]`},
}

func TestDirectory_AnswersTheResolversFromPostgres(t *testing.T) {
	testResolvers(t, newFixture(t, postgresSource(t)))
}

func testResolvers(t *testing.T, f fixture) {
	t.Helper()
	for _, tt := range resolverCases {
		t.Run(tt.name, func(t *testing.T) {
			status, body := f.get(t, tt.user, tt.path)
			if status != http.StatusOK || body != tt.want {
				t.Fatalf("got %d %s\nwant 200 %s", status, body, tt.want)
			}
		})
	}
}

func TestDirectory_BadInputGetsAClearRefusal(t *testing.T) {
	f := newFixture(t, postgresSource(t))
	many := "/api/liveblocks-users?" + strings.Repeat("userIds=u&", 1000)
	tests := []struct {
		name, user, path string
		status           int
		reason           string
	}{
		{"1,000 ids", "alice", many, 400, "too many user ids"},
		{"a 10 KB prefix", "alice", "/api/liveblocks-mentions?roomId=doc-1&text=" + strings.Repeat("a", 10<<10), 400, "text is longer than 128 bytes"},
		{"no room", "alice", "/api/liveblocks-mentions?text=a", 400, "roomId is required"},
		{"an invalid room id", "alice", "/api/liveblocks-mentions?roomId=..&text=a", 400, "invalid room id"},
		{"an id too long", "alice", "/api/liveblocks-groups?groupIds=" + strings.Repeat("g", 600), 400, "longer than 128"},
		{"a room the user cannot enter", "dave", "/api/liveblocks-mentions?roomId=doc-1&text=a", 403, "no access to this room"},
		{"a room that does not exist", "alice", "/api/liveblocks-mentions?roomId=nowhere&text=a", 403, "no access to this room"},
		{"a room of another organization", "alice", "/api/liveblocks-mentions?roomId=acme-doc&text=a", 403, "no access to this room"},
		{"another path", "alice", "/api/liveblocks-other", 404, "no such directory endpoint"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := f.get(t, tt.user, tt.path)
			var e struct{ Error string }
			if status != tt.status || json.Unmarshal([]byte(body), &e) != nil || !strings.Contains(e.Error, tt.reason) {
				t.Fatalf("got %d %.200s, want %d saying %q", status, body, tt.status, tt.reason)
			}
		})
	}
	resp, err := http.Post(f.srv.URL+"/api/liveblocks-users", "application/json", strings.NewReader(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != "GET, HEAD" {
		t.Fatalf("POST: %d, Allow %q", resp.StatusCode, resp.Header.Get("Allow"))
	}
}

func TestLikePrefix_EscapesWildcards(t *testing.T) {
	for in, want := range map[string]string{
		"al": `al%`, "": `%`, "a_b": `a\_b%`, "50%": `50\%%`, `a\b`: `a\\b%`,
	} {
		if got := directory.LikePrefix(in); got != want {
			t.Errorf("LikePrefix(%q) = %q, want %q", in, got, want)
		}
	}
}
