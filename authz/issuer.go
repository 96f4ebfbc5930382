package authz

import (
	"context"

	"github.com/lbauthz/lbauthz/liveblocks"
)

// TokenIssuer is what the engine asks of Liveblocks: an ID token
// (identify-user) or an access token (authorize-user) for an identity, and a
// room's accesses, which explain describes. *liveblocks.Client is the one
// lbauthz serves with.
//
// IdentifyUser and AuthorizeUser never fail: every outcome, Liveblocks down
// included, is an AuthResponse whose status the browser's client
// understands (503 for a failure it should retry).
type TokenIssuer interface {
	IdentifyUser(ctx context.Context, req liveblocks.IdentifyUserRequest) liveblocks.AuthResponse
	AuthorizeUser(ctx context.Context, req liveblocks.AuthorizeUserRequest) liveblocks.AuthResponse
	GetRoom(ctx context.Context, id string) (*liveblocks.Room, error)
}

var _ TokenIssuer = (*liveblocks.Client)(nil)
