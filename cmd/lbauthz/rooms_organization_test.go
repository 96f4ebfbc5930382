package main

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestRooms_OrganizationScopesEverySubcommand(t *testing.T) {
	useDevServer(t)
	if code, out, errs := lbRooms(t, "create", "acme-doc", "--organization", "acme", "--user", "alice=*:write"); code != exitOK || !strings.Contains(out, "acme") {
		t.Fatalf("create --organization: exit %d: %s%s", code, out, errs)
	}
	if code, _, errs := lbRooms(t, "create", "plain-doc"); code != exitOK {
		t.Fatalf("create: exit %d: %s", code, errs)
	}

	var got struct {
		OrganizationID string `json:"organizationId"`
	}
	code, out, errs := lbRooms(t, "get", "acme-doc", "--organization", "acme", "--json")
	if code != exitOK || json.Unmarshal([]byte(out), &got) != nil || got.OrganizationID != "acme" {
		t.Fatalf("get --organization acme: exit %d, organization %q: %s%s", code, got.OrganizationID, out, errs)
	}

	listed := func(org string) []string {
		t.Helper()
		args := []string{"list", "--json"}
		if org != "" {
			args = append(args, "--organization", org)
		}
		code, out, errs := lbRooms(t, args...)
		var rooms []roomJSON
		if code != exitOK || json.Unmarshal([]byte(out), &rooms) != nil {
			t.Fatalf("list %q: exit %d: %s%s", args, code, out, errs)
		}
		var ids []string
		for _, r := range rooms {
			ids = append(ids, r.ID)
		}
		return ids
	}
	for _, tt := range []struct {
		org  string
		want string
	}{
		{"acme", "acme-doc"},
		{"default", "plain-doc"},
		{"nobody", ""},
	} {
		if ids := strings.Join(listed(tt.org), ","); ids != tt.want {
			t.Errorf("list --organization %s: %q, want %q", tt.org, ids, tt.want)
		}
	}
	if n := len(listed("")); n != 2 {
		t.Errorf("list without --organization: %d rooms, want both", n)
	}

	// A room of another organization is out of reach of a scoped command,
	// and is left as it was.
	for _, args := range [][]string{
		{"get", "acme-doc", "--organization", "globex"},
		{"update", "acme-doc", "--organization", "globex", "--user", "mallory=*:write"},
		{"delete", "acme-doc", "--organization", "globex"},
		{"delete", "plain-doc", "--organization", "acme"},
	} {
		code, _, errs := lbRooms(t, args...)
		if code != exitNotFound || !strings.Contains(errs, "is not in organization") {
			t.Errorf("rooms %q: exit %d, stderr %q; want exit %d, not in organization", args, code, errs, exitNotFound)
		}
	}
	if r := getRoom(t, "acme-doc"); len(r.UsersAccesses) != 1 {
		t.Errorf("a refused update changed the room: %+v", r)
	}
	getRoom(t, "plain-doc")

	if code, _, errs := lbRooms(t, "update", "acme-doc", "--organization", "acme", "--user", "bob=*:read"); code != exitOK {
		t.Fatalf("update in its organization: exit %d: %s", code, errs)
	}
	if code, _, errs := lbRooms(t, "delete", "acme-doc", "--organization", "acme"); code != exitOK {
		t.Fatalf("delete in its organization: exit %d: %s", code, errs)
	}
}
