package authz_test

import (
	"context"
	"testing"
	"time"

	"github.com/lbauthz/lbauthz/internal/authztest"
	"github.com/lbauthz/lbauthz/internal/testenv"
	"github.com/lbauthz/lbauthz/liveblocks"
)

// user is a session for a user with these groups.
func user(id string, groups ...string) string {
	claims := authztest.Alice()
	claims["sub"], claims["name"] = id, id
	g := make([]any, len(groups))
	for i, s := range groups {
		g[i] = s
	}
	claims["groups"] = g
	return "session=" + authztest.Session(claims)
}

// TestRoomClient_IDTokenPermissionMatrix runs the real @liveblocks/client
// through the gRPC door (an Envoy shim in front of it) into dev-server rooms
// and shows what each kind of room entry lets it do.
func TestRoomClient_IDTokenPermissionMatrix(t *testing.T) {
	dev := testenv.StartLiveblocks(t)
	shim := authztest.StartEnvoyShim(t, authztest.GRPC(t, authztest.Engine(t, provisionConfig, dev.URL, testenv.DevSecretKey)), authztest.AuthPath)
	lb, err := liveblocks.New(liveblocks.Options{BaseURL: dev.URL, SecretKey: testenv.DevSecretKey})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lb.CreateRoom(context.Background(), liveblocks.CreateRoomRequest{
		ID:              "matrix",
		DefaultAccesses: []liveblocks.Permission{},
		GroupsAccesses:  map[string][]liveblocks.Permission{"team": {liveblocks.Write}},
		UsersAccesses:   map[string][]liveblocks.Permission{"bob": {liveblocks.Read}},
	}); err != nil {
		t.Fatal(err)
	}

	cases := []struct {
		name, cookie, room string
		connected          bool
		canWrite           bool
		storage            string // "ok", "refused", or "" when not connected
	}{
		{"write through a group entry", user("alice", "team"), "matrix", true, true, "ok"},
		{"read-only through a user entry", user("bob"), "matrix", true, false, "refused"},
		{"no entry: 4001", user("carol", "other"), "matrix", false, false, ""},
		{"room provisioned by a rule on first use", user("dave", "org-acme"), "org-acme:doc-7", true, true, "ok"},
		{"provisioned room, user outside the rule's group: 4001", user("erin", "org-other"), "org-acme:doc-8", false, false, ""},
		{"room no rule matches does not exist: 4001", user("frank", "team"), "lobby", false, false, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			res := testenv.RunRoomClient(t, testenv.RoomClientOptions{
				AuthEndpoint: shim.AuthURL, BaseURL: dev.URL, Cookie: tc.cookie,
				RoomID: tc.room, WriteStorage: true, Timeout: 8 * time.Second,
			})
			if res.AuthStatus != 200 || res.AuthToken == nil || res.AuthToken.Kind != "id" {
				t.Fatalf("auth endpoint: status %d, token %v", res.AuthStatus, res.AuthToken)
			}
			if !tc.connected {
				if res.Connected() || res.CloseCode != 4001 {
					t.Fatalf("want close 4001, got status %s close %d error %d %q", res.Status, res.CloseCode, res.ErrorCode, res.ErrorMessage)
				}
				return
			}
			if !res.Connected() {
				t.Fatalf("not connected: status %s close %d error %d %q", res.Status, res.CloseCode, res.ErrorCode, res.ErrorMessage)
			}
			if res.CanWrite != tc.canWrite {
				t.Fatalf("canWrite = %v, want %v", res.CanWrite, tc.canWrite)
			}
			switch tc.storage {
			case "ok":
				if res.StorageWrite != "ok" {
					t.Fatalf("storage write: %q", res.StorageWrite)
				}
			case "refused":
				if !res.StorageRefused() {
					t.Fatalf("the client let a read-only user write: %q", res.StorageWrite)
				}
			}
		})
	}
}

// TestRoomClient_AccessTokenPatterns shows an access token letting the real
// client into the rooms its patterns match, and only those.
func TestRoomClient_AccessTokenPatterns(t *testing.T) {
	dev := testenv.StartLiveblocks(t)
	shim := authztest.StartEnvoyShim(t, authztest.GRPC(t, authztest.Engine(t, accessTokenConfig, dev.URL, testenv.DevSecretKey)), authztest.AuthPath)
	cases := []struct {
		name, room string
		connected  bool
	}{
		{"room inside a group pattern", "team:doc-1", true},
		{"room inside the user pattern", "user-alice:notes", true},
		{"room outside every pattern: 4001", "other:doc-1", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			res := testenv.RunRoomClient(t, testenv.RoomClientOptions{
				AuthEndpoint: shim.AuthURL, BaseURL: dev.URL, Cookie: user("alice", "team"),
				RoomID: tc.room, WriteStorage: tc.connected, Timeout: 8 * time.Second,
			})
			if res.AuthStatus != 200 || res.AuthToken == nil || res.AuthToken.Kind != "acc" {
				t.Fatalf("auth endpoint: status %d, token %v", res.AuthStatus, res.AuthToken)
			}
			if !tc.connected {
				if res.Connected() || res.CloseCode != 4001 {
					t.Fatalf("want close 4001, got status %s close %d error %d %q", res.Status, res.CloseCode, res.ErrorCode, res.ErrorMessage)
				}
				return
			}
			if !res.Connected() || !res.CanWrite || res.StorageWrite != "ok" {
				t.Fatalf("status %s canWrite %v storage %q close %d error %q", res.Status, res.CanWrite, res.StorageWrite, res.CloseCode, res.ErrorMessage)
			}
		})
	}
}

// TestRoomClient_BearerTokenThroughTheGRPCDoor runs the real
// @liveblocks/client with authEndpoint as a callback that sends
// "Authorization: Bearer" and no cookie, as a mobile app or an API client
// does, through the gRPC door (an Envoy shim in front of it), with the
// bearer tokens read by a session source of their own (more_sessions).
func TestRoomClient_BearerTokenThroughTheGRPCDoor(t *testing.T) {
	dev := testenv.StartLiveblocks(t)
	e := authztest.Engine(t, authztest.Config+authztest.BearerSessions, dev.URL, testenv.DevSecretKey)
	shim := authztest.StartEnvoyShim(t, authztest.GRPC(t, e), authztest.AuthPath)
	lb, err := liveblocks.New(liveblocks.Options{BaseURL: dev.URL, SecretKey: testenv.DevSecretKey})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lb.CreateRoom(context.Background(), liveblocks.CreateRoomRequest{
		ID: "bearer-room", DefaultAccesses: []liveblocks.Permission{},
		GroupsAccesses: map[string][]liveblocks.Permission{"team": {liveblocks.Write}},
	}); err != nil {
		t.Fatal(err)
	}
	t.Run("a valid bearer token enters", func(t *testing.T) {
		t.Parallel()
		r := testenv.RunRoomClient(t, testenv.RoomClientOptions{AuthEndpoint: shim.AuthURL, BaseURL: dev.URL,
			Bearer: authztest.APIToken(authztest.Alice()), RoomID: "bearer-room"})
		if !r.Connected() || r.SelfID != "alice" || !r.CanWrite || r.AuthStatus != 200 {
			t.Fatalf("status %q self %q canWrite %v auth %d, want connected as alice with write access", r.Status, r.SelfID, r.CanWrite, r.AuthStatus)
		}
	})
	t.Run("a session cookie's JWT as a bearer token is refused", func(t *testing.T) {
		t.Parallel()
		r := testenv.RunRoomClient(t, testenv.RoomClientOptions{AuthEndpoint: shim.AuthURL, BaseURL: dev.URL,
			Bearer: authztest.Session(authztest.Alice()), RoomID: "bearer-room", Timeout: 4 * time.Second})
		if r.Connected() || r.AuthStatus != 401 {
			t.Fatalf("status %q auth %d, want not connected after a 401", r.Status, r.AuthStatus)
		}
	})
}
