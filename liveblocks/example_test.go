package liveblocks_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"
	"os"
	"time"

	"github.com/lbauthz/lbauthz/liveblocks"
)

// session is what an application knows about a signed-in user.
type session struct {
	UserID string
	Teams  []string
	Name   string
}

// sessionFromRequest stands for the application's own authentication.
func sessionFromRequest(r *http.Request) (*session, bool) {
	return &session{UserID: "user-42", Teams: []string{"team-7"}, Name: "Ada"}, true
}

// The auth endpoint the browser's Liveblocks client calls
// (createClient({ authEndpoint: "/api/liveblocks-auth" })).
func ExampleClient_IdentifyUser() {
	lb, err := liveblocks.New(liveblocks.Options{SecretKey: os.Getenv("LIVEBLOCKS_SECRET_KEY")})
	if err != nil {
		log.Fatal(err)
	}

	http.HandleFunc("POST /api/liveblocks-auth", func(w http.ResponseWriter, r *http.Request) {
		s, ok := sessionFromRequest(r)
		if !ok {
			http.Error(w, "not signed in", http.StatusUnauthorized)
			return
		}
		// The browser's client gives up on an attempt after 10 s.
		ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
		defer cancel()
		resp := lb.IdentifyUser(ctx, liveblocks.IdentifyUserRequest{
			UserID:   s.UserID,
			GroupIDs: s.Teams,
			UserInfo: map[string]any{"name": s.Name},
		})
		w.Header().Set("Content-Type", resp.ContentType)
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(resp.Status)
		_, _ = w.Write(resp.Body)
	})
}

// Creating a room before users enter it: an ID token gives no access to a
// room that does not exist. This is the example of the Liveblocks
// documentation.
func ExampleClient_CreateRoom() {
	lb, err := liveblocks.New(liveblocks.Options{SecretKey: os.Getenv("LIVEBLOCKS_SECRET_KEY")})
	if err != nil {
		log.Fatal(err)
	}
	room, err := lb.CreateRoom(context.Background(), liveblocks.CreateRoomRequest{
		ID:              "my-room-id",
		DefaultAccesses: []liveblocks.Permission{liveblocks.RoomRead, liveblocks.RoomPresenceWrite},
		GroupsAccesses:  map[string][]liveblocks.Permission{"my-group-id": {liveblocks.RoomWrite}},
		UsersAccesses:   map[string][]liveblocks.Permission{"my-user-id": {liveblocks.RoomWrite}},
	})
	switch {
	case errors.Is(err, liveblocks.ErrConflict):
		fmt.Println("the room already exists")
	case err != nil:
		log.Fatal(err)
	default:
		fmt.Println("created", room.ID, "at", room.CreatedAt)
	}
}

// Giving one user write access to an existing room and taking it from a
// group.
func ExampleClient_UpdateRoom() {
	lb, err := liveblocks.New(liveblocks.Options{SecretKey: os.Getenv("LIVEBLOCKS_SECRET_KEY")})
	if err != nil {
		log.Fatal(err)
	}
	_, err = lb.UpdateRoom(context.Background(), "my-room-id", liveblocks.UpdateRoomRequest{
		UsersAccesses: map[string][]liveblocks.Permission{"my-user-id": {liveblocks.Write}},
		RemoveGroups:  []string{"my-group-id"},
	})
	if err != nil {
		log.Fatal(err)
	}
}

// An access token for every room whose id starts with "team-7:", read-only
// except for comments.
func ExampleClient_AuthorizeUser() {
	lb, err := liveblocks.New(liveblocks.Options{SecretKey: os.Getenv("LIVEBLOCKS_SECRET_KEY")})
	if err != nil {
		log.Fatal(err)
	}
	resp, err := lb.AuthorizeUserErr(context.Background(), liveblocks.AuthorizeUserRequest{
		UserID: "user-42",
		Permissions: map[string][]liveblocks.Permission{
			"team-7:*": {liveblocks.Read, liveblocks.CommentsWrite},
		},
	})
	if err != nil {
		log.Printf("authorize-user failed: %v", err) // resp is still a 503 to send
	}
	fmt.Println(resp.Status)
}

func ExampleClient_AllRooms() {
	lb, err := liveblocks.New(liveblocks.Options{SecretKey: os.Getenv("LIVEBLOCKS_SECRET_KEY")})
	if err != nil {
		log.Fatal(err)
	}
	for room, err := range lb.AllRooms(context.Background(), liveblocks.ListRoomsRequest{UserID: "user-42", Limit: 100}) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(room.ID, room.UsersAccesses["user-42"])
	}
}

func ExampleParsePermissions() {
	perms, err := liveblocks.ParsePermissions("room:read, room:presence:write")
	if err == nil {
		err = liveblocks.ValidateAccesses(perms)
	}
	fmt.Println(perms, err)
	// Output: [room:read room:presence:write] <nil>
}
