package accesssync

import (
	"slices"
	"strings"

	"github.com/lbauthz/lbauthz/liveblocks"
)

// For returns the permissions a has for a user, as Liveblocks works them out
// for an ID token: the user's own entry; else the entries of the user's
// groups, merged to the highest access; else the default accesses. applies
// says which: "user", "groups" or "default". An empty result is no access.
func (a Accesses) For(userID string, groupIDs []string) (perms []liveblocks.Permission, applies string) {
	if p, ok := a.Users[userID]; ok {
		return p, "user"
	}
	var sets [][]liveblocks.Permission
	for _, g := range groupIDs {
		if p, ok := a.Groups[g]; ok {
			sets = append(sets, p)
		}
	}
	if len(sets) > 0 {
		return mergeHighest(sets), "groups"
	}
	return a.Default, "default"
}

// levels of access, for merging: a feature scope without a level of its
// own in a set has the set's base level.
const (
	levelNone = iota
	levelRead
	levelWrite
)

var featureOrder = []string{"storage", "comments", "comments:public", "comments:private", "feeds"}

// mergeHighest merges permission sets to the highest access of each: the
// highest base scope, and for each feature the highest level any set gives
// it (its own scope, or its base). An empty set gives nothing.
func mergeHighest(sets [][]liveblocks.Permission) []liveblocks.Permission {
	base := -1
	features := map[string]int{}
	presence := false
	for _, set := range sets {
		if len(set) == 0 {
			continue
		}
		b := levelNone
		own := map[string]int{}
		for _, p := range set {
			switch {
			case p == liveblocks.RoomPresenceWrite:
				presence = true
			case p.IsBase():
				b = levelOf(string(p))
			default:
				s := string(p)
				i := strings.LastIndexByte(s, ':')
				own[s[:i]] = levelOf(s)
			}
		}
		base = max(base, b)
		for _, f := range featureOrder {
			l, ok := own[f]
			if !ok {
				l = b
			}
			features[f] = max(features[f], l)
		}
	}
	if base < 0 {
		return []liveblocks.Permission{}
	}
	out := []liveblocks.Permission{liveblocks.Read}
	if base == levelWrite {
		out[0] = liveblocks.Write
	}
	for _, f := range featureOrder {
		if l := features[f]; l != base {
			out = append(out, liveblocks.Permission(f+":"+[]string{"none", "read", "write"}[l]))
		}
	}
	if presence && base != levelWrite && !slices.Contains(out, liveblocks.RoomPresenceWrite) {
		out = append(out, liveblocks.RoomPresenceWrite)
	}
	return out
}

func levelOf(scope string) int {
	switch {
	case strings.HasSuffix(scope, ":write"):
		return levelWrite
	case strings.HasSuffix(scope, ":read"):
		return levelRead
	}
	return levelNone
}
