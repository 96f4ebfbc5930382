package liveblocks

import (
	"strings"
)

// Permission is a Liveblocks permission scope, such as "room:write". A set of
// permissions says what a user may do in a room: it holds exactly one base
// scope, which gives its access level to every feature, and optionally one
// scope per feature that overrides it for that feature.
type Permission string

// Base scopes: read or write access to the whole room.
const (
	Read  Permission = "*:read"
	Write Permission = "*:write"

	// RoomRead and RoomWrite are the older names of Read and Write;
	// Liveblocks accepts both.
	RoomRead  Permission = "room:read"
	RoomWrite Permission = "room:write"
)

// Feature scopes, at most one per feature in a set.
const (
	StorageRead  Permission = "storage:read"
	StorageWrite Permission = "storage:write"
	StorageNone  Permission = "storage:none"

	CommentsRead  Permission = "comments:read"
	CommentsWrite Permission = "comments:write"
	CommentsNone  Permission = "comments:none"

	CommentsPublicRead  Permission = "comments:public:read"
	CommentsPublicWrite Permission = "comments:public:write"
	CommentsPublicNone  Permission = "comments:public:none"

	CommentsPrivateRead  Permission = "comments:private:read"
	CommentsPrivateWrite Permission = "comments:private:write"
	CommentsPrivateNone  Permission = "comments:private:none"

	FeedsRead  Permission = "feeds:read"
	FeedsWrite Permission = "feeds:write"
	FeedsNone  Permission = "feeds:none"

	// RoomPresenceWrite is the legacy scope that lets a read-only user
	// still update their presence (cursor, selection) in the room.
	RoomPresenceWrite Permission = "room:presence:write"
)

// feature is what a scope governs: "" for a base scope, else the part of the
// scope before its access level ("storage", "comments:public", ...; "presence"
// for room:presence:write).
var feature = map[Permission]string{
	Read: "", Write: "", RoomRead: "", RoomWrite: "",
	StorageRead: "storage", StorageWrite: "storage", StorageNone: "storage",
	CommentsRead: "comments", CommentsWrite: "comments", CommentsNone: "comments",
	CommentsPublicRead: "comments:public", CommentsPublicWrite: "comments:public", CommentsPublicNone: "comments:public",
	CommentsPrivateRead: "comments:private", CommentsPrivateWrite: "comments:private", CommentsPrivateNone: "comments:private",
	FeedsRead: "feeds", FeedsWrite: "feeds", FeedsNone: "feeds",
	RoomPresenceWrite: "presence",
}

// Valid reports whether p is one of the permission strings Liveblocks knows.
func (p Permission) Valid() bool {
	_, ok := feature[p]
	return ok
}

// IsBase reports whether p is a base scope: Read, Write, RoomRead or
// RoomWrite.
func (p Permission) IsBase() bool {
	f, ok := feature[p]
	return ok && f == ""
}

// ParsePermission returns s as a Permission, or a *ValidationError when s is
// not one Liveblocks knows. It is exact: no trimming, no case folding.
func ParsePermission(s string) (Permission, error) {
	p := Permission(s)
	if !p.Valid() {
		return "", &ValidationError{Field: "permission", Value: s, Reason: "is not a Liveblocks permission"}
	}
	return p, nil
}

// ParsePermissions parses a list of permissions. Each argument may itself be
// a comma-separated list, so both ParsePermissions("room:read,
// room:presence:write") (as read from a flag or an environment variable) and
// ParsePermissions(list...) work; spaces around each item are ignored.
// Arguments that are empty or only spaces contribute nothing, so
// ParsePermissions("") is an empty list; an empty item inside a list
// ("a,,b") is an error. It checks each permission but not the set: use
// [ValidatePermissions] or [ValidateAccesses] for that.
func ParsePermissions(lists ...string) ([]Permission, error) {
	var out []Permission
	for _, list := range lists {
		if strings.TrimSpace(list) == "" {
			continue
		}
		for item := range strings.SplitSeq(list, ",") {
			item = strings.TrimSpace(item)
			if item == "" {
				return nil, &ValidationError{Field: "permissions", Value: list, Reason: "has an empty item"}
			}
			p, err := ParsePermission(item)
			if err != nil {
				return nil, err
			}
			out = append(out, p)
		}
	}
	return out, nil
}

// ValidatePermissions reports whether perms is a valid, non-empty permission
// set: every permission known, exactly one base scope (Read, Write, RoomRead
// or RoomWrite), and at most one scope per feature (storage, comments,
// comments:public, comments:private, feeds, presence). This is what each room
// pattern of an access token needs. The error is a *ValidationError naming
// the offending permission.
func ValidatePermissions(perms []Permission) error {
	return validateSet("permissions", perms)
}

// ValidateAccesses reports whether perms is valid as a room's
// defaultAccesses, or as the accesses of one group or user of a room: either
// empty, meaning no access, or a set accepted by [ValidatePermissions].
func ValidateAccesses(perms []Permission) error {
	return validateAccesses("accesses", perms)
}

func validateAccesses(field string, perms []Permission) error {
	if len(perms) == 0 {
		return nil
	}
	return validateSet(field, perms)
}

func validateSet(field string, perms []Permission) error {
	if len(perms) == 0 {
		return &ValidationError{Field: field, Reason: "is empty; it needs one of *:read or *:write"}
	}
	var base Permission
	var seen [6]Permission // one slot per feature, in featureSlot order
	for _, p := range perms {
		f, ok := feature[p]
		if !ok {
			return &ValidationError{Field: field, Value: string(p), Reason: "is not a Liveblocks permission"}
		}
		if f == "" {
			if base != "" {
				return &ValidationError{Field: field, Value: string(p), Reason: "is a second base scope (already has " + string(base) + "); a set has exactly one of *:read, *:write, room:read, room:write"}
			}
			base = p
			continue
		}
		slot := featureSlot(f)
		if seen[slot] != "" {
			return &ValidationError{Field: field, Value: string(p), Reason: "is a second " + f + " scope (already has " + string(seen[slot]) + "); a set has at most one per feature"}
		}
		seen[slot] = p
	}
	if base == "" {
		return &ValidationError{Field: field, Value: joinPermissions(perms), Reason: "has no base scope; it needs exactly one of *:read, *:write, room:read, room:write"}
	}
	return nil
}

func featureSlot(f string) int {
	switch f {
	case "storage":
		return 0
	case "comments":
		return 1
	case "comments:public":
		return 2
	case "comments:private":
		return 3
	case "feeds":
		return 4
	default: // "presence"
		return 5
	}
}

func joinPermissions(perms []Permission) string {
	s := make([]string, len(perms))
	for i, p := range perms {
		s[i] = string(p)
	}
	return strings.Join(s, ",")
}
