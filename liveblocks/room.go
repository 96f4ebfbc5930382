package liveblocks

import (
	"encoding/json"
	"fmt"
	"time"
)

// Room is a Liveblocks room as the API describes it.
//
// A user holding an ID token gets, in a room, the room's DefaultAccesses,
// overridden by the entries of GroupsAccesses for the token's groups
// (several groups merge to the highest access), overridden by the entry of
// UsersAccesses for the user. A room that does not exist gives an ID token no
// access at all.
type Room struct {
	ID             string
	OrganizationID string
	// DefaultAccesses apply to every user; empty means no access.
	DefaultAccesses []Permission
	// GroupsAccesses and UsersAccesses map group and user ids to their
	// accesses. Never nil in a room returned by the API.
	GroupsAccesses map[string][]Permission
	UsersAccesses  map[string][]Permission
	// Metadata values are strings or []string.
	Metadata map[string]any
	// CreatedAt is when the room was created. LastConnectionAt is when a
	// user last connected to it, the zero time if Liveblocks did not say.
	CreatedAt        time.Time
	LastConnectionAt time.Time
}

// roomJSON is the API's room object.
type roomJSON struct {
	Type             string                  `json:"type"`
	ID               string                  `json:"id"`
	OrganizationID   string                  `json:"organizationId,omitempty"`
	CreatedAt        time.Time               `json:"createdAt,omitzero"`
	LastConnectionAt time.Time               `json:"lastConnectionAt,omitzero"`
	Metadata         map[string]any          `json:"metadata"`
	DefaultAccesses  []Permission            `json:"defaultAccesses"`
	GroupsAccesses   map[string][]Permission `json:"groupsAccesses"`
	UsersAccesses    map[string][]Permission `json:"usersAccesses"`
}

// UnmarshalJSON decodes the API's room object. An object whose "type" is
// present and not "room" is an error. Metadata arrays decode as []string.
// Permissions are taken as sent, without validation, so that scopes added
// to Liveblocks later still decode.
func (r *Room) UnmarshalJSON(data []byte) error {
	var w roomJSON
	if err := json.Unmarshal(data, &w); err != nil {
		return err
	}
	if w.Type != "" && w.Type != "room" {
		return fmt.Errorf("liveblocks: expected a room, got an object of type %q", w.Type)
	}
	*r = Room{
		ID:               w.ID,
		OrganizationID:   w.OrganizationID,
		DefaultAccesses:  nonNilList(w.DefaultAccesses),
		GroupsAccesses:   nonNilMap(w.GroupsAccesses),
		UsersAccesses:    nonNilMap(w.UsersAccesses),
		Metadata:         decodeMetadata(w.Metadata),
		CreatedAt:        w.CreatedAt,
		LastConnectionAt: w.LastConnectionAt,
	}
	return nil
}

// MarshalJSON encodes r in the API's shape, with "type":"room", so that a
// Room survives a round trip through JSON (in a cache, say).
func (r Room) MarshalJSON() ([]byte, error) {
	return json.Marshal(roomJSON{
		Type:             "room",
		ID:               r.ID,
		OrganizationID:   r.OrganizationID,
		CreatedAt:        r.CreatedAt,
		LastConnectionAt: r.LastConnectionAt,
		Metadata:         nonNilMetadata(r.Metadata),
		DefaultAccesses:  nonNilList(r.DefaultAccesses),
		GroupsAccesses:   nonNilAccesses(r.GroupsAccesses),
		UsersAccesses:    nonNilAccesses(r.UsersAccesses),
	})
}

// decodeMetadata turns the []any that encoding/json makes of arrays into
// []string, the only kind of array room metadata holds.
func decodeMetadata(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	for k, v := range m {
		list, ok := v.([]any)
		if !ok {
			continue
		}
		strs := make([]string, 0, len(list))
		for _, item := range list {
			s, ok := item.(string)
			if !ok {
				strs = nil
				break
			}
			strs = append(strs, s)
		}
		if strs != nil {
			m[k] = strs
		}
	}
	return m
}

func nonNilList(p []Permission) []Permission {
	if p == nil {
		return []Permission{}
	}
	return p
}

func nonNilMap(m map[string][]Permission) map[string][]Permission {
	if m == nil {
		return map[string][]Permission{}
	}
	return m
}

func nonNilMetadata(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	return m
}

// nonNilAccesses returns m with nil permission lists replaced by empty ones,
// so that they encode as [] rather than null (which, in an update, would
// remove the entry). m itself is copied only when it has to change.
func nonNilAccesses(m map[string][]Permission) map[string][]Permission {
	if m == nil {
		return map[string][]Permission{}
	}
	for _, v := range m {
		if v == nil {
			out := make(map[string][]Permission, len(m))
			for k, v := range m {
				out[k] = nonNilList(v)
			}
			return out
		}
	}
	return m
}
