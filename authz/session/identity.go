package session

import (
	"encoding/json"
	"errors"
	"strings"
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

}

// Expires returns when the session ends; zero when its store does not say.
func (id *Identity) Expires() time.Time { return id.expires }

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
