package authztest

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/lbauthz/lbauthz/authz/directory"
	"github.com/lbauthz/lbauthz/internal/testenv"
	"github.com/lbauthz/lbauthz/liveblocks"
)

// The directory of the door tests: alice and bob in the team (Alice's
// session says so too), dave in no group. Room "doc-team" lets the team in;
// "doc-shared" names alice and bob and nobody else; "doc-dave" only dave.
var directoryFile = directory.StaticDirectory{
	Users: map[string]directory.Info{
		"alice": {"name": "Alice", "avatar": "https://example.test/a.png", "groups": []any{"team"}},
		"bob":   {"name": "Bob", "avatar": "https://example.test/b.png", "groups": []any{"team"}},
		"dave":  {"name": "Dave"},
	},
	Groups: map[string]directory.Info{"team": {"name": "The Team"}},
}

// DirectoryConfig writes the door tests' directory file and returns the
// directory section of a config reading it, with room URLs from a
// template.
func DirectoryConfig(t testing.TB) string {
	t.Helper()
	b, err := json.Marshal(directoryFile)
	if err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(t.TempDir(), "directory.json")
	if err := os.WriteFile(f, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return "directory:\n  file: \"" + f + "\"\n  room_url: \"https://app.example.test/d/{room}\"\n"
}

// DirectoryRooms creates the directory tests' rooms on the dev server at
// baseURL.
func DirectoryRooms(t testing.TB, baseURL string) {
	t.Helper()
	lb, err := liveblocks.New(liveblocks.Options{BaseURL: baseURL, SecretKey: testenv.DevSecretKey})
	if err != nil {
		t.Fatal(err)
	}
	w := []liveblocks.Permission{liveblocks.Write}
	none := []liveblocks.Permission{}
	for _, r := range []liveblocks.CreateRoomRequest{
		{ID: "doc-team", DefaultAccesses: none, GroupsAccesses: map[string][]liveblocks.Permission{"team": w}},
		{ID: "doc-shared", DefaultAccesses: none, UsersAccesses: map[string][]liveblocks.Permission{"alice": w, "bob": w}},
		{ID: "doc-dave", DefaultAccesses: none, UsersAccesses: map[string][]liveblocks.Permission{"dave": w}},
	} {
		if _, err := lb.CreateRoom(context.Background(), r); err != nil {
			t.Fatalf("creating room %s: %v", r.ID, err)
		}
	}
}
