package authz_test

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/lbauthz/lbauthz/authz"
	"github.com/lbauthz/lbauthz/internal/assemble"
	"github.com/lbauthz/lbauthz/internal/authztest"
	"github.com/lbauthz/lbauthz/internal/testenv"
	"github.com/lbauthz/lbauthz/liveblocks"
)

// appSharing is a legacy app's documents and who they are shared with.
const appSharing = `
CREATE TABLE documents (id text PRIMARY KEY, public boolean NOT NULL DEFAULT false);
CREATE TABLE shares (document_id text REFERENCES documents, user_id text, role text);
CREATE TABLE team_shares (document_id text REFERENCES documents, team_id text);
INSERT INTO documents VALUES ('1', false), ('2', false);
INSERT INTO shares VALUES ('1', 'carol', 'editor');
`

// sharingSource is the access_source of the rule "doc-{id}": $2 is the
// document id.
const sharingSource = `
      access_source:
        max_age: 1s
        sql:
          dsn: "PG_DSN"
          password_file: "PG_PASSWORD_FILE"
          query: |
            SELECT 'default', '', CASE WHEN d.public THEN '*:read' ELSE '' END FROM documents d WHERE d.id = $2
            UNION ALL SELECT 'user', s.user_id, CASE s.role WHEN 'editor' THEN '*:write' ELSE '*:read' END
              FROM shares s WHERE s.document_id = $2
            UNION ALL SELECT 'group', t.team_id, '*:write' FROM team_shares t WHERE t.document_id = $2
`

// syncIDTokenConfig provisions "doc-{id}" rooms whose accesses follow the
// app's tables.
const syncIDTokenConfig = authztest.Config + `
rooms:
  provision:
    - room: "doc-{id}"
      default_accesses: []
` + sharingSource

// syncAccessTokenConfig gives access tokens: the rooms "doc-{id}" as the
// app's tables say, and every room of the user's organization to read
// (which does not depend on {room}, so the inbox gets a token).
var syncAccessTokenConfig = strings.Replace(strings.Replace(authztest.Config, `auth_path: "/api/liveblocks-auth"`,
	`auth_path: "/api/liveblocks-auth"
  mode: access_token`, 1), `  group_ids: "groups"`, `  group_ids: "groups"
  organization_id: "workspace"`, 1) + `
rooms:
  access_token:
    grants:
      - pattern: "{organization_id}:*"
        permissions: ["*:read"]
  provision:
    - room: "doc-{id}"
` + sharingSource

// appDB is the app's PostgreSQL with its sharing tables.
type appDB struct {
	pg   *testenv.Postgres
	conn *pgx.Conn
}

func startAppDB(t *testing.T) appDB {
	t.Helper()
	pg := testenv.StartPostgres(t)
	conn, err := pgx.Connect(context.Background(), pg.URL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	db := appDB{pg: pg, conn: conn}
	db.exec(t, appSharing)
	return db
}

func (db appDB) exec(t *testing.T, sql string) {
	t.Helper()
	if _, err := db.conn.Exec(context.Background(), sql); err != nil {
		t.Fatal(err)
	}
}

// config fills in the DSN (without the password) and a password file.
func (db appDB) config(t *testing.T, yaml string) string {
	t.Helper()
	pw := filepath.Join(t.TempDir(), "pg-password")
	if err := os.WriteFile(pw, []byte(testenv.PostgresPassword+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return strings.NewReplacer("PG_DSN", db.pg.DSN(), "PG_PASSWORD_FILE", pw).Replace(yaml)
}

// enter runs the real @liveblocks/client through the gRPC door into room.
func enter(t *testing.T, authURL, devURL, cookie, room string) testenv.RoomClientResult {
	t.Helper()
	return testenv.RunRoomClient(t, testenv.RoomClientOptions{AuthEndpoint: authURL, BaseURL: devURL,
		Cookie: cookie, RoomID: room, Timeout: 8 * time.Second})
}

func wantEntry(t *testing.T, who string, r testenv.RoomClientResult, connected, canWrite bool) {
	t.Helper()
	if r.AuthStatus != 200 {
		t.Fatalf("%s: auth endpoint answered %d", who, r.AuthStatus)
	}
	if !connected {
		if r.Connected() || r.CloseCode != 4001 {
			t.Fatalf("%s: want close 4001, got status %s close %d error %q", who, r.Status, r.CloseCode, r.ErrorMessage)
		}
		return
	}
	if !r.Connected() || r.CanWrite != canWrite {
		t.Fatalf("%s: status %s canWrite %v (want connected, canWrite %v), close %d error %q", who, r.Status, r.CanWrite, canWrite, r.CloseCode, r.ErrorMessage)
	}
}

// wantEntriesFollowShares enters doc-1 through authURL with the real client
// as carol and dave: carol, shared as an editor, enters and dave does not;
// then the app shares the document with dave as a viewer and unshares it
// from carol, and after max_age (1s) the next token requests follow.
func wantEntriesFollowShares(t *testing.T, db appDB, authURL, devURL string) {
	t.Helper()
	carol, dave := user("carol"), user("dave")
	// First use: the room is created and synced before the token.
	wantEntry(t, "carol, shared as an editor", enter(t, authURL, devURL, carol, "doc-1"), true, true)
	wantEntry(t, "dave, not shared", enter(t, authURL, devURL, dave, "doc-1"), false, false)
	db.exec(t, `INSERT INTO shares VALUES ('1', 'dave', 'viewer'); DELETE FROM shares WHERE user_id = 'carol'`)
	time.Sleep(1200 * time.Millisecond)
	wantEntry(t, "dave, now a viewer", enter(t, authURL, devURL, dave, "doc-1"), true, false)
	wantEntry(t, "carol, unshared", enter(t, authURL, devURL, carol, "doc-1"), false, false)
}

func TestRoomClient_RoomAccessesFollowSharesInTheAppsPostgreSQL(t *testing.T) {
	db := startAppDB(t)
	dev := testenv.StartLiveblocks(t)
	shim := authztest.StartEnvoyShim(t, authztest.GRPC(t, authztest.Engine(t, db.config(t, syncIDTokenConfig), dev.URL, testenv.DevSecretKey)), authztest.AuthPath)
	lb, err := liveblocks.New(liveblocks.Options{BaseURL: dev.URL, SecretKey: testenv.DevSecretKey})
	if err != nil {
		t.Fatal(err)
	}
	wantEntriesFollowShares(t, db, shim.AuthURL, dev.URL)

	room, err := lb.GetRoom(context.Background(), "doc-1")
	if err != nil {
		t.Fatal(err)
	}
	if len(room.UsersAccesses) != 1 || len(room.UsersAccesses["dave"]) != 1 || room.UsersAccesses["dave"][0] != liveblocks.Read {
		t.Fatalf("the room's users in Liveblocks: %v, want only dave with *:read", room.UsersAccesses)
	}
}

// bare is the session of user(id, groups...) without "session=".
func bare(id string, groups ...string) string {
	return strings.TrimPrefix(user(id, groups...), "session=")
}

func TestCheck_AccessSyncRunsOncePerMaxAgeAndNeverOnPassThrough(t *testing.T) {
	db := startAppDB(t)
	_, lb := authztest.DevServer(t)
	c := authztest.GRPC(t, authztest.Engine(t, db.config(t, syncIDTokenConfig), lb.URL, testenv.DevSecretKey))
	carol := bare("carol")
	if a := askToken(t, c, carol, tokenRequest(carol, `{"room":"doc-1"}`)); a.status != 200 {
		t.Fatalf("%d %s", a.status, a.body)
	}
	// Within max_age: only the token calls.
	before := lb.Calls()
	for range 3 {
		if a := askToken(t, c, carol, tokenRequest(carol, `{"room":"doc-1"}`)); a.status != 200 {
			t.Fatalf("%d %s", a.status, a.body)
		}
	}
	if n := lb.Calls() - before; n != 3 {
		t.Fatalf("%d calls to Liveblocks for 3 tokens of a room synced within max_age, want 3 (the tokens)", n)
	}
	time.Sleep(1100 * time.Millisecond)
	// A pass-through request never syncs, however old the room's copy.
	before = lb.Calls()
	resp, err := c.Check(context.Background(), authztest.CheckRequest("GET", "/docs/doc-1", map[string]string{"cookie": "session=" + carol}, ""))
	if err != nil || resp.GetOkResponse() == nil {
		t.Fatalf("pass-through: %v %v", resp, err)
	}
	if lb.Calls() != before {
		t.Fatal("a pass-through request called Liveblocks")
	}
	// After max_age, a token request syncs again: the room is read (and,
	// in step, not written), then the token.
	if a := askToken(t, c, carol, tokenRequest(carol, `{"room":"doc-1"}`)); a.status != 200 {
		t.Fatalf("%d %s", a.status, a.body)
	}
	if n := lb.Calls() - before; n != 2 {
		t.Fatalf("%d calls to Liveblocks after max_age, want 2 (GET the room, the token)", n)
	}
}

// unreachable returns the URL of a port nothing listens on.
func unreachable(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func TestCheck_AFailingAccessSourceGetsTheDocumentedAnswer(t *testing.T) {
	_, lb := authztest.DevServer(t)
	down := "127.0.0.1:" + strings.Split(unreachable(t), ":")[1]
	garbage := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`<html>502 Bad Gateway</html>`))
	}))
	defer garbage.Close()
	pwFile := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(pwFile, []byte("a-db-password-never-logged"), 0o600); err != nil {
		t.Fatal(err)
	}
	sqlDown := strings.NewReplacer("PG_DSN", "postgres://app@"+down+"/app?sslmode=disable", "PG_PASSWORD_FILE", pwFile)
	httpGarbage := func(cfg string) string {
		i := strings.Index(cfg, "        sql:")
		return cfg[:i] + "        http: { url: \"" + garbage.URL + "/api/room-accesses\" }\n"
	}
	for _, tc := range []struct {
		name, config string
		status       int
		reason       string
	}{
		{"ID tokens, database down: the token, with the room's accesses as they are", sqlDown.Replace(syncIDTokenConfig), 200, ""},
		{"ID tokens, the app's endpoint answers garbage: the token", httpGarbage(syncIDTokenConfig), 200, ""},
		{"access tokens, database down: 503, which the client retries", sqlDown.Replace(syncAccessTokenConfig), 503, "the room's access source is unavailable"},
		{"access tokens, the app's endpoint answers garbage: 503", httpGarbage(syncAccessTokenConfig), 503, "the room's access source is unavailable"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, sec := authztest.ParseConfig(t, tc.config, lb.URL, testenv.DevSecretKey)
			core, logs := observer.New(zap.WarnLevel)
			e, err := assemble.Engine(cfg, sec, zap.New(core))
			if err != nil {
				t.Fatal(err)
			}
			defer e.Close()
			c := authztest.GRPC(t, e)
			s := bare("carol")
			a := askToken(t, c, s, tokenRequest(s, `{"room":"doc-1"}`))
			if a.status != tc.status || a.reason != tc.reason {
				t.Fatalf("got %d %q, want %d %q", a.status, a.body, tc.status, tc.reason)
			}
			warned := logs.FilterMessage("access sync failed")
			if warned.Len() != 1 {
				t.Fatalf("%d warnings of the failed sync, want 1: %v", warned.Len(), logs.All())
			}
			line, _ := json.Marshal(warned.All()[0].ContextMap())
			if strings.Contains(string(line), "a-db-password-never-logged") || strings.Contains(string(line), s) {
				t.Fatalf("the log line holds a secret: %s", line)
			}
		})
	}
}

func TestCheck_AccessTokenGrantsComeFromTheSourceAndTheInboxGetsATokenToo(t *testing.T) {
	db := startAppDB(t)
	dev := testenv.StartLiveblocks(t)
	rec := recordBodies(t, dev.URL)
	c := authztest.GRPC(t, authztest.Engine(t, db.config(t, syncAccessTokenConfig), rec.URL, testenv.DevSecretKey))
	session := func(id, workspace string, groups ...any) string {
		return authztest.Session(map[string]any{"sub": id, "name": id, "groups": groups, "workspace": workspace,
			"exp": time.Now().Add(time.Hour).Unix()})
	}
	perms := func(a authAnswer) string {
		b, _ := json.Marshal(a.token["perms"])
		return string(b)
	}
	db.exec(t, `INSERT INTO team_shares VALUES ('2', 'eng'); INSERT INTO shares VALUES ('2', 'erin', 'viewer')`)
	for _, tc := range []struct {
		name, session, body, want string
	}{
		{"a user's share", session("carol", "acme"), `{"room":"doc-1"}`, `{"acme:*":["*:read"],"doc-1":["*:write"]}`},
		{"a group's share", session("frank", "acme", "eng"), `{"room":"doc-2"}`, `{"acme:*":["*:read"],"doc-2":["*:write"]}`},
		{"the user's own entry over the group's", session("erin", "acme", "eng"), `{"room":"doc-2"}`, `{"acme:*":["*:read"],"doc-2":["*:read"]}`},
		{"no share: only the grants", session("dave", "acme"), `{"room":"doc-1"}`, `{"acme:*":["*:read"]}`},
		{"the inbox: the grants that do not depend on {room}", session("carol", "acme"), `{}`, `{"acme:*":["*:read"]}`},
		{"the inbox without a body", session("carol", "acme"), ``, `{"acme:*":["*:read"]}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := askToken(t, c, tc.session, tokenRequest(tc.session, tc.body))
			if a.status != 200 || a.token["k"] != "acc" || perms(a) != tc.want {
				t.Fatalf("got %d %s perms %s, want %s", a.status, a.body, perms(a), tc.want)
			}
			if got := rec.last(t, "/v2/authorize-user"); !strings.Contains(got, `"organizationId":"acme"`) {
				t.Errorf("authorize-user body %s, want organizationId acme", got)
			}
		})
	}

	// No organization: nothing but the room's share, and nothing at all for
	// the inbox. doc-3 is created, in the default organization, by this
	// first request for it.
	db.exec(t, `INSERT INTO documents VALUES ('3', false)`)
	s := session("dave", "")
	if a := askToken(t, c, s, tokenRequest(s, `{"room":"doc-3"}`)); a.status != 403 || !strings.Contains(a.reason, `no access to room "doc-3": its access source gives this user none`) {
		t.Fatalf("no share, no grant: got %d %s", a.status, a.body)
	}
	// A room of another organization is refused with the reason, not
	// granted for Liveblocks to close with 4001: doc-1 was created in acme,
	// doc-3 in the default organization.
	for _, tc := range []struct{ session, room string }{
		{s, "doc-1"},
		{session("carol", "acme"), "doc-3"},
		{session("carol", "globex"), "doc-1"},
	} {
		a := askToken(t, c, tc.session, tokenRequest(tc.session, `{"room":"`+tc.room+`"}`))
		if a.status != 403 || !strings.Contains(a.reason, "room belongs to another organization") {
			t.Fatalf("%s of another organization: got %d %s", tc.room, a.status, a.body)
		}
	}
	if a := askToken(t, c, s, tokenRequest(s, `{}`)); a.status != 403 || !strings.Contains(a.reason, "no room for a token without a room (the inbox)") {
		t.Fatalf("inbox without a grant: got %d %s", a.status, a.body)
	}
}

func TestRoomClient_AccessTokenFollowsSharesInTheAppsPostgreSQL(t *testing.T) {
	db := startAppDB(t)
	dev := testenv.StartLiveblocks(t)
	// Without an organization: the dev server does not put it in its tokens.
	cfg := strings.Replace(syncAccessTokenConfig, `  organization_id: "workspace"`, ``, 1)
	cfg = strings.Replace(cfg, `"{organization_id}:*"`, `"user-{user_id}:*"`, 1)
	shim := authztest.StartEnvoyShim(t, authztest.GRPC(t, authztest.Engine(t, db.config(t, cfg), dev.URL, testenv.DevSecretKey)), authztest.AuthPath)
	wantEntriesFollowShares(t, db, shim.AuthURL, dev.URL)
}

func TestExplain_ShowsTheAccessSourceAndWhatItGave(t *testing.T) {
	db := startAppDB(t)
	_, lb := authztest.DevServer(t)
	ctx := context.Background()
	req := func(session, body string) *authz.Request {
		return &authz.Request{Method: "POST", Path: authztest.AuthPath, Cookie: "session=" + session, Body: []byte(body), HasBody: true}
	}
	source := "postgres " + db.pg.Addr + "/" + testenv.PostgresDatabase

	t.Run("ID tokens, dry run: the source read, nothing written", func(t *testing.T) {
		e := authztest.Engine(t, db.config(t, syncIDTokenConfig), lb.URL, testenv.DevSecretKey)
		before := lb.Calls()
		x := e.Explain(ctx, req(bare("carol"), `{"room":"doc-1"}`), authz.ExplainOptions{})
		a := x.AccessSource
		if a == nil || a.Rule != "rooms.provision[0] doc-{id}" || a.Source != source || a.MaxAge != "1s" || a.Sync != "not run" || !a.Known {
			t.Fatalf("access source %+v", a)
		}
		if a.Accesses == nil || a.Accesses.Applies != "user carol" || strings.Join(a.Accesses.Effective, ",") != "*:write" {
			t.Fatalf("accesses %+v", a.Accesses)
		}
		if lb.Calls() != before {
			t.Fatal("a dry run called Liveblocks")
		}
		out, _ := json.Marshal(x)
		if strings.Contains(string(out), testenv.PostgresPassword) {
			t.Fatalf("the explanation holds the database password: %s", out)
		}
	})
	t.Run("ID tokens, calling Liveblocks: the sync and what it wrote", func(t *testing.T) {
		e := authztest.Engine(t, db.config(t, syncIDTokenConfig), lb.URL, testenv.DevSecretKey)
		x := e.Explain(ctx, req(bare("carol"), `{"room":"doc-2"}`), authz.ExplainOptions{CallLiveblocks: true})
		// doc-2 is shared with nobody: provisioned with no access, the
		// sync finds it in step.
		if a := x.AccessSource; a == nil || a.Sync != "in_step" || !a.Known || a.Accesses.Applies != "default: no access" {
			t.Fatalf("access source %+v", a)
		}
		if x.RoomAccesses == nil || x.RoomAccesses.Applies != "default: no access" {
			t.Fatalf("room accesses %+v", x.RoomAccesses)
		}
	})
	t.Run("access tokens: the organization and the grant from the source", func(t *testing.T) {
		e := authztest.Engine(t, db.config(t, syncAccessTokenConfig), lb.URL, testenv.DevSecretKey)
		s := authztest.Session(map[string]any{"sub": "carol", "name": "Carol", "groups": []any{}, "workspace": "acme",
			"exp": time.Now().Add(time.Hour).Unix()})
		x := e.Explain(ctx, req(s, `{"room":"doc-1"}`), authz.ExplainOptions{})
		if x.Identity == nil || x.Identity.OrganizationID != "acme" {
			t.Fatalf("identity %+v", x.Identity)
		}
		if x.AccessSource == nil || x.AccessSource.Source != source || !x.AccessSource.Known {
			t.Fatalf("access source %+v", x.AccessSource)
		}
		if got := strings.Join(x.Permissions["doc-1"], ","); got != "*:write" || len(x.Permissions["acme:*"]) != 1 {
			t.Fatalf("permissions %v", x.Permissions)
		}
	})
}

func TestCheck_ConcurrentTokenRequestsForARoomShareOneSync(t *testing.T) {
	db := startAppDB(t)
	dev := testenv.StartLiveblocks(t)
	rec := recordBodies(t, dev.URL)
	c := authztest.GRPC(t, authztest.Engine(t, db.config(t, syncIDTokenConfig), rec.URL, testenv.DevSecretKey))
	carol := bare("carol")
	const n = 12
	statuses := make(chan int, n)
	for range n {
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			resp, err := c.Check(ctx, tokenRequest(carol, `{"room":"doc-1"}`))
			if err != nil {
				statuses <- -1
				return
			}
			statuses <- int(resp.GetDeniedResponse().GetStatus().GetCode())
		}()
	}
	for range n {
		if s := <-statuses; s != 200 {
			t.Fatalf("a token request got %d", s)
		}
	}
	// One read of the room and one update (provisioning created it with
	// no access; the app shares it with carol), for twelve requests.
	if got := rec.count("/v2/rooms/doc-1"); got != 2 {
		t.Fatalf("%d calls to /v2/rooms/doc-1, want 2: one sync shared by %d requests", got, n)
	}
}

func TestCheck_AccessSyncFromMariaDB(t *testing.T) {
	m := testenv.StartMariaDB(t)
	_, lb := authztest.DevServer(t)
	m.Exec(t, `CREATE TABLE shares (document_id varchar(64), user_id varchar(64), role varchar(16));
		INSERT INTO shares VALUES ('7', 'carol', 'editor'), ('7', 'dave', 'viewer')`)
	pw := filepath.Join(t.TempDir(), "mariadb-password")
	if err := os.WriteFile(pw, []byte(testenv.MariaDBPassword), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := authztest.Config + `
rooms:
  provision:
    - room: "doc-{id}"
      default_accesses: []
      access_source:
        sql:
          driver: mysql
          dsn: "` + m.DSN() + `"
          password_file: "` + pw + `"
          query: |
            SELECT 'default', '', '' FROM DUAL WHERE EXISTS (SELECT 1 FROM shares WHERE document_id = $2)
            UNION ALL SELECT 'user', user_id, IF(role = 'editor', '*:write', '*:read') FROM shares WHERE document_id = $2
`
	c := authztest.GRPC(t, authztest.Engine(t, cfg, lb.URL, testenv.DevSecretKey))
	carol := bare("carol")
	if a := askToken(t, c, carol, tokenRequest(carol, `{"room":"doc-7"}`)); a.status != 200 {
		t.Fatalf("%d %s", a.status, a.body)
	}
	direct, err := liveblocks.New(liveblocks.Options{BaseURL: lb.URL, SecretKey: testenv.DevSecretKey})
	if err != nil {
		t.Fatal(err)
	}
	room, err := direct.GetRoom(context.Background(), "doc-7")
	if err != nil {
		t.Fatal(err)
	}
	got, _ := json.Marshal(room.UsersAccesses)
	if string(got) != `{"carol":["*:write"],"dave":["*:read"]}` {
		t.Fatalf("the room's users: %s", got)
	}
}

func TestCheck_ASlowAccessSourceDoesNotHoldTheTokenPastHalfTheBudget(t *testing.T) {
	_, lb := authztest.DevServer(t)
	const slow = 1500 * time.Millisecond // liveblocks.timeout is 2s: the request waits at most 1s
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(slow)
		_, _ = w.Write([]byte(`{"defaultAccesses": [], "usersAccesses": {"carol": ["*:write"]}}`))
	}))
	defer app.Close()
	i := strings.Index(syncIDTokenConfig, "        sql:")
	cfg := syncIDTokenConfig[:i] + "        http: { url: \"" + app.URL + "/room-accesses\" }\n"
	c := authztest.GRPC(t, authztest.Engine(t, cfg, lb.URL, testenv.DevSecretKey))
	carol := bare("carol")
	start := time.Now()
	if a := askToken(t, c, carol, tokenRequest(carol, `{"room":"doc-1"}`)); a.status != 200 {
		t.Fatalf("%d %s", a.status, a.body)
	}
	if took := time.Since(start); took >= slow {
		t.Fatalf("the token took %v: it waited for the whole sync", took)
	}
	// The sync went on in the background and wrote the room.
	direct, err := liveblocks.New(liveblocks.Options{BaseURL: lb.URL, SecretKey: testenv.DevSecretKey})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(3 * time.Second)
	for {
		room, err := direct.GetRoom(context.Background(), "doc-1")
		if err == nil && len(room.UsersAccesses["carol"]) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the sync never finished: %v %v", room, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// The next request finds the room synced and does not wait.
	start = time.Now()
	if a := askToken(t, c, carol, tokenRequest(carol, `{"room":"doc-1"}`)); a.status != 200 || time.Since(start) >= slow/2 {
		t.Fatalf("second request: %d after %v", a.status, time.Since(start))
	}
}
