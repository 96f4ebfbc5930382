package liveblocks_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/lbauthz/lbauthz/liveblocks"
)

func TestAuthorizeUser_ReturnsAccessTokenWithThePermissions(t *testing.T) {
	c := newDevClient(t)
	tenPatterns := map[string][]liveblocks.Permission{}
	for i := range 10 {
		tenPatterns[fmt.Sprintf("room-%d", i)] = []liveblocks.Permission{liveblocks.Read}
	}
	tests := []struct {
		name string
		req  liveblocks.AuthorizeUserRequest
	}{
		{"one room", liveblocks.AuthorizeUserRequest{UserID: "alice", Permissions: map[string][]liveblocks.Permission{"room-1": {liveblocks.Write}}}},
		{"every room, read-only with presence", liveblocks.AuthorizeUserRequest{UserID: "bob", Permissions: map[string][]liveblocks.Permission{"*": {liveblocks.RoomRead, liveblocks.RoomPresenceWrite}}}},
		{"prefix pattern with feature scopes", liveblocks.AuthorizeUserRequest{UserID: "carol", Permissions: map[string][]liveblocks.Permission{
			"team-42:*": {liveblocks.Read, liveblocks.StorageWrite, liveblocks.CommentsWrite, liveblocks.FeedsNone},
		}}},
		{"ten patterns", liveblocks.AuthorizeUserRequest{UserID: "dave", Permissions: tenPatterns}},
		{"with user info and organization", liveblocks.AuthorizeUserRequest{UserID: "erin", UserInfo: map[string]any{"name": "Erin"}, OrganizationID: "acme",
			Permissions: map[string][]liveblocks.Permission{"doc-*": {liveblocks.Write}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := c.AuthorizeUserErr(context.Background(), tt.req)
			if err != nil {
				t.Fatalf("AuthorizeUserErr: %v", err)
			}
			if resp.Status != http.StatusOK {
				t.Fatalf("status %d, body %q; want 200", resp.Status, resp.Body)
			}
			p := tokenPayload(t, resp.Body)
			if p["k"] != "acc" {
				t.Errorf("k = %v, want \"acc\" (an access token)", p["k"])
			}
			if p["uid"] != tt.req.UserID {
				t.Errorf("uid = %v, want %q", p["uid"], tt.req.UserID)
			}
			if got, want := toJSON(t, p["perms"]), toJSON(t, tt.req.Permissions); got != want {
				t.Errorf("perms = %s, want %s", got, want)
			}
			if tt.req.UserInfo != nil && toJSON(t, p["ui"]) != toJSON(t, tt.req.UserInfo) {
				t.Errorf("ui = %s, want %s", toJSON(t, p["ui"]), toJSON(t, tt.req.UserInfo))
			}
		})
	}
}

func TestAuthorizeUser_InvalidRequestIsNotSent(t *testing.T) {
	c, hits := tripwire(t)
	perms := func(kv ...any) map[string][]liveblocks.Permission {
		m := map[string][]liveblocks.Permission{}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1].([]liveblocks.Permission)
		}
		return m
	}
	write := []liveblocks.Permission{liveblocks.Write}
	eleven := map[string][]liveblocks.Permission{}
	for i := range 11 {
		eleven[fmt.Sprintf("room-%d", i)] = write
	}
	tests := []struct {
		name      string
		req       liveblocks.AuthorizeUserRequest
		wantField string
	}{
		{"no patterns", liveblocks.AuthorizeUserRequest{UserID: "a"}, "permissions"},
		{"eleven patterns", liveblocks.AuthorizeUserRequest{UserID: "a", Permissions: eleven}, "permissions"},
		{"star inside a pattern", liveblocks.AuthorizeUserRequest{UserID: "a", Permissions: perms("a*b", write)}, "room pattern"},
		{"two stars", liveblocks.AuthorizeUserRequest{UserID: "a", Permissions: perms("**", write)}, "room pattern"},
		{"leading star", liveblocks.AuthorizeUserRequest{UserID: "a", Permissions: perms("*x", write)}, "room pattern"},
		{"empty pattern", liveblocks.AuthorizeUserRequest{UserID: "a", Permissions: perms("", write)}, "room pattern"},
		{"pattern of 129 characters", liveblocks.AuthorizeUserRequest{UserID: "a", Permissions: perms(strings.Repeat("p", 129), write)}, "room pattern"},
		{"empty permission list", liveblocks.AuthorizeUserRequest{UserID: "a", Permissions: perms("room", []liveblocks.Permission{})}, `permissions["room"]`},
		{"unknown permission", liveblocks.AuthorizeUserRequest{UserID: "a", Permissions: perms("room", []liveblocks.Permission{"room:admin"})}, `permissions["room"]`},
		{"two base scopes", liveblocks.AuthorizeUserRequest{UserID: "a", Permissions: perms("room", []liveblocks.Permission{liveblocks.Read, liveblocks.Write})}, `permissions["room"]`},
		{"no base scope", liveblocks.AuthorizeUserRequest{UserID: "a", Permissions: perms("room", []liveblocks.Permission{liveblocks.StorageWrite})}, `permissions["room"]`},
		{"empty userId", liveblocks.AuthorizeUserRequest{Permissions: perms("room", write)}, "userId"},
		{"userInfo name not a string", liveblocks.AuthorizeUserRequest{UserID: "a", UserInfo: map[string]any{"name": true}, Permissions: perms("room", write)}, "userInfo.name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := c.AuthorizeUserErr(context.Background(), tt.req)
			var verr *liveblocks.ValidationError
			if !errors.As(err, &verr) {
				t.Fatalf("err = %v, want a *ValidationError", err)
			}
			if verr.Field != tt.wantField {
				t.Errorf("Field = %q, want %q (%v)", verr.Field, tt.wantField, err)
			}
			if resp.Status != 0 {
				t.Errorf("status %d, want 0 (not sent)", resp.Status)
			}
			if plain := c.AuthorizeUser(context.Background(), tt.req); plain.Status != http.StatusUnprocessableEntity {
				t.Errorf("AuthorizeUser status %d, want 422", plain.Status)
			}
		})
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("Liveblocks was called %d times, want 0", n)
	}
}

func TestValidatePattern_FollowsTheNodeSDKRule(t *testing.T) {
	tests := []struct {
		pattern string
		valid   bool
	}{
		{"*", true},
		{"room-1", true},
		{"team-42:*", true},
		{strings.Repeat("p", 128), true},
		{strings.Repeat("p", 128) + "*", true},
		{strings.Repeat("é", 128), true},
		{"", false},
		{"**", false},
		{"*x", false},
		{"a*b", false},
		{"a**", false},
		{strings.Repeat("p", 129), false},
		{strings.Repeat("🙂", 65), false}, // 130 UTF-16 code units
	}
	for _, tt := range tests {
		err := liveblocks.ValidatePattern(tt.pattern)
		if (err == nil) != tt.valid {
			t.Errorf("ValidatePattern(%.20q) = %v, want valid=%v", tt.pattern, err, tt.valid)
		}
		if err != nil && !strings.Contains(err.Error(), "room pattern") {
			t.Errorf("error %q does not say what was wrong", err)
		}
	}
}
