package rooms

import (
	"reflect"
	"strings"
	"testing"

	"google.golang.org/protobuf/types/known/structpb"

	"github.com/lbauthz/lbauthz/liveblocks"
	configv1 "github.com/lbauthz/lbauthz/proto/lbauthz/config/v1"
)

func list(perms ...any) *structpb.ListValue {
	l, err := structpb.NewList(perms)
	if err != nil {
		panic(err)
	}
	return l
}

func mustCompile(t *testing.T, cfg *configv1.Rooms) *Compiled {
	t.Helper()
	c, err := Compile(cfg)
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	return c
}

func TestRules_MatchFillsCapturesIntoGroupAndUserIDs(t *testing.T) {
	c := mustCompile(t, &configv1.Rooms{Provision: []*configv1.ProvisionRule{
		{
			Room:            "org-{org}:doc-{doc}",
			DefaultAccesses: []string{},
			GroupsAccesses:  map[string]*structpb.ListValue{"org-{org}": list("*:write"), "readers": list("room:read", "room:presence:write")},
			UsersAccesses:   map[string]*structpb.ListValue{"owner-{doc}": list("*:write"), "banned": list()},
		},
		{Room: "org-{org}:*", DefaultAccesses: []string{"*:read"}},
	}})
	req, ok := c.Rules.Match("org-acme:doc-42")
	if !ok {
		t.Fatal("no match")
	}
	want := liveblocks.CreateRoomRequest{
		ID:              "org-acme:doc-42",
		DefaultAccesses: []liveblocks.Permission{},
		GroupsAccesses: map[string][]liveblocks.Permission{
			"org-acme": {liveblocks.Write},
			"readers":  {liveblocks.RoomRead, liveblocks.RoomPresenceWrite},
		},
		UsersAccesses: map[string][]liveblocks.Permission{
			"owner-42": {liveblocks.Write},
			"banned":   {},
		},
	}
	if !reflect.DeepEqual(req, want) {
		t.Fatalf("Match:\n got %+v\nwant %+v", req, want)
	}

	// The first matching rule wins; the second catches the rest.
	req, ok = c.Rules.Match("org-acme:sheet-1")
	if !ok || len(req.DefaultAccesses) != 1 || req.DefaultAccesses[0] != liveblocks.Read || req.GroupsAccesses != nil {
		t.Fatalf("second rule: ok=%v %+v", ok, req)
	}
	if _, ok := c.Rules.Match("lobby"); ok {
		t.Fatal("a room no rule matches was matched")
	}
}

func TestCompile_ErrorsNameTheFieldAndTheValue(t *testing.T) {
	cfg := &configv1.Rooms{
		Provision: []*configv1.ProvisionRule{
			{Room: "org-{org"},
			{Room: "org-{org}", DefaultAccesses: []string{"room:admin"}},
			{Room: "org-{org}", GroupsAccesses: map[string]*structpb.ListValue{"team-{team}": list("*:write")}},
			{Room: "org-{org}", UsersAccesses: map[string]*structpb.ListValue{"u": list("*:read", "*:write")}},
			{Room: "org-{org}", UsersAccesses: map[string]*structpb.ListValue{"u": list(42.0)}},
			{Room: "x", GroupsAccesses: map[string]*structpb.ListValue{"": list("*:write")}},
			{Room: "x", DefaultAccesses: []string{"storage:write"}},
		},
		AccessToken: &configv1.AccessTokenPolicy{Grants: []*configv1.AccessGrant{
			{Pattern: "team-*:x", Permissions: []string{"*:write"}},
			{Pattern: "{nope}:*", Permissions: []string{"*:write"}},
			{Pattern: "{group}:*"},
			{Pattern: "a", Permissions: []string{"write"}},
			{Pattern: "a", Permissions: []string{"*:write"}, Room: "doc-{user_id}"},
			{Pattern: "a", Permissions: []string{"*:write"}, Group: "g-{org}"},
			{Pattern: "", Permissions: []string{"*:write"}},
			{Pattern: strings.Repeat("p", 129), Permissions: []string{"*:write"}},
		}},
	}
	_, err := Compile(cfg)
	if err == nil {
		t.Fatal("Compile accepted a bad config")
	}
	msg := err.Error()
	for _, want := range []string{
		`rooms.provision[0].room: "org-{org" has a "{" without a "}"`,
		`rooms.provision[1].default_accesses: "room:admin" is not a Liveblocks permission`,
		`rooms.provision[2].groups_accesses["team-{team}"]: "team-{team}": {team} is not a capture of the room pattern`,
		`rooms.provision[3].users_accesses["u"]: "*:write" is a second base scope`,
		`rooms.provision[4].users_accesses["u"]: item 0 is not a permission string`,
		`rooms.provision[5].groups_accesses[""]: an id is empty`,
		`rooms.provision[6].default_accesses: "storage:write" has no base scope`,
		`rooms.access_token.grants[0].pattern: "team-*:x" may contain "*" only once, as its last character`,
		`rooms.access_token.grants[1].pattern: "{nope}:*": {nope} is not a capture`,
		`rooms.access_token.grants[2].permissions: is empty`,
		`rooms.access_token.grants[3].permissions: "write" is not a Liveblocks permission`,
		`rooms.access_token.grants[4].room: "doc-{user_id}": {user_id} is a placeholder of the pattern`,
		`rooms.access_token.grants[5].group: "g-{org}": {org} is not a capture`,
		`rooms.access_token.grants[6].pattern: is required`,
		`rooms.access_token.grants[7].pattern: "ppppp`,
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("the error does not say\n  %s\nit says:\n%s", want, msg)
		}
	}
}

func TestCompile_EmptyPolicyIsAnError(t *testing.T) {
	_, err := Compile(&configv1.Rooms{AccessToken: &configv1.AccessTokenPolicy{}})
	if err == nil || !strings.Contains(err.Error(), "rooms.access_token.grants: lists no grant") {
		t.Fatalf("err = %v", err)
	}
	c, err := Compile(nil)
	if err != nil || c.Rules != nil || c.Policy != nil {
		t.Fatalf("Compile(nil) = %+v, %v", c, err)
	}
}

func TestPolicy_Permissions(t *testing.T) {
	c := mustCompile(t, &configv1.Rooms{AccessToken: &configv1.AccessTokenPolicy{Grants: []*configv1.AccessGrant{
		{Pattern: "user-{user_id}:*", Permissions: []string{"*:write"}},
		{Pattern: "{group}:*", Permissions: []string{"*:write"}},
		{Room: "public:{doc}", Pattern: "public:{doc}", Permissions: []string{"*:read", "room:presence:write"}},
		{Room: "org-{org}:*", Group: "org-{org}-admins", Pattern: "org-{org}:*", Permissions: []string{"*:write"}},
		{Room: "org-{org}:*", Pattern: "{room}", Permissions: []string{"*:read"}},
		// Comes after the {group} grant: the earlier one wins for "eng:*".
		{Pattern: "eng:*", Permissions: []string{"*:read"}},
	}}})
	p := c.Policy
	w, r := []liveblocks.Permission{liveblocks.Write}, []liveblocks.Permission{liveblocks.Read}
	cases := []struct {
		name string
		who  Who
		want map[string][]liveblocks.Permission
		err  string
	}{
		{"user and groups, no room", Who{UserID: "alice", GroupIDs: []string{"team", "eng"}},
			map[string][]liveblocks.Permission{"user-alice:*": w, "team:*": w, "eng:*": w}, ""},
		{"public room adds its own entry", Who{UserID: "bob", RoomID: "public:faq"},
			map[string][]liveblocks.Permission{"user-bob:*": w, "public:faq": {liveblocks.Read, liveblocks.RoomPresenceWrite}, "eng:*": r}, ""},
		{"group condition from the room's captures", Who{UserID: "carol", GroupIDs: []string{"org-acme-admins"}, RoomID: "org-acme:doc-1"},
			map[string][]liveblocks.Permission{"user-carol:*": w, "org-acme-admins:*": w, "org-acme:*": w, "org-acme:doc-1": r, "eng:*": r}, ""},
		{"group condition not met", Who{UserID: "dave", GroupIDs: []string{"org-other-admins"}, RoomID: "org-acme:doc-1"},
			map[string][]liveblocks.Permission{"user-dave:*": w, "org-other-admins:*": w, "org-acme:doc-1": r, "eng:*": r}, ""},
		{"a star in a value is never put into a pattern", Who{UserID: "*", GroupIDs: []string{"a*", "ok"}},
			map[string][]liveblocks.Permission{"ok:*": w, "eng:*": r}, ""},
		{"a star in the room id is never put into a pattern", Who{UserID: "eve", RoomID: "org-acme:*"},
			map[string][]liveblocks.Permission{"user-eve:*": w, "eng:*": r}, ""},
		{"more than ten patterns", Who{UserID: "frank", GroupIDs: []string{"g1", "g2", "g3", "g4", "g5", "g6", "g7", "g8", "g9", "g10"}},
			nil, "more than 10 room patterns"},
		{"a pattern over 128 characters is left out", Who{UserID: strings.Repeat("u", 128)},
			map[string][]liveblocks.Permission{"eng:*": r}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := p.Permissions(tc.who)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got  %v\nwant %v", got, tc.want)
			}
			for pat, perms := range got {
				if liveblocks.ValidatePattern(pat) != nil || liveblocks.ValidatePermissions(perms) != nil {
					t.Fatalf("invalid entry %q: %v", pat, perms)
				}
			}
		})
	}
}

func TestPolicy_NothingGrantedIsRefused(t *testing.T) {
	c := mustCompile(t, &configv1.Rooms{AccessToken: &configv1.AccessTokenPolicy{Grants: []*configv1.AccessGrant{
		{Pattern: "{group}:*", Permissions: []string{"*:write"}},
		{Room: "doc-{id}", Pattern: "{room}", Permissions: []string{"*:write"}},
	}}})
	_, err := c.Policy.Permissions(Who{UserID: "nogroups", RoomID: "lobby"})
	var rerr *RefusedError
	if err == nil || !asRefused(err, &rerr) || !strings.Contains(rerr.Reason, `grants this user no room (requested room "lobby")`) {
		t.Fatalf("err = %v", err)
	}
}

func asRefused(err error, target **RefusedError) bool {
	r, ok := err.(*RefusedError)
	*target = r
	return ok
}
