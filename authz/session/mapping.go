package session

import (
	"encoding/json"
	"sort"
	"strconv"
	"strings"
)

// Mapping picks an identity out of a session's document by dotted paths
// ("sub", "user.id", "groups").
type Mapping struct {
	UserID   string            // required
	GroupIDs string            // optional
	UserInfo map[string]string // userInfo key -> path
	Groups   *GroupRules       // optional: rename, prefix, filter
	// Organization, when not nil, picks the user's Liveblocks organization.
	Organization *OrganizationRule
}

// Identity builds the identity a document describes. It returns an
// *InvalidError when the document has no usable user id.
func (m *Mapping) Identity(doc map[string]any) (*Identity, error) {
	uid, ok := scalarString(lookup(doc, m.UserID))
	if !ok || uid == "" {
		// Not remembered: a stored session gets its user at the login (the
		// app may keep the same session id), and the next request must see it.
		return nil, &InvalidError{Reason: "the session has no user id at " + strconv.Quote(m.UserID), Step: "no user id", uncached: true}
	}
	var groups []string
	if m.GroupIDs != "" {
		switch v := lookup(doc, m.GroupIDs).(type) {
		case []any:
			groups = make([]string, 0, len(v))
			for _, g := range v {
				if s, ok := scalarString(g); ok && s != "" {
					groups = append(groups, s)
				}
			}
		case nil:
		default:
			if s, ok := scalarString(v); ok && s != "" {
				groups = []string{s}
			}
		}
	}
	groups = headerSafeGroups(m.Groups.Apply(groups))
	var info map[string]any
	if len(m.UserInfo) > 0 {
		keys := make([]string, 0, len(m.UserInfo))
		for k := range m.UserInfo {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if v := lookup(doc, m.UserInfo[k]); v != nil {
				if info == nil {
					info = make(map[string]any, len(keys))
				}
				info[k] = v
			}
		}
	}
	id := newIdentity(uid, groups, info)
	id.OrganizationID = m.Organization.Of(doc)
	return id, nil
}

// headerSafeGroups drops the group ids that the identity header, which
// joins the ids with ",", cannot carry as one id: an id holding a ",", a
// control character, or spaces at either end (which an app's parser trims)
// would reach the app as other groups than Liveblocks gets. The ids are
// dropped for Liveblocks too, so that both see the same groups. ids is
// filtered in place: it must be the caller's own slice.
func headerSafeGroups(ids []string) []string {
	out := ids[:0]
	for _, id := range ids {
		if HeaderSafeGroupID(id) {
			out = append(out, id)
		}
	}
	return out
}

// HeaderSafeGroupID reports whether a group id reaches the app as itself
// in the comma-joined groups header: it holds no ",", no control character
// and no space or tab at either end.
func HeaderSafeGroupID(id string) bool {
	if id == "" || id[0] == ' ' || id[0] == '\t' || id[len(id)-1] == ' ' || id[len(id)-1] == '\t' {
		return false
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; c == ',' || c < 0x20 && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}

// lookup follows a dotted path through nested objects.
func lookup(doc map[string]any, path string) any {
	var cur any = doc
	for path != "" {
		seg := path
		if i := strings.IndexByte(path, '.'); i >= 0 {
			seg, path = path[:i], path[i+1:]
		} else {
			path = ""
		}
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = m[seg]
	}
	return cur
}

// scalarString renders strings and numbers; other values are not ids.
func scalarString(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case json.Number:
		return x.String(), true
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), true
	case int64:
		return strconv.FormatInt(x, 10), true
	}
	return "", false
}
