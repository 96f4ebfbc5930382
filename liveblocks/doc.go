// Package liveblocks is a client of the Liveblocks REST API
// (https://liveblocks.io/docs/api-reference/rest-api-endpoints) for servers
// written in Go: it issues ID tokens and access tokens for users a server has
// already authenticated, and manages rooms and their permissions.
//
// It covers what a back end needs to authorize Liveblocks users:
//
//   - [Client.IdentifyUser] (POST /v2/identify-user) returns the status and body
//     to hand back to the browser, mapped exactly as the official Node SDK
//     (@liveblocks/node) does: a 2xx from Liveblocks becomes 200, a 5xx or a
//     network failure becomes 503, any other status is passed through, and the
//     body is Liveblocks' own.
//   - [Client.AuthorizeUser] (POST /v2/authorize-user) does the same for access
//     tokens with explicit room permissions.
//   - [Client.CreateRoom], [Client.GetRoom], [Client.UpdateRoom] and the other
//     room methods manage rooms, whose accesses decide what an ID token may do.
//
// Requests are checked against the limits Liveblocks enforces (user and room
// ids of at most 128 characters, userInfo of at most 1024 characters once
// serialized, known permission strings, at most 10 room patterns per access
// token) before anything is sent, and fail with a [*ValidationError]. An
// answer other than 2xx from the room endpoints is returned as an [*Error];
// errors.Is(err, [ErrNotFound]) and errors.Is(err, [ErrConflict]) test for 404
// and 409.
//
// The secret key is sent only in the Authorization header: it never appears in
// an error, a response body handed back by this package, or a URL.
//
// This package is not a Liveblocks client for browsers (it does not open
// WebSocket connections or sync storage), does not cache or re-issue tokens
// (the browser's client refuses a token it has seen before), and does not
// verify tokens. It covers the authorization and room endpoints only, not
// comments, notifications, storage or groups. It depends on the standard
// library only.
package liveblocks
