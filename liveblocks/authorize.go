package liveblocks

import (
	"context"
	"strconv"
	"strings"
)

const authorizeUserPath = "/v2/authorize-user"

// MaxPatterns is the most room patterns one access token may carry.
const MaxPatterns = 10

// AuthorizeUserRequest asks for an access token: the user's identity and
// explicit permissions per room, independent of the rooms' own accesses.
type AuthorizeUserRequest struct {
	// UserID identifies the user; required, at most 128 characters.
	UserID string
	// Permissions maps 1 to 10 room patterns to the permissions granted in
	// the rooms they match. A pattern is a room id, a prefix followed by
	// "*" ("team-42:*"), or "*" for every room; see [ValidatePattern]. Each
	// list must pass [ValidatePermissions].
	Permissions map[string][]Permission
	// UserInfo is shown to the other users of a room (other.info); sent only
	// when not empty, with the same limits as in [IdentifyUserRequest].
	UserInfo map[string]any
	// OrganizationID, if not empty, scopes the token to an organization.
	OrganizationID string
}

// AuthorizeUser asks Liveblocks for an access token (POST
// /v2/authorize-user) and returns what to answer the browser with, exactly
// as [Client.IdentifyUser] does: an invalid request is not sent and gives a
// 422. Use [Client.AuthorizeUserErr] to learn why a call failed.
func (c *Client) AuthorizeUser(ctx context.Context, req AuthorizeUserRequest) AuthResponse {
	return rejected(c.AuthorizeUserErr(ctx, req))
}

// AuthorizeUserErr is [Client.AuthorizeUser] with the cause of a failure,
// with the same contract as [Client.IdentifyUserErr]: a *ValidationError and
// a zero response for an invalid request, an error and a 503 for a call that
// got no answer, a nil error for any answer from Liveblocks.
func (c *Client) AuthorizeUserErr(ctx context.Context, req AuthorizeUserRequest) (AuthResponse, error) {
	body, err := authorizeUserBody(req)
	if err != nil {
		return AuthResponse{}, err
	}
	return c.postAuth(ctx, authorizeUserPath, body)
}

func authorizeUserBody(req AuthorizeUserRequest) ([]byte, error) {
	if err := validateUserID(req.UserID); err != nil {
		return nil, err
	}
	if err := validateUserInfoFields(req.UserInfo); err != nil {
		return nil, err
	}
	if err := validateRoomPermissions(req.Permissions); err != nil {
		return nil, err
	}
	b := getJSONBody()
	defer putJSONBody(b)
	if _, err := b.field("userId", req.UserID); err != nil {
		return nil, err
	}
	if _, err := b.field("permissions", req.Permissions); err != nil {
		return nil, err
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

func validateRoomPermissions(perms map[string][]Permission) error {
	if len(perms) == 0 {
		return &ValidationError{Field: "permissions", Reason: "is empty; an access token needs at least one room pattern (\"*\" for every room)"}
	}
	if len(perms) > MaxPatterns {
		return &ValidationError{Field: "permissions", Reason: "has " + strconv.Itoa(len(perms)) + " room patterns; Liveblocks allows at most 10 per token"}
	}
	for pattern, list := range perms {
		if err := ValidatePattern(pattern); err != nil {
			return err
		}
		if err := validateSet("permissions["+strconv.Quote(pattern)+"]", list); err != nil {
			return err
		}
	}
	return nil
}

// ValidatePattern reports whether pattern is a valid room pattern for an
// access token: "*" (every room), or 1 to 128 characters without "*"
// optionally followed by a single "*" (every room whose id starts with
// them). Length is counted as JavaScript does (UTF-16 code units), as for
// room ids. The error is a *ValidationError naming the pattern.
func ValidatePattern(pattern string) error {
	if pattern == "*" {
		return nil
	}
	prefix := strings.TrimSuffix(pattern, "*")
	switch {
	case prefix == "":
		return &ValidationError{Field: "room pattern", Value: pattern, Reason: "is empty"}
	case strings.Contains(prefix, "*"):
		return &ValidationError{Field: "room pattern", Value: pattern, Reason: `may contain "*" only once, as its last character`}
	case jsLength(prefix) > MaxRoomIDLength:
		return &ValidationError{Field: "room pattern", Value: pattern, Reason: "is longer than 128 characters (not counting a trailing \"*\")"}
	}
	return nil
}
