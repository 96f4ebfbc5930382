package liveblocks

// DefaultOrganization is the organization of a project's rooms, tokens and
// inboxes when a request names none: an empty OrganizationID in a request
// means this one.
const DefaultOrganization = "default"

// OrganizationName is the organization an OrganizationID names: id, or
// [DefaultOrganization] for "".
func OrganizationName(id string) string {
	if id == "" {
		return DefaultOrganization
	}
	return id
}

// Organization returns the organization the room belongs to:
// r.OrganizationID, or [DefaultOrganization] when Liveblocks did not say.
// A room's organization is set when it is created and never changes.
func (r *Room) Organization() string { return OrganizationName(r.OrganizationID) }
