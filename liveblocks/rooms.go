package liveblocks

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
)

// CreateRoomRequest describes a room to create.
type CreateRoomRequest struct {
	// ID is the room id: 1 to 128 characters (see [ValidateRoomID]).
	ID string
	// DefaultAccesses apply to every user; nil or empty means no access. It
	// is always sent, because Liveblocks gives a room created without it
	// ["room:write"]: every user could write.
	DefaultAccesses []Permission
	// GroupsAccesses and UsersAccesses map group and user ids to their
	// accesses. Each list must pass [ValidateAccesses]; a nil list is sent
	// as [].
	GroupsAccesses map[string][]Permission
	UsersAccesses  map[string][]Permission
	// Metadata values must be strings or []string.
	Metadata map[string]any
	// OrganizationID, if not empty, puts the room in an organization.
	OrganizationID string
}

// createRoomJSON is the body of POST /v2/rooms and the "create" part of an
// upsert (which has no id: it is in the path).
type createRoomJSON struct {
	ID              string                  `json:"id,omitempty"`
	DefaultAccesses []Permission            `json:"defaultAccesses"`
	GroupsAccesses  map[string][]Permission `json:"groupsAccesses,omitempty"`
	UsersAccesses   map[string][]Permission `json:"usersAccesses,omitempty"`
	Metadata        map[string]any          `json:"metadata,omitempty"`
	OrganizationID  string                  `json:"organizationId,omitempty"`
}

func (req *CreateRoomRequest) validate() error {
	if err := validateAccesses("defaultAccesses", req.DefaultAccesses); err != nil {
		return err
	}
	if err := validateAccessMap("groupsAccesses", req.GroupsAccesses); err != nil {
		return err
	}
	if err := validateAccessMap("usersAccesses", req.UsersAccesses); err != nil {
		return err
	}
	return validateMetadata(req.Metadata)
}

func (req *CreateRoomRequest) wire(withID bool) createRoomJSON {
	w := createRoomJSON{
		DefaultAccesses: nonNilList(req.DefaultAccesses),
		Metadata:        req.Metadata,
		OrganizationID:  req.OrganizationID,
	}
	if withID {
		w.ID = req.ID
	}
	if len(req.GroupsAccesses) > 0 {
		w.GroupsAccesses = nonNilAccesses(req.GroupsAccesses)
	}
	if len(req.UsersAccesses) > 0 {
		w.UsersAccesses = nonNilAccesses(req.UsersAccesses)
	}
	return w
}

func validateAccessMap(field string, m map[string][]Permission) error {
	for id, perms := range m {
		name := field + "[" + strconv.Quote(id) + "]"
		if id == "" {
			return &ValidationError{Field: field, Reason: "has an entry with an empty id"}
		}
		if err := validateAccesses(name, perms); err != nil {
			return err
		}
	}
	return nil
}

func validateMetadata(m map[string]any) error {
	for k, v := range m {
		switch v.(type) {
		case string, []string:
		default:
			return &ValidationError{Field: "metadata[" + strconv.Quote(k) + "]", Reason: fmt.Sprintf("must be a string or a []string, not %s", jsonKind(v))}
		}
	}
	return nil
}

// ValidateRoomID reports whether id is a valid room id: 1 to 128
// characters, counted as JavaScript does (UTF-16 code units), and not "."
// or "..". Any other character is allowed; ids are escaped in URLs. The
// error is a *ValidationError.
//
// Liveblocks creates rooms named "." and "..", but no URL can name them
// afterwards: /v2/rooms/.. is resolved to /v2/ before it is routed, escaped
// or not. So they are refused here, before such a room can exist.
func ValidateRoomID(id string) error {
	if id == "" {
		return &ValidationError{Field: "roomId", Reason: "is empty"}
	}
	if id == "." || id == ".." {
		return &ValidationError{Field: "roomId", Value: id, Reason: "cannot be named in a URL path, so the room could never be read, updated or deleted"}
	}
	if n := jsLength(id); n > MaxRoomIDLength {
		return &ValidationError{Field: "roomId", Value: id, Reason: "is " + strconv.Itoa(n) + " characters long; Liveblocks allows at most 128"}
	}
	return nil
}

// roomPath returns /v2/rooms/{id} with id escaped, plus suffix.
func roomPath(id, suffix string) string {
	return "/v2/rooms/" + url.PathEscape(id) + suffix
}

// CreateRoom creates a room (POST /v2/rooms) and returns it as Liveblocks
// stored it. If the room exists, the error is an *Error with Status 409,
// matched by errors.Is(err, ErrConflict). An invalid request is not sent
// and gives a *ValidationError.
func (c *Client) CreateRoom(ctx context.Context, req CreateRoomRequest) (*Room, error) {
	return c.createRoom(ctx, req, "")
}

// GetOrCreateRoom returns the room req.ID, creating it from req if it does
// not exist (POST /v2/rooms?idempotent). An existing room is returned as it
// is: req does not change it.
func (c *Client) GetOrCreateRoom(ctx context.Context, req CreateRoomRequest) (*Room, error) {
	return c.createRoom(ctx, req, "idempotent")
}

func (c *Client) createRoom(ctx context.Context, req CreateRoomRequest, rawQuery string) (*Room, error) {
	if err := ValidateRoomID(req.ID); err != nil {
		return nil, err
	}
	if err := req.validate(); err != nil {
		return nil, err
	}
	room := new(Room)
	if err := c.call(ctx, http.MethodPost, "/v2/rooms", rawQuery, req.wire(true), room, maxResponseBytes); err != nil {
		return nil, err
	}
	return room, nil
}

// GetRoom returns the room id (GET /v2/rooms/{id}). If there is no such
// room, the error is an *Error with Status 404, matched by
// errors.Is(err, ErrNotFound).
func (c *Client) GetRoom(ctx context.Context, id string) (*Room, error) {
	if err := ValidateRoomID(id); err != nil {
		return nil, err
	}
	room := new(Room)
	if err := c.call(ctx, http.MethodGet, roomPath(id, ""), "", nil, room, maxResponseBytes); err != nil {
		return nil, err
	}
	return room, nil
}

// DeleteRoom deletes the room id (DELETE /v2/rooms/{id}). A deleted room
// cannot be restored.
func (c *Client) DeleteRoom(ctx context.Context, id string) error {
	if err := ValidateRoomID(id); err != nil {
		return err
	}
	return c.call(ctx, http.MethodDelete, roomPath(id, ""), "", nil, nil, maxResponseBytes)
}
