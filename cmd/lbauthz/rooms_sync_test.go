package main

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/lbauthz/lbauthz/internal/authztest"
	"github.com/lbauthz/lbauthz/internal/testenv"
)

func TestRoomsSync_FollowsTheAppsSharingTables(t *testing.T) {
	_, counter := authztest.DevServer(t)
	pg := testenv.StartPostgres(t)
	ctx := context.Background()
	db, err := pgx.Connect(ctx, pg.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(ctx)
	if _, err := db.Exec(ctx, `
CREATE TABLE documents (id text PRIMARY KEY);
CREATE TABLE shares (document_id text, user_id text, role text);
INSERT INTO documents VALUES ('1'), ('2');
INSERT INTO shares VALUES ('1', 'alice', 'editor');`); err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	keyFile := write("key", testenv.DevSecretKey)
	hmacFile := write("hmac", authztest.HMACSecret)
	pwFile := write("pg-password", testenv.PostgresPassword+"\n")
	cfg := write("lbauthz.yaml", `
liveblocks:
  base_url: "`+counter.URL+`"
  secret_key_file: "`+keyFile+`"
session:
  cookie: session
  jwt: { hmac_secret_file: "`+hmacFile+`", algorithms: [HS256] }
rooms:
  provision:
    - room: "doc-{id}"
      access_source:
        sql:
          dsn: "`+pg.DSN()+`"
          password_file: "`+pwFile+`"
          query: |
            SELECT 'default', '', '' FROM documents WHERE id = $2
            UNION ALL SELECT 'user', user_id, CASE role WHEN 'editor' THEN '*:write' ELSE '*:read' END
              FROM shares WHERE document_id = $2
`)
	t.Setenv("LIVEBLOCKS_SECRET_KEY", testenv.DevSecretKey)
	t.Setenv("LIVEBLOCKS_BASE_URL", counter.URL)

	// A room the app knows but Liveblocks does not is created.
	code, out, errs := lbRooms(t, "sync", "doc-1", "--config", cfg)
	if code != exitOK || out != "doc-1\tcreated\n" {
		t.Fatalf("sync doc-1: exit %d: %q %s", code, out, errs)
	}
	if r := getRoom(t, "doc-1"); !reflect.DeepEqual(r.UsersAccesses, map[string][]string{"alice": {"*:write"}}) {
		t.Fatalf("doc-1 users %v", r.UsersAccesses)
	}

	// The app shares with bob and unshares alice; a room out of the
	// sources' reach and one the app does not know are left alone.
	if _, err := db.Exec(ctx, `DELETE FROM shares; INSERT INTO shares VALUES ('1', 'bob', 'viewer')`); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"create", "lobby", "--default", "*:write"}, {"create", "doc-9", "--user", "zoe=*:write"}} {
		if code, _, errs := lbRooms(t, args...); code != exitOK {
			t.Fatalf("%v: %s", args, errs)
		}
	}
	code, out, errs = lbRooms(t, "sync", "--all", "--config", cfg)
	if code != exitOK {
		t.Fatalf("sync --all: exit %d: %s", code, errs)
	}
	for _, line := range []string{"doc-1\tupdated", "lobby\tno_source", "doc-9\tunknown"} {
		if !strings.Contains(out, line+"\n") {
			t.Errorf("sync --all printed no %q:\n%s", line, out)
		}
	}
	if r := getRoom(t, "doc-1"); !reflect.DeepEqual(r.UsersAccesses, map[string][]string{"bob": {"*:read"}}) {
		t.Fatalf("doc-1 after the app's change: users %v", r.UsersAccesses)
	}
	if r := getRoom(t, "doc-9"); !reflect.DeepEqual(r.UsersAccesses, map[string][]string{"zoe": {"*:write"}}) {
		t.Fatalf("a room unknown to the app was changed: %v", r.UsersAccesses)
	}

	if code, _, errs := lbRooms(t, "sync", "doc-1"); code != exitUsage || !strings.Contains(errs, "needs --config") {
		t.Fatalf("without --config: exit %d: %s", code, errs)
	}
	if code, _, errs := lbRooms(t, "sync", "--config", cfg); code != exitUsage || !strings.Contains(errs, "one room id") {
		t.Fatalf("without a room or --all: exit %d: %s", code, errs)
	}
}
