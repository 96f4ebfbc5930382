package liveblocks_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/lbauthz/lbauthz/internal/testenv"
	"github.com/lbauthz/lbauthz/liveblocks"
)

type perms = []liveblocks.Permission

func TestRooms_RoundTrip(t *testing.T) {
	c := newDevClient(t)
	ctx := context.Background()

	// The example of the Liveblocks documentation.
	create := liveblocks.CreateRoomRequest{
		ID:              "my-room-id",
		DefaultAccesses: perms{liveblocks.RoomRead, liveblocks.RoomPresenceWrite},
		GroupsAccesses:  map[string]perms{"my-group-id": {liveblocks.RoomWrite}},
		UsersAccesses:   map[string]perms{"my-user-id": {liveblocks.RoomWrite}},
		Metadata:        map[string]any{"color": "blue", "tags": []string{"a", "b"}},
	}
	room, err := c.CreateRoom(ctx, create)
	if err != nil {
		t.Fatalf("CreateRoom: %v", err)
	}
	wantRoom(t, "created", room, create.ID, create.DefaultAccesses, create.GroupsAccesses, create.UsersAccesses, create.Metadata)
	if room.CreatedAt.IsZero() {
		t.Error("CreatedAt is zero")
	}

	_, err = c.CreateRoom(ctx, create)
	var apiErr *liveblocks.Error
	if !errors.Is(err, liveblocks.ErrConflict) || !errors.As(err, &apiErr) || apiErr.Status != http.StatusConflict {
		t.Fatalf("creating it again: err = %v, want a 409 *Error matching ErrConflict", err)
	}
	if apiErr.Code != "ROOM_ALREADY_EXISTS" || apiErr.Endpoint != "POST /v2/rooms" || apiErr.Message == "" {
		t.Errorf("409 error = %+v", apiErr)
	}

	existing, err := c.GetOrCreateRoom(ctx, liveblocks.CreateRoomRequest{ID: create.ID, DefaultAccesses: perms{liveblocks.Write}})
	if err != nil {
		t.Fatalf("GetOrCreateRoom: %v", err)
	}
	wantRoom(t, "get-or-create of an existing room", existing, create.ID, create.DefaultAccesses, create.GroupsAccesses, create.UsersAccesses, create.Metadata)

	got, err := c.GetRoom(ctx, create.ID)
	if err != nil {
		t.Fatalf("GetRoom: %v", err)
	}
	wantRoom(t, "got", got, create.ID, create.DefaultAccesses, create.GroupsAccesses, create.UsersAccesses, create.Metadata)
	if !got.CreatedAt.Equal(room.CreatedAt) {
		t.Errorf("CreatedAt %v, want %v", got.CreatedAt, room.CreatedAt)
	}

	updated, err := c.UpdateRoom(ctx, create.ID, liveblocks.UpdateRoomRequest{
		GroupsAccesses: map[string]perms{"other-group": {liveblocks.Read}},
		RemoveGroups:   []string{"my-group-id"},
		UsersAccesses:  map[string]perms{"other-user": {liveblocks.Write, liveblocks.CommentsRead}},
		RemoveUsers:    []string{"my-user-id"},
		Metadata:       map[string]any{"color": "red"},
	})
	if err != nil {
		t.Fatalf("UpdateRoom: %v", err)
	}
	wantGroups := map[string]perms{"other-group": {liveblocks.Read}}
	wantUsers := map[string]perms{"other-user": {liveblocks.Write, liveblocks.CommentsRead}}
	wantMeta := map[string]any{"color": "red", "tags": []string{"a", "b"}}
	wantRoom(t, "updated", updated, create.ID, create.DefaultAccesses, wantGroups, wantUsers, wantMeta)
	got, err = c.GetRoom(ctx, create.ID)
	if err != nil {
		t.Fatalf("GetRoom after update: %v", err)
	}
	wantRoom(t, "got after update", got, create.ID, create.DefaultAccesses, wantGroups, wantUsers, wantMeta)

	// An empty, non-nil DefaultAccesses takes all default access away.
	updated, err = c.UpdateRoom(ctx, create.ID, liveblocks.UpdateRoomRequest{DefaultAccesses: perms{}})
	if err != nil {
		t.Fatalf("UpdateRoom emptying defaultAccesses: %v", err)
	}
	wantRoom(t, "defaults emptied", updated, create.ID, perms{}, wantGroups, wantUsers, wantMeta)

	if err := c.DeleteRoom(ctx, create.ID); err != nil {
		t.Fatalf("DeleteRoom: %v", err)
	}
	_, err = c.GetRoom(ctx, create.ID)
	if !errors.Is(err, liveblocks.ErrNotFound) || !errors.As(err, &apiErr) || apiErr.Status != http.StatusNotFound {
		t.Fatalf("GetRoom after delete: err = %v, want a 404 *Error matching ErrNotFound", err)
	}
	if apiErr.Code != "ROOM_NOT_FOUND" || apiErr.Endpoint != "GET /v2/rooms/my-room-id" {
		t.Errorf("404 error = %+v", apiErr)
	}
	if _, err := c.UpdateRoom(ctx, create.ID, liveblocks.UpdateRoomRequest{Metadata: map[string]any{"a": "b"}}); !errors.Is(err, liveblocks.ErrNotFound) {
		t.Errorf("UpdateRoom after delete: err = %v, want ErrNotFound", err)
	}
}

func wantRoom(t *testing.T, what string, r *liveblocks.Room, id string, def perms, groups, users map[string]perms, meta map[string]any) {
	t.Helper()
	if r.ID != id {
		t.Errorf("%s: ID = %q, want %q", what, r.ID, id)
	}
	if !slices.Equal(r.DefaultAccesses, def) {
		t.Errorf("%s: DefaultAccesses = %v, want %v", what, r.DefaultAccesses, def)
	}
	if !reflect.DeepEqual(r.GroupsAccesses, groups) {
		t.Errorf("%s: GroupsAccesses = %v, want %v", what, r.GroupsAccesses, groups)
	}
	if !reflect.DeepEqual(r.UsersAccesses, users) {
		t.Errorf("%s: UsersAccesses = %v, want %v", what, r.UsersAccesses, users)
	}
	if !reflect.DeepEqual(r.Metadata, meta) {
		t.Errorf("%s: Metadata = %#v, want %#v", what, r.Metadata, meta)
	}
}

func TestCreateRoom_WithoutDefaultAccessesGivesNoAccess(t *testing.T) {
	// Liveblocks gives a room created without defaultAccesses ["room:write"].
	c := newDevClient(t)
	room, err := c.CreateRoom(context.Background(), liveblocks.CreateRoomRequest{ID: "private"})
	if err != nil {
		t.Fatalf("CreateRoom: %v", err)
	}
	if len(room.DefaultAccesses) != 0 {
		t.Errorf("DefaultAccesses = %v, want none", room.DefaultAccesses)
	}
}

func TestRooms_IDsAreEscapedInPaths(t *testing.T) {
	c := newDevClient(t)
	ctx := context.Background()
	for _, id := range []string{"a/b c?d#e%f", "team:42/doc 1", "..a", "ünï-🙂", "%2F"} {
		t.Run(id, func(t *testing.T) {
			if _, err := c.CreateRoom(ctx, liveblocks.CreateRoomRequest{ID: id}); err != nil {
				t.Fatalf("CreateRoom: %v", err)
			}
			got, err := c.GetRoom(ctx, id)
			if err != nil {
				t.Fatalf("GetRoom: %v", err)
			}
			if got.ID != id {
				t.Errorf("GetRoom returned room %q", got.ID)
			}
			if _, err := c.UpdateRoom(ctx, id, liveblocks.UpdateRoomRequest{UsersAccesses: map[string]perms{"u": {liveblocks.Read}}}); err != nil {
				t.Errorf("UpdateRoom: %v", err)
			}
			if err := c.DeleteRoom(ctx, id); err != nil {
				t.Errorf("DeleteRoom: %v", err)
			}
			if _, err := c.GetRoom(ctx, id); !errors.Is(err, liveblocks.ErrNotFound) {
				t.Errorf("GetRoom after delete: %v, want ErrNotFound", err)
			}
		})
	}
}

func TestRooms_InvalidRequestIsNotSent(t *testing.T) {
	c, hits := tripwire(t)
	ctx := context.Background()
	ok := perms{liveblocks.Write}
	tests := []struct {
		name      string
		call      func() error
		wantField string
	}{
		{"empty room id", func() error { _, err := c.CreateRoom(ctx, liveblocks.CreateRoomRequest{}); return err }, "roomId"},
		{"room id of 129 characters", func() error {
			_, err := c.CreateRoom(ctx, liveblocks.CreateRoomRequest{ID: strings.Repeat("r", 129)})
			return err
		}, "roomId"},
		{"room id ..", func() error { _, err := c.GetRoom(ctx, ".."); return err }, "roomId"},
		{"room id .", func() error { return c.DeleteRoom(ctx, ".") }, "roomId"},
		{"two base scopes in defaultAccesses", func() error {
			_, err := c.CreateRoom(ctx, liveblocks.CreateRoomRequest{ID: "r", DefaultAccesses: perms{liveblocks.Read, liveblocks.Write}})
			return err
		}, "defaultAccesses"},
		{"unknown permission for a group", func() error {
			_, err := c.CreateRoom(ctx, liveblocks.CreateRoomRequest{ID: "r", GroupsAccesses: map[string]perms{"g": {"room:admin"}}})
			return err
		}, `groupsAccesses["g"]`},
		{"metadata number", func() error {
			_, err := c.GetOrCreateRoom(ctx, liveblocks.CreateRoomRequest{ID: "r", Metadata: map[string]any{"n": 1}})
			return err
		}, `metadata["n"]`},
		{"user both set and removed", func() error {
			_, err := c.UpdateRoom(ctx, "r", liveblocks.UpdateRoomRequest{UsersAccesses: map[string]perms{"u": ok}, RemoveUsers: []string{"u"}})
			return err
		}, `usersAccesses["u"]`},
		{"two storage scopes for a user", func() error {
			_, err := c.UpdateRoom(ctx, "r", liveblocks.UpdateRoomRequest{UsersAccesses: map[string]perms{"u": {liveblocks.Read, liveblocks.StorageRead, liveblocks.StorageWrite}}})
			return err
		}, `usersAccesses["u"]`},
		{"upsert changing nothing", func() error {
			_, err := c.UpsertRoom(ctx, "r", liveblocks.UpdateRoomRequest{}, &liveblocks.CreateRoomRequest{})
			return err
		}, "update"},
		{"upsert creating another room", func() error {
			_, err := c.UpsertRoom(ctx, "r", liveblocks.UpdateRoomRequest{Metadata: map[string]any{"a": "b"}}, &liveblocks.CreateRoomRequest{ID: "other"})
			return err
		}, "create.id"},
		{"list limit 101", func() error { _, err := c.ListRooms(ctx, liveblocks.ListRoomsRequest{Limit: 101}); return err }, "limit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			var verr *liveblocks.ValidationError
			if !errors.As(err, &verr) {
				t.Fatalf("err = %v, want a *ValidationError", err)
			}
			if verr.Field != tt.wantField {
				t.Errorf("Field = %q, want %q (%v)", verr.Field, tt.wantField, err)
			}
		})
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("Liveblocks was called %d times, want 0", n)
	}
}

func TestUpsertRoom_DevServerAnswers501(t *testing.T) {
	c := newDevClient(t)
	_, err := c.UpsertRoom(context.Background(), "r", liveblocks.UpdateRoomRequest{Metadata: map[string]any{"a": "b"}}, nil)
	var apiErr *liveblocks.Error
	if !errors.As(err, &apiErr) || apiErr.Status != http.StatusNotImplemented {
		t.Fatalf("err = %v, want the dev server's 501", err)
	}
	if apiErr.Endpoint != "POST /v2/rooms/r/upsert" || !strings.Contains(apiErr.Message, "implemented") {
		t.Errorf("error = %+v", apiErr)
	}
}

func TestUpsertRoom_SendsUpdateAndCreate(t *testing.T) {
	// The dev server does not implement upsert (501), so the request is
	// checked on an httptest server answering what Liveblocks documents.
	var uri, body string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		uri, body = r.RequestURI, string(must(io.ReadAll(r.Body)))
		_, _ = io.WriteString(w, `{"type":"room","id":"team/1","organizationId":"default","createdAt":"2026-01-02T03:04:05.678Z","lastConnectionAt":"2026-01-03T00:00:00Z",`+
			`"metadata":{"color":"red"},"defaultAccesses":[],"groupsAccesses":{},"usersAccesses":{"u":["*:write"]}}`)
	}))
	defer srv.Close()
	c := newClient(t, srv.URL, testenv.DevSecretKey)

	room, err := c.UpsertRoom(context.Background(), "team/1",
		liveblocks.UpdateRoomRequest{UsersAccesses: map[string]perms{"u": {liveblocks.Write}}, RemoveGroups: []string{"old"}, Metadata: map[string]any{"color": "red"}},
		&liveblocks.CreateRoomRequest{ID: "team/1", OrganizationID: "acme"})
	if err != nil {
		t.Fatalf("UpsertRoom: %v", err)
	}
	if uri != "/v2/rooms/team%2F1/upsert" {
		t.Errorf("request URI %q", uri)
	}
	want := `{"update":{"groupsAccesses":{"old":null},"usersAccesses":{"u":["*:write"]},"metadata":{"color":"red"}},"create":{"defaultAccesses":[],"organizationId":"acme"}}`
	if body != want {
		t.Errorf("body\n%s\nwant\n%s", body, want)
	}
	if room.ID != "team/1" || room.LastConnectionAt.IsZero() || room.CreatedAt.Nanosecond() != 678_000_000 {
		t.Errorf("room = %+v", room)
	}
}

func TestUpdateRoomRequest_RemovalsAreNulls(t *testing.T) {
	tests := []struct {
		name string
		req  liveblocks.UpdateRoomRequest
		want string
	}{
		{"nothing", liveblocks.UpdateRoomRequest{}, `{}`},
		{"empty defaults are sent", liveblocks.UpdateRoomRequest{DefaultAccesses: perms{}}, `{"defaultAccesses":[]}`},
		{"nil list is no access, not removal", liveblocks.UpdateRoomRequest{GroupsAccesses: map[string]perms{"g": nil}}, `{"groupsAccesses":{"g":[]}}`},
		{"removals", liveblocks.UpdateRoomRequest{RemoveGroups: []string{"g"}, RemoveUsers: []string{"u"}, RemoveMetadata: []string{"m"}},
			`{"groupsAccesses":{"g":null},"usersAccesses":{"u":null},"metadata":{"m":null}}`},
		{"set and remove", liveblocks.UpdateRoomRequest{DefaultAccesses: perms{liveblocks.Read}, UsersAccesses: map[string]perms{"a": {liveblocks.Write}}, RemoveUsers: []string{"b"}},
			`{"defaultAccesses":["*:read"],"usersAccesses":{"a":["*:write"],"b":null}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := toJSON(t, tt.req); got != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
}

func TestListRooms_FiltersAndFollowsCursor(t *testing.T) {
	c := newDevClient(t)
	ctx := context.Background()
	var want []string
	for i := range 5 {
		id := fmt.Sprintf("list-%d", i)
		want = append(want, id)
		if _, err := c.CreateRoom(ctx, liveblocks.CreateRoomRequest{ID: id, OrganizationID: "lister", UsersAccesses: map[string]perms{"alice": {liveblocks.Write}}}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.CreateRoom(ctx, liveblocks.CreateRoomRequest{ID: "acme-room", OrganizationID: "acme"}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateRoom(ctx, liveblocks.CreateRoomRequest{ID: "unrelated"}); err != nil {
		t.Fatal(err)
	}

	// Pages of 2, following the cursor. The dev server ignores the limit
	// and answers one page (TestListRooms_FollowsCursorAcrossPages covers
	// real pagination), and parses a query but does not apply it, so the
	// rooms are told apart by organization.
	req := liveblocks.ListRoomsRequest{Limit: 2, OrganizationID: "lister"}
	var got []string
	for pages := 0; ; pages++ {
		if pages > 10 {
			t.Fatal("more than 10 pages")
		}
		page, err := c.ListRooms(ctx, req)
		if err != nil {
			t.Fatalf("ListRooms: %v", err)
		}
		for _, r := range page.Rooms {
			got = append(got, r.ID)
		}
		if page.NextCursor == "" {
			break
		}
		req.StartingAfter = page.NextCursor
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("rooms %v, want %v", got, want)
	}

	var all []string
	for r, err := range c.AllRooms(ctx, liveblocks.ListRoomsRequest{Limit: 2, OrganizationID: "lister"}) {
		if err != nil {
			t.Fatalf("AllRooms: %v", err)
		}
		all = append(all, r.ID)
	}
	slices.Sort(all)
	if !slices.Equal(all, want) {
		t.Errorf("AllRooms: %v, want %v", all, want)
	}

	page, err := c.ListRooms(ctx, liveblocks.ListRoomsRequest{OrganizationID: "acme"})
	if err != nil {
		t.Fatalf("ListRooms by organization: %v", err)
	}
	if len(page.Rooms) != 1 || page.Rooms[0].ID != "acme-room" || page.Rooms[0].OrganizationID != "acme" {
		t.Errorf("rooms of acme: %+v", page.Rooms)
	}

	_, err = c.ListRooms(ctx, liveblocks.ListRoomsRequest{Query: "not a ((query"})
	var apiErr *liveblocks.Error
	if !errors.As(err, &apiErr) || apiErr.Status != http.StatusUnprocessableEntity || apiErr.Code != "INVALID_QUERY" {
		t.Errorf("bad query: err = %v, want Liveblocks' 422 INVALID_QUERY", err)
	}
}

func TestListRooms_FollowsCursorAcrossPages(t *testing.T) {
	// The dev server ignores limit, startingAfter, userId and groupIds and
	// always answers a single page, so pagination is checked on an
	// httptest server. Its second page gives the older nextPage URL instead
	// of nextCursor.
	var queries []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		queries = append(queries, r.URL.RawQuery)
		room := func(id string) string {
			return `{"type":"room","id":"` + id + `","createdAt":"2026-01-01T00:00:00Z","metadata":{},"defaultAccesses":[],"groupsAccesses":{},"usersAccesses":{}}`
		}
		switch r.URL.Query().Get("startingAfter") {
		case "":
			_, _ = io.WriteString(w, `{"data":[`+room("r1")+`,`+room("r2")+`],"nextCursor":"c1","nextPage":"/v2/rooms?startingAfter=c1"}`)
		case "c1":
			_, _ = io.WriteString(w, `{"data":[`+room("r3")+`,`+room("r4")+`],"nextCursor":null,"nextPage":"/v2/rooms?limit=2&startingAfter=c2"}`)
		case "c2":
			_, _ = io.WriteString(w, `{"data":[`+room("r5")+`],"nextCursor":null,"nextPage":null}`)
		default:
			http.Error(w, "unknown cursor", http.StatusBadRequest)
		}
	}))
	defer srv.Close()
	c := newClient(t, srv.URL, testenv.DevSecretKey)

	var got []string
	for r, err := range c.AllRooms(context.Background(), liveblocks.ListRoomsRequest{
		Limit: 2, UserID: "alice", GroupIDs: []string{"eng", "ops"}, OrganizationID: "acme", Query: `metadata["color"]:"blue"`,
	}) {
		if err != nil {
			t.Fatalf("AllRooms: %v", err)
		}
		got = append(got, r.ID)
	}
	if want := []string{"r1", "r2", "r3", "r4", "r5"}; !slices.Equal(got, want) {
		t.Errorf("rooms %v, want %v", got, want)
	}
	wantQueries := []string{
		"groupIds=eng%2Cops&limit=2&organizationId=acme&query=metadata%5B%22color%22%5D%3A%22blue%22&userId=alice",
		"groupIds=eng%2Cops&limit=2&organizationId=acme&query=metadata%5B%22color%22%5D%3A%22blue%22&startingAfter=c1&userId=alice",
		"groupIds=eng%2Cops&limit=2&organizationId=acme&query=metadata%5B%22color%22%5D%3A%22blue%22&startingAfter=c2&userId=alice",
	}
	if !slices.Equal(queries, wantQueries) {
		t.Errorf("queries\n%s\nwant\n%s", strings.Join(queries, "\n"), strings.Join(wantQueries, "\n"))
	}
}

func TestAllRooms_StopsWhenACursorRepeats(t *testing.T) {
	// A misbehaving server; the dev server never paginates.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, `{"data":[{"type":"room","id":"r"}],"nextCursor":"same"}`)
	}))
	defer srv.Close()
	c := newClient(t, srv.URL, testenv.DevSecretKey)
	n := 0
	var last error
	for _, err := range c.AllRooms(context.Background(), liveblocks.ListRoomsRequest{}) {
		n++
		last = err
		if n > 10 {
			t.Fatal("no end")
		}
	}
	if last == nil || !strings.Contains(last.Error(), "second time") {
		t.Errorf("last error %v, want one about the repeated cursor", last)
	}
}

func TestRoom_JSONRoundTrip(t *testing.T) {
	in := `{"type":"room","id":"r","organizationId":"o","createdAt":"2026-01-02T03:04:05.678Z","lastConnectionAt":"2026-01-03T00:00:00Z",` +
		`"metadata":{"color":"blue","tags":["a","b"]},"defaultAccesses":["room:read"],"groupsAccesses":{"g":["room:write"]},"usersAccesses":{}}`
	var r liveblocks.Room
	if err := json.Unmarshal([]byte(in), &r); err != nil {
		t.Fatal(err)
	}
	if tags, ok := r.Metadata["tags"].([]string); !ok || !slices.Equal(tags, []string{"a", "b"}) {
		t.Errorf("metadata tags %#v, want []string", r.Metadata["tags"])
	}
	if out := toJSON(t, r); out != in {
		t.Errorf("re-encoded as\n%s\nwant\n%s", out, in)
	}
	if err := json.Unmarshal([]byte(`{"type":"user","id":"x"}`), &r); err == nil {
		t.Error("decoded an object of type user as a room")
	}
}
