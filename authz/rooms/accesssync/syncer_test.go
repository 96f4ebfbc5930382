package accesssync_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/lbauthz/lbauthz/authz/rooms/accesssync"
	"github.com/lbauthz/lbauthz/internal/testenv"
	"github.com/lbauthz/lbauthz/liveblocks"
)

type perms = []liveblocks.Permission

// sharingSchema is a legacy app's documents and their shares.
const sharingSchema = `
CREATE TABLE documents (id text PRIMARY KEY, public boolean NOT NULL DEFAULT false);
CREATE TABLE shares (document_id text REFERENCES documents, user_id text, role text);
CREATE TABLE team_shares (document_id text REFERENCES documents, team_id text);
INSERT INTO documents VALUES ('doc-1', false), ('doc-2', true);
INSERT INTO shares VALUES ('doc-1', 'alice', 'editor');
INSERT INTO team_shares VALUES ('doc-1', 'eng');
`

const accessQuery = `
SELECT 'default', '', CASE WHEN d.public THEN '*:read' ELSE '' END FROM documents d WHERE d.id = $1
UNION ALL SELECT 'user', s.user_id, CASE s.role WHEN 'editor' THEN '*:write' ELSE '*:read' END FROM shares s WHERE s.document_id = $1
UNION ALL SELECT 'group', t.team_id, '*:write' FROM team_shares t WHERE t.document_id = $1`

// writes records the calls that change rooms, on their way to the real dev
// server.
type writes struct {
	mu     sync.Mutex
	bodies []string
}

func (w *writes) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method == http.MethodPost && req.Body != nil {
		b, err := io.ReadAll(req.Body)
		if err != nil {
			return nil, err
		}
		req.Body = io.NopCloser(bytes.NewReader(b))
		w.mu.Lock()
		w.bodies = append(w.bodies, req.URL.Path+" "+string(b))
		w.mu.Unlock()
	}
	return http.DefaultTransport.RoundTrip(req)
}

func (w *writes) take() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	b := w.bodies
	w.bodies = nil
	return b
}

type fixture struct {
	db     *pgx.Conn
	lb     *liveblocks.Client
	writes *writes
	syncer *accesssync.Syncer
}

func newFixture(t *testing.T, maxAge time.Duration) fixture {
	t.Helper()
	pg := testenv.StartPostgres(t)
	dev := testenv.StartLiveblocks(t)
	ctx := context.Background()
	db, err := pgx.Connect(ctx, pg.URL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close(context.Background()) })
	if _, err := db.Exec(ctx, sharingSchema); err != nil {
		t.Fatal(err)
	}
	w := &writes{}
	lb, err := liveblocks.New(liveblocks.Options{BaseURL: dev.URL, SecretKey: testenv.DevSecretKey, HTTPClient: &http.Client{Transport: w}})
	if err != nil {
		t.Fatal(err)
	}
	src, err := accesssync.NewSQLSource(accesssync.SQLOptions{DSN: pg.DSN(), Password: testenv.PostgresPassword, Query: accessQuery})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(src.Close)
	s, err := accesssync.New(accesssync.Options{
		Liveblocks: lb, MaxAge: maxAge,
		SourceFor: func(room string) accesssync.Source {
			if strings.HasPrefix(room, "doc-") {
				return src
			}
			return nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	return fixture{db: db, lb: lb, writes: w, syncer: s}
}

func (f fixture) exec(t *testing.T, sql string) {
	t.Helper()
	if _, err := f.db.Exec(context.Background(), sql); err != nil {
		t.Fatal(err)
	}
}

func (f fixture) accesses(t *testing.T, id string) accesssync.Accesses {
	t.Helper()
	r, err := f.lb.GetRoom(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return accesssync.Accesses{Default: r.DefaultAccesses, Groups: r.GroupsAccesses, Users: r.UsersAccesses}
}

func TestSync_FollowsSharesAddedAndRemovedInTheApp(t *testing.T) {
	f := newFixture(t, time.Minute)
	ctx := context.Background()
	// The room as provisioned long ago: its accesses have drifted.
	if _, err := f.lb.CreateRoom(ctx, liveblocks.CreateRoomRequest{ID: "doc-1", DefaultAccesses: perms{liveblocks.Write},
		UsersAccesses: map[string]perms{"mallory": {liveblocks.Write}, "alice": {liveblocks.Write}}}); err != nil {
		t.Fatal(err)
	}
	f.writes.take()

	res, err := f.syncer.Sync(ctx, "doc-1", "")
	if err != nil || res.Outcome != accesssync.Updated {
		t.Fatalf("first sync: %v %v", res.Outcome, err)
	}
	if w := f.writes.take(); len(w) != 1 || w[0] != `/v2/rooms/doc-1 {"defaultAccesses":[],"groupsAccesses":{"eng":["*:write"]},"usersAccesses":{"mallory":null}}` {
		t.Fatalf("writes %q: want one update of only what differs, mallory removed with null", w)
	}
	want := accesssync.Accesses{Default: perms{}, Groups: map[string]perms{"eng": {liveblocks.Write}}, Users: map[string]perms{"alice": {liveblocks.Write}}}
	if got := f.accesses(t, "doc-1"); !reflect.DeepEqual(got, want) {
		t.Fatalf("after sync %+v, want %+v", got, want)
	}

	if res, err := f.syncer.Sync(ctx, "doc-1", ""); err != nil || res.Outcome != accesssync.InStep {
		t.Fatalf("second sync: %v %v", res.Outcome, err)
	}
	if w := f.writes.take(); len(w) != 0 {
		t.Fatalf("a room in step was written: %q", w)
	}

	// Alice's share removed, Bob invited as a viewer, the team unshared.
	f.exec(t, `DELETE FROM shares WHERE user_id = 'alice'; DELETE FROM team_shares;
		INSERT INTO shares VALUES ('doc-1', 'bob', 'viewer'), ('doc-1', 'bob', 'editor')`)
	if res, err := f.syncer.Sync(ctx, "doc-1", ""); err != nil || res.Outcome != accesssync.Updated {
		t.Fatalf("sync after the change: %v %v", res.Outcome, err)
	}
	want = accesssync.Accesses{Default: perms{}, Groups: map[string]perms{}, Users: map[string]perms{"bob": {liveblocks.Write}}}
	if got := f.accesses(t, "doc-1"); !reflect.DeepEqual(got, want) {
		t.Fatalf("after the change %+v, want %+v", got, want)
	}
}

func TestSync_RoomsTheAppDoesNotKnowAreLeftAloneAndMissingOnesCreated(t *testing.T) {
	f := newFixture(t, time.Minute)
	ctx := context.Background()
	if _, err := f.lb.CreateRoom(ctx, liveblocks.CreateRoomRequest{ID: "doc-gone", DefaultAccesses: perms{liveblocks.Write}}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.lb.CreateRoom(ctx, liveblocks.CreateRoomRequest{ID: "lobby", DefaultAccesses: perms{liveblocks.Write}}); err != nil {
		t.Fatal(err)
	}
	f.writes.take()
	var got []string
	err := f.syncer.SyncAll(ctx, liveblocks.ListRoomsRequest{}, func(r accesssync.Result, err error) {
		if err != nil {
			t.Errorf("%s: %v", r.RoomID, err)
		}
		got = append(got, r.RoomID+"="+string(r.Outcome))
	})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, " ") != "lobby=no_source doc-gone=unknown" && strings.Join(got, " ") != "doc-gone=unknown lobby=no_source" {
		t.Fatalf("sync all: %v", got)
	}
	if w := f.writes.take(); len(w) != 0 {
		t.Fatalf("rooms without a source or unknown to the app were written: %q", w)
	}

	res, err := f.syncer.Sync(ctx, "doc-2", "acme")
	if err != nil || res.Outcome != accesssync.Created {
		t.Fatalf("missing room: %v %v", res.Outcome, err)
	}
	r, err := f.lb.GetRoom(ctx, "doc-2")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(r.DefaultAccesses, perms{liveblocks.Read}) || r.Organization() != "acme" {
		t.Fatalf("created room: default %v, organization %q", r.DefaultAccesses, r.Organization())
	}
}

func TestFresh_SyncsOnFirstUseAndWhenOlderThanMaxAge(t *testing.T) {
	const maxAge = 300 * time.Millisecond
	f := newFixture(t, maxAge)
	ctx := context.Background()
	if _, synced, err := f.syncer.Fresh(ctx, "doc-1", ""); err != nil || !synced {
		t.Fatalf("first use: synced %v, %v", synced, err)
	}
	if u := f.accesses(t, "doc-1").Users; !reflect.DeepEqual(u, map[string]perms{"alice": {liveblocks.Write}}) {
		t.Fatalf("first use created %v", u)
	}
	f.exec(t, `INSERT INTO shares VALUES ('doc-1', 'carol', 'viewer')`)
	if _, synced, _ := f.syncer.Fresh(ctx, "doc-1", ""); synced {
		t.Fatal("synced again within MaxAge")
	}
	time.Sleep(maxAge + 100*time.Millisecond)
	if _, synced, err := f.syncer.Fresh(ctx, "doc-1", ""); err != nil || !synced {
		t.Fatalf("after MaxAge: synced %v, %v", synced, err)
	}
	if u := f.accesses(t, "doc-1").Users; len(u) != 2 || len(u["carol"]) != 1 {
		t.Fatalf("carol's share did not reach the room: %v", u)
	}
}

func TestHTTPSource_ReadsTheAppsEndpoint(t *testing.T) {
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("roomId") != "doc-1" {
			http.NotFound(w, r)
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{
			"defaultAccesses": []string{}, "usersAccesses": map[string][]string{"alice": {"*:write"}},
		})
	}))
	defer app.Close()
	src, err := accesssync.NewHTTPSource(app.URL+"/api/room-accesses", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	a, known, err := src.Accesses(context.Background(), "doc-1")
	if err != nil || !known || !reflect.DeepEqual(a.Users, map[string]perms{"alice": {liveblocks.Write}}) || len(a.Default) != 0 {
		t.Fatalf("doc-1: %+v %v %v", a, known, err)
	}
	if _, known, err := src.Accesses(context.Background(), "other"); err != nil || known {
		t.Fatalf("404: known %v, %v", known, err)
	}
}
