package liveblocks

import "context"

const identifyUserPath = "/v2/identify-user"

// IdentifyUserRequest asks for an ID token: the user's identity, whose
// permissions in each room Liveblocks works out from that room's accesses.
type IdentifyUserRequest struct {
	// UserID identifies the user; required, at most 128 characters.
	UserID string
	// GroupIDs are the groups the user belongs to, matched against the
	// groupsAccesses of rooms. Sent only when not empty: an absent list and
	// an empty one mean the same to Liveblocks, and null is rejected.
	GroupIDs []string
	// UserInfo is shown to the other users of a room (other.info); sent only
	// when not empty. At most 1024 characters once serialized; "name" and
	// "avatar", if present, must be strings.
	UserInfo map[string]any
	// OrganizationID, if not empty, scopes the token to an organization.
	OrganizationID string
}

// IdentifyUser asks Liveblocks for an ID token (POST /v2/identify-user) and
// returns what to answer the browser with; see [AuthResponse] for how
// statuses are mapped. It never returns a Status of 0: a request that fails
// the checks of [ValidateIdentity] is not sent and gives a 422 with a
// plain-text body. Use [Client.IdentifyUserErr] to learn why a call failed.
//
// Always authenticate the user before calling it: whoever receives the
// token acts as req.UserID.
func (c *Client) IdentifyUser(ctx context.Context, req IdentifyUserRequest) AuthResponse {
	return rejected(c.IdentifyUserErr(ctx, req))
}

// IdentifyUserErr is [Client.IdentifyUser] with the cause of a failure:
//
//   - a request that fails validation is not sent; the error is a
//     *ValidationError and the response is the zero AuthResponse (Status 0);
//   - a call that got no complete answer from Liveblocks (refused
//     connection, timeout, ctx done, oversized body) returns the 503 that
//     IdentifyUser returns, and the error says what happened;
//   - any answer from Liveblocks, 4xx and 5xx included, is a nil error.
func (c *Client) IdentifyUserErr(ctx context.Context, req IdentifyUserRequest) (AuthResponse, error) {
	body, err := identifyUserBody(req)
	if err != nil {
		return AuthResponse{}, err
	}
	return c.postAuth(ctx, identifyUserPath, body)
}

// identifyUserBody validates req and encodes it, omitting empty optional
// fields.
func identifyUserBody(req IdentifyUserRequest) ([]byte, error) {
	if err := validateUserID(req.UserID); err != nil {
		return nil, err
	}
	if err := validateUserInfoFields(req.UserInfo); err != nil {
		return nil, err
	}
	b := getJSONBody()
	defer putJSONBody(b)
	if _, err := b.field("userId", req.UserID); err != nil {
		return nil, err
	}
	if len(req.GroupIDs) > 0 {
		if _, err := b.field("groupIds", req.GroupIDs); err != nil {
			return nil, err
		}
	}
	if err := b.userInfo(req.UserInfo); err != nil {
		return nil, err
	}
	if req.OrganizationID != "" {
		if _, err := b.field("organizationId", req.OrganizationID); err != nil {
			return nil, err
		}
	}
	return b.bytes(), nil
}
