package liveblocks

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
)

// UpdateRoomRequest changes some properties of a room and leaves the others
// as they are. Entries of the access and metadata maps are merged into the
// room's: to remove one, list its key in the matching Remove field, which is
// sent as a JSON null for that key.
type UpdateRoomRequest struct {
	// DefaultAccesses, if not nil, replaces the room's default accesses; a
	// non-nil empty slice means no default access. Nil leaves them alone.
	DefaultAccesses []Permission

	// GroupsAccesses sets the accesses of these groups; other groups keep
	// theirs. A nil list is sent as [].
	GroupsAccesses map[string][]Permission
	// RemoveGroups removes these groups' entries from the room.
	RemoveGroups []string

	// UsersAccesses sets the accesses of these users; other users keep
	// theirs. A nil list is sent as [].
	UsersAccesses map[string][]Permission
	// RemoveUsers removes these users' entries from the room.
	RemoveUsers []string

	// Metadata sets these keys (values are strings or []string).
	Metadata map[string]any
	// RemoveMetadata removes these metadata keys. (The Liveblocks dev server
	// does not support removing metadata and answers 422.)
	RemoveMetadata []string
}

// IsZero reports whether u changes nothing.
func (u UpdateRoomRequest) IsZero() bool {
	return u.DefaultAccesses == nil &&
		len(u.GroupsAccesses) == 0 && len(u.RemoveGroups) == 0 &&
		len(u.UsersAccesses) == 0 && len(u.RemoveUsers) == 0 &&
		len(u.Metadata) == 0 && len(u.RemoveMetadata) == 0
}

// updateRoomJSON is the body of POST /v2/rooms/{id}. A nil value in the
// maps is encoded as null, which removes the key.
type updateRoomJSON struct {
	DefaultAccesses []Permission   `json:"defaultAccesses,omitempty"`
	GroupsAccesses  map[string]any `json:"groupsAccesses,omitempty"`
	UsersAccesses   map[string]any `json:"usersAccesses,omitempty"`
	Metadata        map[string]any `json:"metadata,omitempty"`
}

// MarshalJSON encodes u as the API expects it, with removals as nulls;
// DefaultAccesses, when not nil, is sent even if empty.
func (u UpdateRoomRequest) MarshalJSON() ([]byte, error) {
	w := updateRoomJSON{
		GroupsAccesses: mergeAccessUpdate(u.GroupsAccesses, u.RemoveGroups),
		UsersAccesses:  mergeAccessUpdate(u.UsersAccesses, u.RemoveUsers),
		Metadata:       mergeMetadataUpdate(u.Metadata, u.RemoveMetadata),
	}
	if u.DefaultAccesses == nil {
		return json.Marshal(w)
	}
	// omitempty would drop an empty list, which here means "no access".
	return json.Marshal(struct {
		DefaultAccesses []Permission `json:"defaultAccesses"`
		updateRoomJSON
	}{u.DefaultAccesses, w})
}

func mergeAccessUpdate(set map[string][]Permission, remove []string) map[string]any {
	if len(set) == 0 && len(remove) == 0 {
		return nil
	}
	m := make(map[string]any, len(set)+len(remove))
	for id, perms := range set {
		m[id] = nonNilList(perms)
	}
	for _, id := range remove {
		m[id] = nil
	}
	return m
}

func mergeMetadataUpdate(set map[string]any, remove []string) map[string]any {
	if len(set) == 0 && len(remove) == 0 {
		return nil
	}
	m := make(map[string]any, len(set)+len(remove))
	for k, v := range set {
		m[k] = v
	}
	for _, k := range remove {
		m[k] = nil
	}
	return m
}

func (u *UpdateRoomRequest) validate() error {
	if u.DefaultAccesses != nil {
		if err := validateAccesses("defaultAccesses", u.DefaultAccesses); err != nil {
			return err
		}
	}
	if err := validateAccessMap("groupsAccesses", u.GroupsAccesses); err != nil {
		return err
	}
	if err := validateAccessMap("usersAccesses", u.UsersAccesses); err != nil {
		return err
	}
	if err := validateMetadata(u.Metadata); err != nil {
		return err
	}
	if err := checkNotBoth("groupsAccesses", u.GroupsAccesses, u.RemoveGroups); err != nil {
		return err
	}
	if err := checkNotBoth("usersAccesses", u.UsersAccesses, u.RemoveUsers); err != nil {
		return err
	}
	return checkNotBoth("metadata", u.Metadata, u.RemoveMetadata)
}

// checkNotBoth rejects a key that is both set and removed.
func checkNotBoth[V any](field string, set map[string]V, remove []string) error {
	for _, k := range remove {
		if _, ok := set[k]; ok {
			return &ValidationError{Field: field + "[" + strconv.Quote(k) + "]", Reason: "is both set and removed"}
		}
	}
	return nil
}

// UpdateRoom changes the room id (POST /v2/rooms/{id}) and returns it as it
// now is. If there is no such room, the error matches ErrNotFound. Access
// changes apply to connections made after the update: users already in the
// room keep their access until they reconnect.
func (c *Client) UpdateRoom(ctx context.Context, id string, update UpdateRoomRequest) (*Room, error) {
	if err := ValidateRoomID(id); err != nil {
		return nil, err
	}
	if err := update.validate(); err != nil {
		return nil, err
	}
	room := new(Room)
	if err := c.call(ctx, http.MethodPost, roomPath(id, ""), "", update, room, maxResponseBytes); err != nil {
		return nil, err
	}
	return room, nil
}

// upsertRoomJSON is the body of POST /v2/rooms/{id}/upsert.
type upsertRoomJSON struct {
	Update UpdateRoomRequest `json:"update"`
	Create *createRoomJSON   `json:"create,omitempty"`
}

// UpsertRoom updates the room id, creating it first if it does not exist
// (POST /v2/rooms/{id}/upsert), and returns it. update must change
// something; it applies to the room whether it existed or not. create, if
// not nil, gives the properties used only when the room is created; its ID
// must be empty or id.
//
// If create is nil and update sets no DefaultAccesses, a room created by
// the call gets Liveblocks' default of ["room:write"]: every user could
// write. Pass a create with the intended DefaultAccesses (it is always
// sent, even if empty) unless that is what you want.
//
// The Liveblocks dev server does not implement this endpoint and answers
// 501.
func (c *Client) UpsertRoom(ctx context.Context, id string, update UpdateRoomRequest, create *CreateRoomRequest) (*Room, error) {
	if err := ValidateRoomID(id); err != nil {
		return nil, err
	}
	if update.IsZero() {
		return nil, &ValidationError{Field: "update", Reason: "changes nothing; Liveblocks needs at least one field to update"}
	}
	if err := update.validate(); err != nil {
		return nil, err
	}
	body := upsertRoomJSON{Update: update}
	if create != nil {
		if create.ID != "" && create.ID != id {
			return nil, &ValidationError{Field: "create.id", Value: create.ID, Reason: "differs from the room id " + strconv.Quote(id)}
		}
		if err := create.validate(); err != nil {
			return nil, err
		}
		w := create.wire(false)
		body.Create = &w
	}
	room := new(Room)
	if err := c.call(ctx, http.MethodPost, roomPath(id, "/upsert"), "", body, room, maxResponseBytes); err != nil {
		return nil, err
	}
	return room, nil
}
