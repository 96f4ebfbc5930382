package accesssync

import (
	"context"
	"maps"
	"slices"

	"github.com/lbauthz/lbauthz/liveblocks"
)

// Accesses are a room's accesses as the app says they should be. A nil
// Default is no default access; Groups and Users hold every entry the room
// should have, and an entry the room has but they do not is removed.
type Accesses struct {
	Default []liveblocks.Permission
	Groups  map[string][]liveblocks.Permission
	Users   map[string][]liveblocks.Permission
}

// Source says what a room's accesses should be.
type Source interface {
	// Accesses returns the accesses of roomID; known is false when the app
	// does not know the room, which is then left as it is.
	Accesses(ctx context.Context, roomID string) (a Accesses, known bool, err error)
	// Describe names the source for people ("postgres db:5432/app",
	// "http app:3000/api/room-accesses"): never a password or a query
	// string.
	Describe() string
}

// Diff returns the update that turns room's accesses into want, touching
// only what differs; its IsZero reports that the room is already in step.
// Permission lists are compared as sets.
func Diff(room *liveblocks.Room, want Accesses) liveblocks.UpdateRoomRequest {
	var u liveblocks.UpdateRoomRequest
	if !samePerms(room.DefaultAccesses, want.Default) {
		u.DefaultAccesses = append([]liveblocks.Permission{}, want.Default...)
	}
	u.GroupsAccesses, u.RemoveGroups = diffEntries(room.GroupsAccesses, want.Groups)
	u.UsersAccesses, u.RemoveUsers = diffEntries(room.UsersAccesses, want.Users)
	return u
}

func diffEntries(have, want map[string][]liveblocks.Permission) (set map[string][]liveblocks.Permission, remove []string) {
	for _, id := range slices.Sorted(maps.Keys(want)) {
		if cur, ok := have[id]; !ok || !samePerms(cur, want[id]) {
			if set == nil {
				set = map[string][]liveblocks.Permission{}
			}
			set[id] = want[id]
		}
	}
	for _, id := range slices.Sorted(maps.Keys(have)) {
		if _, ok := want[id]; !ok {
			remove = append(remove, id)
		}
	}
	return set, remove
}

func samePerms(a, b []liveblocks.Permission) bool {
	if len(a) != len(b) {
		return false
	}
	x, y := slices.Clone(a), slices.Clone(b)
	slices.Sort(x)
	slices.Sort(y)
	return slices.Equal(x, y)
}
