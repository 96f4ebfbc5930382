package directory

import (
	"context"
	"errors"

	"github.com/lbauthz/lbauthz/liveblocks"
)

// Who is the signed-in user a request is answered for.
type Who struct {
	UserID   string
	GroupIDs []string
	// OrganizationID is the user's Liveblocks organization ("" is the
	// project's default one): a room of another organization is one the
	// user cannot enter.
	OrganizationID string
}

// room returns the room id as Liveblocks has it, from the cache or from
// GET /v2/rooms/{id}; nil when there is no such room.
func (d *Directory) room(ctx context.Context, id string) (*liveblocks.Room, error) {
	if r, ok := d.access.GetIfPresent(id); ok {
		return r, nil
	}
	ctx, cancel := context.WithTimeout(ctx, d.opts.Timeout)
	defer cancel()
	r, err := d.opts.Liveblocks.GetRoom(ctx, id)
	if errors.Is(err, liveblocks.ErrNotFound) {
		r, err = nil, nil
	}
	if err != nil {
		return nil, err
	}
	d.access.Set(id, r)
	return r, nil
}

// canEnter reports whether a user with these groups gets any permission in
// room, as Liveblocks works out an ID token's permissions: the user's own
// entry if there is one, else the entries of the user's groups if any,
// else the default accesses.
func canEnter(room *liveblocks.Room, userID string, groups []string) bool {
	if room == nil {
		return false
	}
	if perms, ok := room.UsersAccesses[userID]; ok {
		return len(perms) > 0
	}
	inGroup := false
	for _, g := range groups {
		if perms, ok := room.GroupsAccesses[g]; ok {
			inGroup = true
			if len(perms) > 0 {
				return true
			}
		}
	}
	if inGroup {
		return false
	}
	return len(room.DefaultAccesses) > 0
}

// sameOrganization reports whether room is in the organization of who.
func sameOrganization(room *liveblocks.Room, who Who) bool {
	return room.Organization() == liveblocks.OrganizationName(who.OrganizationID)
}

// enterable returns the room if who can enter it, else a *ForbiddenError.
func (d *Directory) enterable(ctx context.Context, who Who, roomID string) (*liveblocks.Room, error) {
	if err := liveblocks.ValidateRoomID(roomID); err != nil {
		return nil, &InputError{Reason: "invalid room id"}
	}
	room, err := d.room(ctx, roomID)
	if err != nil {
		return nil, err
	}
	if room == nil || !sameOrganization(room, who) || !canEnter(room, who.UserID, who.GroupIDs) {
		// One answer for all three, so that the reply tells nothing of a
		// room the user cannot enter.
		return nil, &ForbiddenError{Reason: "no access to this room"}
	}
	return room, nil
}
