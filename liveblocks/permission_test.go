package liveblocks_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/lbauthz/lbauthz/liveblocks"
)

func TestValidatePermissions_NeedsOneBaseAndOnePerFeature(t *testing.T) {
	type P = liveblocks.Permission
	tests := []struct {
		name      string
		perms     []P
		wantValue string // "" when valid
	}{
		{"write", []P{liveblocks.Write}, ""},
		{"legacy read with presence", []P{liveblocks.RoomRead, liveblocks.RoomPresenceWrite}, ""},
		{"every feature once", []P{liveblocks.Read, liveblocks.StorageWrite, liveblocks.CommentsRead, liveblocks.CommentsPublicWrite,
			liveblocks.CommentsPrivateNone, liveblocks.FeedsNone, liveblocks.RoomPresenceWrite}, ""},
		{"empty", []P{}, "-"},
		{"two base scopes", []P{liveblocks.Read, liveblocks.Write}, "*:write"},
		{"base scope and its legacy alias", []P{liveblocks.Write, liveblocks.RoomWrite}, "room:write"},
		{"two storage scopes", []P{liveblocks.Write, liveblocks.StorageRead, liveblocks.StorageNone}, "storage:none"},
		{"same scope twice", []P{liveblocks.Read, liveblocks.FeedsRead, liveblocks.FeedsRead}, "feeds:read"},
		{"presence twice", []P{liveblocks.Read, liveblocks.RoomPresenceWrite, liveblocks.RoomPresenceWrite}, "room:presence:write"},
		{"unknown string", []P{liveblocks.Write, "room:admin"}, "room:admin"},
		{"wrong case", []P{"*:WRITE"}, "*:WRITE"},
		{"feature scope without base", []P{liveblocks.CommentsWrite}, "comments:write"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := liveblocks.ValidatePermissions(tt.perms)
			if tt.wantValue == "" {
				if err != nil {
					t.Errorf("ValidatePermissions: %v, want valid", err)
				}
				if err := liveblocks.ValidateAccesses(tt.perms); err != nil {
					t.Errorf("ValidateAccesses: %v, want valid", err)
				}
				return
			}
			var verr *liveblocks.ValidationError
			if !errors.As(err, &verr) {
				t.Fatalf("err = %v, want a *ValidationError", err)
			}
			if tt.wantValue != "-" && verr.Value != tt.wantValue {
				t.Errorf("error names %q, want %q (%v)", verr.Value, tt.wantValue, err)
			}
			if len(tt.perms) > 0 && liveblocks.ValidateAccesses(tt.perms) == nil {
				t.Errorf("ValidateAccesses accepted an invalid non-empty set")
			}
		})
	}
}

func TestValidateAccesses_EmptyMeansNoAccess(t *testing.T) {
	for _, perms := range [][]liveblocks.Permission{nil, {}} {
		if err := liveblocks.ValidateAccesses(perms); err != nil {
			t.Errorf("ValidateAccesses(%#v) = %v, want nil", perms, err)
		}
	}
}

func TestParsePermissions_ReadsListsAndCommaSeparatedStrings(t *testing.T) {
	tests := []struct {
		name    string
		in      []string
		want    []liveblocks.Permission
		wantErr bool
	}{
		{"nothing", nil, nil, false},
		{"empty string", []string{""}, nil, false},
		{"comma-separated with spaces", []string{"room:read, room:presence:write"}, []liveblocks.Permission{liveblocks.RoomRead, liveblocks.RoomPresenceWrite}, false},
		{"list", []string{"*:write", "storage:read"}, []liveblocks.Permission{liveblocks.Write, liveblocks.StorageRead}, false},
		{"empty item", []string{"*:read,,storage:read"}, nil, true},
		{"unknown", []string{"*:read", "room:admin"}, nil, true},
		{"trailing comma", []string{"*:read,"}, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := liveblocks.ParsePermissions(tt.in...)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestParsePermission_KnowsEveryLiveblocksScope(t *testing.T) {
	// The list the dev server (and @liveblocks/core) accepts.
	all := "*:read *:write room:write room:read storage:read storage:write storage:none comments:write comments:read comments:none " +
		"comments:public:write comments:public:read comments:public:none comments:private:write comments:private:read comments:private:none " +
		"feeds:read feeds:write feeds:none room:presence:write"
	for _, s := range strings.Fields(all) {
		p, err := liveblocks.ParsePermission(s)
		if err != nil || string(p) != s {
			t.Errorf("ParsePermission(%q) = %q, %v", s, p, err)
		}
	}
	for _, s := range []string{"", "*", "room", "read", " *:read", "storage:admin"} {
		if _, err := liveblocks.ParsePermission(s); err == nil {
			t.Errorf("ParsePermission(%q) accepted it", s)
		}
	}
}
