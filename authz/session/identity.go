package session

import (
	"encoding/json"
	"errors"
	"math"
	"strings"
	"time"
	"unsafe"

	"github.com/lbauthz/lbauthz/liveblocks"
)

// Identity is a Liveblocks user as the sidecar sends it to Liveblocks and to
// the app. An Identity is shared by every request of its session and must not
// be changed once built.
//
// One is kept per cached session, so it holds the identity as the headers
// carry it and little else: the user id, the groups and the userInfo JSON are
// parts of one string, and the userInfo map is decoded again only when a
// token is asked for (UserInfo).
type Identity struct {
	UserID   string
	GroupIDs []string
	// OrganizationID is the user's Liveblocks organization, sent as
	// organizationId on token calls; "" is the project's default one.
	OrganizationID string

	// GroupsHeader is GroupIDs joined by ",", ready for a header.
	GroupsHeader string
	// UserInfoJSON is the userInfo as compact JSON, keys sorted ("" when
	// there is none).
	UserInfoJSON string
	// Problem is why Liveblocks would refuse this identity ("" when it
	// would not): checked once, when the identity is built.
	Problem string

	expires int64 // when the session ends, in Unix nanoseconds (0: not said)
}

// Expires returns when the session ends; zero when its store does not say.
func (id *Identity) Expires() time.Time {
	if id.expires == 0 {
		return time.Time{}
	}
	return time.Unix(0, id.expires)
}

func (id *Identity) setExpires(t time.Time) {
	switch {
	case t.IsZero():
	case t.After(maxExpires):
		id.expires = maxExpires.UnixNano()
	default:
		id.expires = t.UnixNano()
	}
}

// maxExpires is the latest end of a session that Unix nanoseconds hold.
var maxExpires = time.Unix(0, math.MaxInt64)

// UserInfo returns the userInfo, decoded from UserInfoJSON (numbers as
// json.Number, so that they are sent as they were read); nil when there is
// none. Each call returns a new map.
func (id *Identity) UserInfo() map[string]any {
	if id.UserInfoJSON == "" {
		return nil
	}
	var info map[string]any
	dec := json.NewDecoder(strings.NewReader(id.UserInfoJSON))
	dec.UseNumber()
	if dec.Decode(&info) != nil {
		return nil // not reached: UserInfoJSON is written by newIdentity
	}
	return info
}

// size is about how many bytes of heap the identity holds.
func (id *Identity) size() int {
	return int(unsafe.Sizeof(*id)) + len(id.UserID) + len(id.GroupsHeader) + len(id.UserInfoJSON) +
		len(id.GroupIDs)*int(unsafe.Sizeof("")) + len(id.OrganizationID) + len(id.Problem)
}

func newIdentity(userID string, groups []string, info map[string]any) *Identity {
	id := &Identity{}
	var infoJSON []byte
	if len(info) > 0 {
		b, err := json.Marshal(info)
		if err != nil {
			id.Problem = "userInfo cannot be written as JSON"
		} else {
			infoJSON = b
		}
	}
	// One string holds the user id, the groups header and the userInfo JSON;
	// the fields (and the group ids, when none holds a comma) are its parts.
	groupsHeader := strings.Join(groups, ",")
	all := userID + groupsHeader + string(infoJSON)
	id.UserID = all[:len(userID)]
	id.GroupsHeader = all[len(userID) : len(userID)+len(groupsHeader)]
	id.UserInfoJSON = all[len(userID)+len(groupsHeader):]
	if len(groups) > 0 {
		id.GroupIDs = make([]string, len(groups))
		if strings.Count(id.GroupsHeader, ",") == len(groups)-1 {
			rest := id.GroupsHeader
			for i := range groups {
				id.GroupIDs[i], rest, _ = strings.Cut(rest, ",")
			}
		} else {
			copy(id.GroupIDs, groups)
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
