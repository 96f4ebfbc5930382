package session

import (
	"encoding/json"
	"slices"
	"testing"
	"time"
)

func TestIdentity_KeepsWhatTheHeadersCarry(t *testing.T) {
	for _, tc := range []struct {
		name       string
		groups     []string
		info       map[string]any
		wantGroups string
		wantInfo   string
	}{
		{"no groups, no userInfo", nil, nil, "", ""},
		{"groups and userInfo", []string{"team", "eng"}, map[string]any{"name": "Alice", "n": json.Number("12")}, "team,eng", `{"n":12,"name":"Alice"}`},
		{"a group with a comma keeps its own id", []string{"a,b", "c"}, nil, "a,b,c", ""},
		{"HTML in userInfo is escaped as before", nil, map[string]any{"name": "<b>"}, "", `{"name":"\u003cb\u003e"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id := newIdentity("alice", tc.groups, tc.info)
			if id.UserID != "alice" || id.GroupsHeader != tc.wantGroups || id.UserInfoJSON != tc.wantInfo {
				t.Fatalf("identity %q %q %q, want alice %q %q", id.UserID, id.GroupsHeader, id.UserInfoJSON, tc.wantGroups, tc.wantInfo)
			}
			if !slices.Equal(id.GroupIDs, tc.groups) {
				t.Fatalf("GroupIDs %q, want %q", id.GroupIDs, tc.groups)
			}
			got, _ := json.Marshal(id.UserInfo())
			want, _ := json.Marshal(tc.info)
			if tc.info == nil {
				want = []byte("null")
			}
			if string(got) != string(want) {
				t.Fatalf("UserInfo() %s, want %s", got, want)
			}
		})
	}
}

func TestIdentity_ExpiresAsTheStoreSaid(t *testing.T) {
	at := time.Date(2030, 1, 2, 3, 4, 5, 6, time.UTC)
	for _, tc := range []struct {
		name string
		in   time.Time
		want time.Time
	}{
		{"not said", time.Time{}, time.Time{}},
		{"a time", at, at},
		{"past what nanoseconds hold: the latest they do", time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC), maxExpires},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id := newIdentity("alice", nil, nil)
			id.setExpires(tc.in)
			if got := id.Expires(); !got.Equal(tc.want) {
				t.Fatalf("Expires() = %v, want %v", got, tc.want)
			}
		})
	}
}
