package directory

import (
	"context"
	"maps"
	"slices"
	"strings"
)

// Mention is one suggestion for the "@" picker: Kind is "user" or "group".
type Mention struct {
	Kind string `json:"kind"`
	ID   string `json:"id"`
}

// overfetch is how many more users than wanted are asked of the source:
// some of them may not have access to the room.
const overfetch = 5

// MentionSuggestions returns the users, then the groups, whose id or name
// starts with text (case-insensitively) and who can enter the room roomID,
// at most Options.MaxSuggestions in all. who must be able to enter the room
// (a *ForbiddenError otherwise); text longer than MaxPrefixLength is an
// *InputError.
func (d *Directory) MentionSuggestions(ctx context.Context, who Who, roomID, text string) ([]Mention, error) {
	if len(text) > MaxPrefixLength {
		return nil, &InputError{Reason: "text is longer than 128 bytes"}
	}
	room, err := d.enterable(ctx, who, roomID)
	if err != nil {
		return nil, err
	}
	prefix := strings.ToLower(text)
	limit := d.opts.MaxSuggestions
	out := make([]Mention, 0, limit)
	seen := map[string]bool{}

	// The users the room names: found even when a search would rank them
	// past the cap.
	listed := slices.Sorted(maps.Keys(room.UsersAccesses))
	if len(listed) > MaxIDs {
		listed = listed[:MaxIDs]
	}
	if len(listed) > 0 {
		infos, err := d.Users(ctx, listed)
		if err != nil {
			return nil, err
		}
		for i, id := range listed {
			if len(out) == limit {
				return out, nil
			}
			if len(room.UsersAccesses[id]) > 0 && matches(prefix, id, infos[i]) {
				seen[id] = true
				out = append(out, Mention{Kind: "user", ID: id})
			}
		}
	}

	// Everyone else the source finds who gets in through a group or the
	// default accesses.
	if len(room.GroupsAccesses) > 0 || len(room.DefaultAccesses) > 0 {
		sctx, cancel := context.WithTimeout(ctx, d.opts.Timeout)
		found, err := d.opts.Source.SearchUsers(sctx, prefix, limit*overfetch)
		cancel()
		if err != nil {
			return nil, err
		}
		for _, c := range found {
			if len(out) == limit {
				return out, nil
			}
			if !seen[c.ID] && canEnter(room, c.ID, c.Groups) {
				seen[c.ID] = true
				out = append(out, Mention{Kind: "user", ID: c.ID})
			}
		}
	}

	groups := make([]string, 0, len(room.GroupsAccesses))
	for _, g := range slices.Sorted(maps.Keys(room.GroupsAccesses)) {
		if len(room.GroupsAccesses[g]) > 0 {
			groups = append(groups, g)
		}
	}
	if len(groups) > MaxIDs {
		groups = groups[:MaxIDs]
	}
	if len(groups) > 0 && len(out) < limit {
		infos, err := d.Groups(ctx, groups)
		if err != nil {
			return nil, err
		}
		for i, g := range groups {
			if len(out) == limit {
				break
			}
			if matches(prefix, g, infos[i]) {
				out = append(out, Mention{Kind: "group", ID: g})
			}
		}
	}
	return out, nil
}

// matches reports whether the id or the name of info starts with prefix
// (lower-case).
func matches(prefix, id string, info Info) bool {
	if strings.HasPrefix(strings.ToLower(id), prefix) {
		return true
	}
	name, _ := info["name"].(string)
	return name != "" && strings.HasPrefix(strings.ToLower(name), prefix)
}
