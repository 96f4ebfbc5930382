package accesssync_test

import (
	"context"
	"database/sql"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	_ "github.com/go-sql-driver/mysql"

	"github.com/lbauthz/lbauthz/authz/rooms/accesssync"
	"github.com/lbauthz/lbauthz/internal/testenv"
	"github.com/lbauthz/lbauthz/liveblocks"
)

// mysqlAccessQuery is accessQuery for MySQL and MariaDB: the same $N
// parameters, with $2 (the id captured by "doc-{id}") used three times.
const mysqlAccessQuery = `
SELECT 'default', '', CASE WHEN d.public THEN '*:read' ELSE '' END FROM documents d WHERE d.id = $2
UNION ALL SELECT 'user', s.user_id, CASE s.role WHEN 'editor' THEN '*:write' ELSE '*:read' END FROM shares s WHERE s.document_id = $2
UNION ALL SELECT 'group', t.team_id, '*:write' FROM team_shares t WHERE t.document_id = $2`

func TestSync_FollowsSharesInMariaDB(t *testing.T) {
	m := testenv.StartMariaDB(t)
	dev := testenv.StartLiveblocks(t)
	ctx := context.Background()
	db, err := sql.Open("mysql", m.DSNWithPassword())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	exec := func(q string) {
		t.Helper()
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	exec(`CREATE TABLE documents (id varchar(64) PRIMARY KEY, public boolean NOT NULL DEFAULT false);
CREATE TABLE shares (document_id varchar(64), user_id varchar(64), role varchar(16));
CREATE TABLE team_shares (document_id varchar(64), team_id varchar(64));
INSERT INTO documents VALUES ('1', false);
INSERT INTO shares VALUES ('1', 'alice', 'editor');
INSERT INTO team_shares VALUES ('1', 'eng');`)
	lb, err := liveblocks.New(liveblocks.Options{BaseURL: dev.URL, SecretKey: testenv.DevSecretKey})
	if err != nil {
		t.Fatal(err)
	}
	src, err := accesssync.NewSQLSource(accesssync.SQLOptions{Driver: "mysql", DSN: m.DSN(), Password: testenv.MariaDBPassword,
		Query: mysqlAccessQuery, Args: func(room string) []any { return []any{strings.TrimPrefix(room, "doc-")} }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(src.Close)
	if d := src.Describe(); d != "mysql "+m.Addr+"/"+testenv.MariaDBDatabase {
		t.Fatalf("Describe() = %q", d)
	}
	s, err := accesssync.New(accesssync.Options{Liveblocks: lb, SourceFor: func(string) accesssync.Source { return src }})
	if err != nil {
		t.Fatal(err)
	}
	room := func() accesssync.Accesses {
		t.Helper()
		r, err := lb.GetRoom(ctx, "doc-1")
		if err != nil {
			t.Fatal(err)
		}
		return accesssync.Accesses{Default: r.DefaultAccesses, Groups: r.GroupsAccesses, Users: r.UsersAccesses}
	}

	if res, err := s.Sync(ctx, "doc-1", ""); err != nil || res.Outcome != accesssync.Created {
		t.Fatalf("first sync: %v %v", res.Outcome, err)
	}
	want := accesssync.Accesses{Default: perms{}, Groups: map[string]perms{"eng": {liveblocks.Write}}, Users: map[string]perms{"alice": {liveblocks.Write}}}
	if got := room(); !reflect.DeepEqual(got, want) {
		t.Fatalf("created %+v, want %+v", got, want)
	}
	exec(`DELETE FROM shares; DELETE FROM team_shares; INSERT INTO shares VALUES ('1', 'bob', 'viewer'); UPDATE documents SET public = true`)
	if res, err := s.Sync(ctx, "doc-1", ""); err != nil || res.Outcome != accesssync.Updated {
		t.Fatalf("sync after the change: %v %v", res.Outcome, err)
	}
	want = accesssync.Accesses{Default: perms{liveblocks.Read}, Groups: map[string]perms{}, Users: map[string]perms{"bob": {liveblocks.Read}}}
	if got := room(); !reflect.DeepEqual(got, want) {
		t.Fatalf("after the change %+v, want %+v", got, want)
	}
	if res, err := s.Sync(ctx, "doc-9", ""); err != nil || res.Outcome != accesssync.Unknown {
		t.Fatalf("a document the app does not have: %v %v", res.Outcome, err)
	}
}

// TestSources_BadAnswersAreErrorsThatSayWhy uses endpoints standing for the
// app (an HTTP source is the app's own endpoint) and a closed port: no room
// is written from an answer that is not a room's accesses.
func TestSources_BadAnswersAreErrorsThatSayWhy(t *testing.T) {
	answer := map[string]string{
		"/html":        "<html>oops</html>",
		"/no-default":  `{"usersAccesses": {"alice": ["*:write"]}}`,
		"/bad-perm":    `{"defaultAccesses": [], "usersAccesses": {"alice": ["*:admin"]}}`,
		"/two-storage": `{"defaultAccesses": ["*:read", "storage:read", "storage:write"]}`,
		"/not-strings": `{"defaultAccesses": [1, 2]}`,
	}
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/down" {
			http.Error(w, "database is down", http.StatusInternalServerError)
			return
		}
		_, _ = w.Write([]byte(answer[r.URL.Path]))
	}))
	defer app.Close()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + l.Addr().String()
	l.Close()
	for _, tc := range []struct{ name, url, says string }{
		{"not JSON", app.URL + "/html", "the answer is not a room's accesses"},
		{"no defaultAccesses", app.URL + "/no-default", "the answer has no defaultAccesses"},
		{"an unknown permission", app.URL + "/bad-perm", `user "alice"`},
		{"two storage scopes", app.URL + "/two-storage", "default accesses"},
		{"permissions that are not strings", app.URL + "/not-strings", "the answer is not a room's accesses"},
		{"the app answers 500", app.URL + "/down", "status 500"},
		{"nothing listens", closed + "/a", "connection refused"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src, err := accesssync.NewHTTPSource(tc.url, nil, &http.Client{Timeout: 2 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			_, known, err := src.Accesses(context.Background(), "doc-1")
			if err == nil || known || !strings.Contains(err.Error(), tc.says) {
				t.Fatalf("known %v, error %v; want an error saying %q", known, err, tc.says)
			}
		})
	}
}
