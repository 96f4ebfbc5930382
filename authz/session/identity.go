package session

import (
	"encoding/json"
	"errors"
	"strings"
	"sync/atomic"
	"time"

	"github.com/lbauthz/lbauthz/liveblocks"
)

// Identity is a Liveblocks user as the sidecar sends it to Liveblocks and to
// the app. An Identity is shared by every request of its session and must not
// be changed once built.
type Identity struct {
	UserID   string
	GroupIDs []string
	UserInfo map[string]any
	// OrganizationID is the user's Liveblocks organization, sent as
	// organizationId on token calls; "" is the project's default one.
	OrganizationID string

	// GroupsHeader is GroupIDs joined by ",", ready for a header.
	GroupsHeader string
	// UserInfoJSON is UserInfo as compact JSON ("" when there is none).
	UserInfoJSON string
	// Problem is why Liveblocks would refuse this identity ("" when it
	// would not): checked once, when the identity is built.
	Problem string

	expires time.Time // when the session ends (zero: not said)

	// A door's answer for this identity, built once: the identity is shared
	// by every request of the session while it is cached.
	prepared atomic.Pointer[prepared]
}

type prepared struct {
	owner any
	value any
}

// Expires returns when the session ends; zero when its store does not say.
func (id *Identity) Expires() time.Time { return id.expires }

// Prepared returns what SetPrepared stored for owner, or nil.
func (id *Identity) Prepared(owner any) any {
	if p := id.prepared.Load(); p != nil && p.owner == owner {
		return p.value
	}
	return nil
}

// SetPrepared stores a door's prepared answer for this identity. owner (the
// door's engine) keeps answers of an old config from being used by a new one.
func (id *Identity) SetPrepared(owner, value any) {
	id.prepared.Store(&prepared{owner: owner, value: value})
}

func newIdentity(userID string, groups []string, info map[string]any) *Identity {
	id := &Identity{UserID: userID, GroupIDs: groups, UserInfo: info}
	id.GroupsHeader = strings.Join(groups, ",")
	if len(info) > 0 {
		b, err := json.Marshal(info)
		if err != nil {
			id.Problem = "userInfo cannot be written as JSON"
		} else {
			id.UserInfoJSON = string(b)
		}
	}
	if id.Problem == "" {
		// Checked once per session, so a session Liveblocks would refuse gets
		// a clear 403 instead of a 422 from upstream.
		if err := liveblocks.ValidateIdentity(userID, info); err != nil {
			var ve *liveblocks.ValidationError
			if errors.As(err, &ve) {
				id.Problem = ve.Field + " " + ve.Reason // never the value itself
			} else {
				id.Problem = "identity refused by Liveblocks' limits"
			}
		}
	}
	return id
}
