package rooms

import (
	"slices"
	"strconv"
	"strings"

	"github.com/lbauthz/lbauthz/liveblocks"
)

// Policy is a compiled access-token policy: it gives an identity the room
// patterns of its access token.
type Policy struct {
	grants []grant
}

type grant struct {
	pattern  template
	perms    []liveblocks.Permission
	room     *Pattern // nil: any request
	group    template // the group a user must be in, when hasGroup
	hasGroup bool
}

// Who is what a policy decides on: the user, their groups and
// organization, and the room the request is for ("" when it is not for a
// room).
type Who struct {
	UserID         string
	GroupIDs       []string
	OrganizationID string
	RoomID         string
	// RoomAccess, when not nil, is what the room's access source gives the
	// user in RoomID (empty: nothing). A non-empty one puts RoomID itself
	// in the token with these permissions, ahead of the grants.
	RoomAccess []liveblocks.Permission
}

// RefusedError says why a policy gives an identity no token. The Reason is
// short and holds no secret.
type RefusedError struct {
	Reason string
}

func (e *RefusedError) Error() string { return "access-token policy: " + e.Reason }

// Permissions returns the room patterns of w's access token, each with its
// permissions. It is a *RefusedError when the grants give no pattern, or
// more than liveblocks.MaxPatterns. Every pattern returned passes
// liveblocks.ValidatePattern: an entry whose values would make it invalid
// (a "*" in a value, a pattern over 128 characters) is left out.
func (p *Policy) Permissions(w Who) (map[string][]liveblocks.Permission, error) {
	out := make(map[string][]liveblocks.Permission, 4)
	// A room id holding "*" would be a wider pattern than the room.
	if len(w.RoomAccess) > 0 && !strings.Contains(w.RoomID, "*") && liveblocks.ValidatePattern(w.RoomID) == nil {
		out[w.RoomID] = w.RoomAccess
	}
	for i := range p.grants {
		if !p.grants[i].apply(w, out) {
			return nil, &RefusedError{Reason: "the policy gives more than " + strconv.Itoa(liveblocks.MaxPatterns) +
				" room patterns; Liveblocks allows at most " + strconv.Itoa(liveblocks.MaxPatterns) + " per token"}
		}
	}
	if len(out) == 0 {
		switch {
		case w.RoomID == "":
			return nil, &RefusedError{Reason: "the policy grants this user no room for a token without a room (the inbox)"}
		case w.RoomAccess != nil:
			return nil, &RefusedError{Reason: "no access to room " + strconv.Quote(w.RoomID) + ": its access source gives this user none, and no grant applies"}
		}
		return nil, &RefusedError{Reason: "the policy grants this user no room (requested room " + strconv.Quote(w.RoomID) + ")"}
	}
	return out, nil
}

// apply adds g's entries for w to out; it reports false once out holds
// more patterns than a token may.
func (g *grant) apply(w Who, out map[string][]liveblocks.Permission) bool {
	var caps Captures
	if g.room != nil {
		if w.RoomID == "" {
			return true
		}
		var ok bool
		if caps, ok = g.room.Match(w.RoomID); !ok {
			return true
		}
	}
	values := func(group string) func(string) (string, bool) {
		return func(name string) (string, bool) {
			switch name {
			case phUserID:
				return w.UserID, true
			case phGroup:
				return group, group != ""
			case phRoom:
				return w.RoomID, w.RoomID != ""
			case phOrg:
				return w.OrganizationID, w.OrganizationID != ""
			}
			return caps.Get(name)
		}
	}
	add := func(group string) bool {
		pat, ok := g.pattern.expand(values(group), true)
		if !ok || liveblocks.ValidatePattern(pat) != nil {
			return true
		}
		if _, dup := out[pat]; dup {
			return true // an earlier grant wins
		}
		out[pat] = g.perms
		return len(out) <= liveblocks.MaxPatterns
	}
	if g.hasGroup {
		group, ok := g.group.expand(caps.Get, false)
		if !ok || !slices.Contains(w.GroupIDs, group) {
			return true
		}
		return add(group)
	}
	if !g.pattern.uses(phGroup) {
		return add("")
	}
	for _, group := range w.GroupIDs {
		if !add(group) {
			return false
		}
	}
	return true
}

// GrantsWithoutRoom reports whether some grant can apply to a token that is
// not for a room (the inbox, the client's {} body): one without a `room`
// condition whose pattern does not use {room}. Without one, every such
// token is refused.
func (p *Policy) GrantsWithoutRoom() bool {
	for i := range p.grants {
		if p.grants[i].room == nil && !p.grants[i].pattern.uses(phRoom) {
			return true
		}
	}
	return false
}
