package envoygrpc_test

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
	"google.golang.org/grpc/codes"

	"github.com/lbauthz/lbauthz/internal/assemble"
	"github.com/lbauthz/lbauthz/internal/authztest"
	"github.com/lbauthz/lbauthz/internal/testenv"
)

// TestCheck_DirectoryPathsAreAnsweredForSignedInUsers sends the
// CheckRequests Envoy sends for the client's resolvers and reads the
// answers as Envoy does: a denied_response with status 200 and the JSON
// body, which Envoy sends to the browser as a local reply.
func TestCheck_DirectoryPathsAreAnsweredForSignedInUsers(t *testing.T) {
	dev, lb := authztest.DevServer(t)
	authztest.DirectoryRooms(t, dev.URL)
	c := authztest.GRPC(t, authztest.Engine(t, authztest.Config+authztest.DirectoryConfig(t), lb.URL, testenv.DevSecretKey))
	alice := cookie(authztest.Session(authztest.Alice()))
	dave := authztest.Alice()
	dave["sub"], dave["groups"] = "dave", []any{}

	tests := []struct {
		name    string
		method  string
		path    string
		headers map[string]string
		status  int
		code    codes.Code
		body    string // the whole body, or for an error a part of it
	}{
		{"users in the order asked, null for an unknown id", "GET", "/api/liveblocks-users?userIds=bob&userIds=nobody&userIds=alice", alice, 200, codes.PermissionDenied,
			`[{"avatar":"https://example.test/b.png","name":"Bob"},null,{"avatar":"https://example.test/a.png","name":"Alice"}]`},
		{"mentions list a member of the room", "GET", "/api/liveblocks-mentions?roomId=doc-shared&text=b", alice, 200, codes.PermissionDenied,
			`[{"kind":"user","id":"bob"}]`},
		{"mentions never list a user without access", "GET", "/api/liveblocks-mentions?roomId=doc-team&text=d", alice, 200, codes.PermissionDenied, `[]`},
		{"mentions through a group's access, then the group", "GET", "/api/liveblocks-mentions?roomId=doc-team&text=", alice, 200, codes.PermissionDenied,
			`[{"kind":"user","id":"alice"},{"kind":"user","id":"bob"},{"kind":"group","id":"team"}]`},
		{"groups", "GET", "/api/liveblocks-groups?groupIds=team&groupIds=ghosts", alice, 200, codes.PermissionDenied, `[{"name":"The Team"},null]`},
		{"rooms the user can enter, null for the others", "GET", "/api/liveblocks-rooms?roomIds=doc-team&roomIds=doc-dave", alice, 200, codes.PermissionDenied,
			`[{"name":"doc-team","url":"https://app.example.test/d/doc-team"},null]`},
		{"a prefix with % matches no one", "GET", "/api/liveblocks-mentions?roomId=doc-team&text=" + url.QueryEscape("%"), alice, 200, codes.PermissionDenied, `[]`},
		{"no session is 401 as on the auth path", "GET", "/api/liveblocks-users?userIds=bob", nil, 401, codes.Unauthenticated, "no session cookie"},
		{"an invalid session is 401", "GET", "/api/liveblocks-users?userIds=bob", cookie("not-a-jwt"), 401, codes.Unauthenticated, "invalid or expired session"},
		{"a room the user cannot enter is 403", "GET", "/api/liveblocks-mentions?roomId=doc-shared&text=", cookie(authztest.Session(dave)), 403, codes.PermissionDenied, "no access to this room"},
		{"1,000 ids are 400", "GET", "/api/liveblocks-users?" + strings.Repeat("userIds=u&", 1000), alice, 400, codes.InvalidArgument, "too many user ids"},
		{"a 10 KB prefix is 400", "GET", "/api/liveblocks-mentions?roomId=doc-team&text=" + strings.Repeat("a", 10<<10), alice, 400, codes.InvalidArgument, "text is longer than 128 bytes"},
		{"a malformed query string is 400", "GET", "/api/liveblocks-users?userIds=%zz", alice, 400, codes.InvalidArgument, "malformed query string"},
		{"POST is 405", "POST", "/api/liveblocks-users", alice, 405, codes.InvalidArgument, "take GET"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := authztest.Check(t, c, authztest.CheckRequest(tt.method, tt.path, tt.headers, ""), 3*time.Second)
			if r.GRPCError != nil {
				t.Fatalf("gRPC error: %v", r.GRPCError)
			}
			if r.Allowed || r.Status != tt.status || r.GRPCCode != tt.code {
				t.Fatalf("allowed=%v status=%d code=%v body=%.200s; want a denied_response %d, code %v", r.Allowed, r.Status, r.GRPCCode, r.Body, tt.status, tt.code)
			}
			if tt.status == 200 && r.Body != tt.body || tt.status != 200 && !strings.Contains(r.Body, tt.body) {
				t.Fatalf("body %.300s\nwant %s", r.Body, tt.body)
			}
			if r.Headers["content-type"] != "application/json" {
				t.Errorf("content-type %q", r.Headers["content-type"])
			}
			if tt.status == 200 && r.Headers["cache-control"] != "private, no-store" {
				t.Errorf("cache-control %q, want private, no-store", r.Headers["cache-control"])
			}
		})
	}

	// A path next to the directory's is the app's.
	r := authztest.Check(t, c, authztest.CheckRequest("GET", "/api/liveblocks-users/", alice, ""), 3*time.Second)
	if !r.Allowed || r.Set["x-user-id"] != "alice" {
		t.Fatalf("/api/liveblocks-users/ must pass through to the app with the identity: %+v", r)
	}
}

// TestCheck_DirectorySourceDownIs503WithoutItsSecret points the directory
// at a PostgreSQL address where nothing listens: the client gets a
// retryable 503 that names nothing of the source, and the log line says
// what failed without the password.
func TestCheck_DirectorySourceDownIs503WithoutItsSecret(t *testing.T) {
	dev, lb := authztest.DevServer(t)
	authztest.DirectoryRooms(t, dev.URL)
	const password = "directory-db-password-7f3a"
	pwFile := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(pwFile, []byte(password), 0o600); err != nil {
		t.Fatal(err)
	}
	down := testenv.FreeAddr(t)
	yaml := authztest.Config + `directory:
  sql:
    dsn: "postgres://app@` + down + `/app?connect_timeout=1"
    password_file: "` + pwFile + `"
    users_query: "SELECT id, name FROM users WHERE id = ANY($1)"
    groups_query: "SELECT id, name FROM teams WHERE id = ANY($1)"
    search_query: "SELECT id FROM users WHERE lower(name) LIKE $1 LIMIT $2"
`
	cfg, sec := authztest.ParseConfig(t, yaml, lb.URL, testenv.DevSecretKey)
	core, logs := observer.New(zap.DebugLevel)
	e, err := assemble.Engine(cfg, sec, zap.New(core))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	c := authztest.GRPC(t, e)
	alice := cookie(authztest.Session(authztest.Alice()))
	for _, path := range []string{"/api/liveblocks-users?userIds=bob", "/api/liveblocks-mentions?roomId=doc-team&text=b"} {
		r := authztest.Check(t, c, authztest.CheckRequest("GET", path, alice, ""), 5*time.Second)
		if r.Allowed || r.Status != 503 || r.GRPCCode != codes.Unavailable || r.Body != `{"error":"directory unavailable"}` {
			t.Fatalf("%s: allowed=%v status=%d code=%v body=%s; want 503 directory unavailable", path, r.Allowed, r.Status, r.GRPCCode, r.Body)
		}
	}
	warned := logs.FilterMessage("directory unavailable").All()
	if len(warned) == 0 {
		t.Fatal("no log line says the directory is unavailable")
	}
	for _, entry := range logs.All() {
		if line := fmt.Sprint(entry.Message, entry.ContextMap()); strings.Contains(line, password) {
			t.Fatalf("a log line holds the source's password: %q", entry.Message)
		}
	}
	t.Logf("logged: %v", warned[0].ContextMap()["error"])
}
