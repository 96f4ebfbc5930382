// Package rooms holds the room rules of the sidecar: which rooms it creates,
// with which accesses, the first time a user asks for a token for them
// (ID-token mode, Rules and Provisioner), and which room patterns an access
// token gives a user (access-token mode, Policy).
//
// Patterns and templates are compiled once, when the config is loaded
// (Compile); a request only matches and fills them in. The package does not
// decide whether a request gets a token: that is the engine's job (package
// authz). Calls to Liveblocks go through package liveblocks.
package rooms
