package directory_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/lbauthz/lbauthz/authz/directory"
	"github.com/lbauthz/lbauthz/internal/testenv"
	"github.com/lbauthz/lbauthz/liveblocks"
)

// appDirectory is the same directory as in appSchema, as a static file.
var appDirectory = directory.StaticDirectory{
	Users: map[string]directory.Info{
		"alice": {"name": "Alice", "groups": []any{"team"}},
		"bob":   {"name": "Bob", "groups": []any{"team"}},
		"dave":  {"name": "Dave"},
	},
	Groups: map[string]directory.Info{"team": {"name": "The Team"}},
}

// appEndpoints serves appDirectory as an app's HTTP endpoints would.
func appEndpoints(t *testing.T) *httptest.Server {
	t.Helper()
	byID := func(m map[string]directory.Info, param string, strip bool) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("Authorization") != "Bearer app-token" {
				http.Error(w, "who are you", http.StatusUnauthorized)
				return
			}
			out := map[string]directory.Info{}
			for _, id := range r.URL.Query()[param] {
				if info, ok := m[id]; ok {
					shown := directory.Info{}
					for k, v := range info {
						if !strip || k != "groups" {
							shown[k] = v
						}
					}
					out[id] = shown
				}
			}
			_ = json.NewEncoder(w).Encode(out)
		}
	}
	mux := http.NewServeMux()
	mux.Handle("/users", byID(appDirectory.Users, "userIds", true))
	mux.Handle("/groups", byID(appDirectory.Groups, "groupIds", false))
	mux.HandleFunc("/search", func(w http.ResponseWriter, r *http.Request) {
		text := r.URL.Query().Get("text")
		type cand struct {
			ID     string `json:"id"`
			Groups []any  `json:"groups"`
		}
		out := []cand{}
		for _, id := range slices.Sorted(func(yield func(string) bool) {
			for id := range appDirectory.Users {
				if !yield(id) {
					return
				}
			}
		}) {
			info := appDirectory.Users[id]
			if strings.HasPrefix(id, text) || strings.HasPrefix(strings.ToLower(info["name"].(string)), text) {
				g, _ := info["groups"].([]any)
				out = append(out, cand{ID: id, Groups: g})
			}
		}
		_ = json.NewEncoder(w).Encode(out)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func TestDirectory_StaticFileAndHTTPSourcesAnswerAlike(t *testing.T) {
	dev := testenv.StartLiveblocks(t)
	lb, err := liveblocks.New(liveblocks.Options{BaseURL: dev.URL, SecretKey: testenv.DevSecretKey})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := lb.CreateRoom(ctx, liveblocks.CreateRoomRequest{ID: "doc-1",
		GroupsAccesses: map[string][]liveblocks.Permission{"team": {liveblocks.Write}}}); err != nil {
		t.Fatal(err)
	}

	file := filepath.Join(t.TempDir(), "directory.json")
	b, _ := json.Marshal(appDirectory)
	if err := os.WriteFile(file, b, 0o600); err != nil {
		t.Fatal(err)
	}
	static, err := directory.LoadStaticSource(file)
	if err != nil {
		t.Fatal(err)
	}
	app := appEndpoints(t)
	viaHTTP, err := directory.NewHTTPSource(directory.HTTPOptions{
		UsersURL: app.URL + "/users", GroupsURL: app.URL + "/groups", SearchURL: app.URL + "/search",
		Header: http.Header{"Authorization": {"Bearer app-token"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	alice := directory.Who{UserID: "alice", GroupIDs: []string{"team"}}
	for name, src := range map[string]directory.Source{"static file": static, "http": viaHTTP} {
		t.Run(name, func(t *testing.T) {
			dir, err := directory.New(directory.Options{Source: src, Liveblocks: lb, RoomURL: "https://app.test/d/{room}"})
			if err != nil {
				t.Fatal(err)
			}
			users, err := dir.Users(ctx, []string{"bob", "nobody"})
			if err != nil {
				t.Fatal(err)
			}
			if want := []directory.Info{{"name": "Bob"}, nil}; !reflect.DeepEqual(users, want) {
				t.Errorf("users %v, want %v (groups are not shown)", users, want)
			}
			mentions, err := dir.MentionSuggestions(ctx, alice, "doc-1", "")
			if err != nil {
				t.Fatal(err)
			}
			want := []directory.Mention{{Kind: "user", ID: "alice"}, {Kind: "user", ID: "bob"}, {Kind: "group", ID: "team"}}
			if !reflect.DeepEqual(mentions, want) {
				t.Errorf("mentions %v, want %v (never dave)", mentions, want)
			}
			rooms, err := dir.RoomsInfo(ctx, alice, []string{"doc-1"})
			if err != nil {
				t.Fatal(err)
			}
			if want := []directory.Info{{"name": "doc-1", "url": "https://app.test/d/doc-1"}}; !reflect.DeepEqual(rooms, want) {
				t.Errorf("rooms %v, want %v", rooms, want)
			}
		})
	}
}
