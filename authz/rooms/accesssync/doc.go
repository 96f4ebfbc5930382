// Package accesssync keeps rooms' accesses in Liveblocks in step with the
// app's own sharing data: an access source (a SQL query of the app's
// tables, or an HTTP endpoint of the app) says what a room's
// defaultAccesses, groupsAccesses and usersAccesses should be, and a Syncer
// compares that with the room in Liveblocks and writes only what differs,
// in one updateRoom call.
//
// It does not decide when to sync: the engine syncs a room on first use and
// when its copy is older than a configured age (Syncer.Fresh), and
// "lbauthz rooms sync" syncs one room or every room on demand.
package accesssync
