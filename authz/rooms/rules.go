package rooms

import "github.com/lbauthz/lbauthz/liveblocks"

// Rules are compiled provisioning rules: which rooms to create on first use,
// and with which accesses. The zero value has no rule.
type Rules struct {
	rules []rule
}

type rule struct {
	room   *Pattern
	def    []liveblocks.Permission
	groups []entry
	users  []entry
}

// entry is one group or user of a rule: an id template and its accesses.
type entry struct {
	id    template
	perms []liveblocks.Permission
}

// Len returns the number of rules.
func (r *Rules) Len() int {
	if r == nil {
		return 0
	}
	return len(r.rules)
}

// Match returns the room to create for roomID, from the first rule whose
// pattern matches it, with the rule's captures put into the group and user
// ids. It reports false when no rule matches.
func (r *Rules) Match(roomID string) (liveblocks.CreateRoomRequest, bool) {
	if r == nil {
		return liveblocks.CreateRoomRequest{}, false
	}
	for i := range r.rules {
		ru := &r.rules[i]
		caps, ok := ru.room.Match(roomID)
		if !ok {
			continue
		}
		return liveblocks.CreateRoomRequest{
			ID:              roomID,
			DefaultAccesses: ru.def,
			GroupsAccesses:  expandEntries(ru.groups, caps),
			UsersAccesses:   expandEntries(ru.users, caps),
		}, true
	}
	return liveblocks.CreateRoomRequest{}, false
}

func expandEntries(entries []entry, caps Captures) map[string][]liveblocks.Permission {
	if len(entries) == 0 {
		return nil
	}
	m := make(map[string][]liveblocks.Permission, len(entries))
	for _, e := range entries {
		// Every placeholder is a capture of the matched pattern (checked
		// when compiled), and captures are never empty.
		id, _ := e.id.expand(caps.Get, false)
		m[id] = e.perms
	}
	return m
}
