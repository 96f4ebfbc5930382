// Package directory answers the Liveblocks client's resolvers
// (resolveUsers, resolveMentionSuggestions, resolveGroupsInfo and
// resolveRoomsInfo) from a directory of the app's users, groups and rooms:
// a SQL query, an HTTP endpoint of the app, or a static file.
//
// Mention suggestions only name users and groups who can enter the room,
// worked out from the room's accesses in Liveblocks as Liveblocks itself
// works out an ID token's permissions. Answers of the source and the rooms'
// accesses are cached for a configured time.
//
// The package does not read sessions: its handler takes an identity the
// caller has already resolved, and answering a request without a session
// (401) is the caller's job, as on the auth path.
package directory
