package main

import (
	"bytes"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/lbauthz/lbauthz/internal/authztest"
	"github.com/lbauthz/lbauthz/internal/testenv"
)

// lbRooms runs "lbauthz rooms ARGS..." in-process.
func lbRooms(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(append([]string{"rooms"}, args...), &out, &errb)
	return code, out.String(), errb.String()
}

// roomJSON is what --json prints of a room.
type roomJSON struct {
	Type            string              `json:"type"`
	ID              string              `json:"id"`
	DefaultAccesses []string            `json:"defaultAccesses"`
	GroupsAccesses  map[string][]string `json:"groupsAccesses"`
	UsersAccesses   map[string][]string `json:"usersAccesses"`
	Metadata        map[string]any      `json:"metadata"`
}

func getRoom(t *testing.T, id string) roomJSON {
	t.Helper()
	code, out, errs := lbRooms(t, "get", id, "--json")
	if code != exitOK {
		t.Fatalf("get %s: exit %d: %s", id, code, errs)
	}
	var r roomJSON
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("get --json printed no room: %v\n%s", err, out)
	}
	return r
}

func useDevServer(t *testing.T) *authztest.Counter {
	t.Helper()
	_, counter := authztest.DevServer(t)
	t.Setenv("LIVEBLOCKS_SECRET_KEY", testenv.DevSecretKey)
	t.Setenv("LIVEBLOCKS_BASE_URL", counter.URL)
	return counter
}

func TestRooms_CreateGetUpdateListDeleteRoundTrip(t *testing.T) {
	useDevServer(t)

	// The example of the Liveblocks docs, one to one.
	code, out, errs := lbRooms(t, "create", "my-room-id",
		"--default", "room:read,room:presence:write",
		"--group", "my-group-id=room:write", "--user", "my-user-id=room:write",
		"--metadata", "color=blue")
	if code != exitOK {
		t.Fatalf("create: exit %d: %s", code, errs)
	}
	for _, want := range []string{"my-room-id", "room:read,room:presence:write", "my-group-id", "my-user-id", `"blue"`} {
		if !strings.Contains(out, want) {
			t.Fatalf("create printed no %q:\n%s", want, out)
		}
	}
	r := getRoom(t, "my-room-id")
	want := roomJSON{
		Type: "room", ID: "my-room-id",
		DefaultAccesses: []string{"room:read", "room:presence:write"},
		GroupsAccesses:  map[string][]string{"my-group-id": {"room:write"}},
		UsersAccesses:   map[string][]string{"my-user-id": {"room:write"}},
		Metadata:        map[string]any{"color": "blue"},
	}
	if !reflect.DeepEqual(r, want) {
		t.Fatalf("get:\n got %+v\nwant %+v", r, want)
	}

	if code, _, errs := lbRooms(t, "create", "my-room-id"); code != exitConflict || !strings.Contains(errs, `room "my-room-id" already exists`) {
		t.Fatalf("second create: exit %d: %s", code, errs)
	}

	// Add and remove entries; flags may come before the room id.
	code, _, errs = lbRooms(t, "update", "--remove-group", "my-group-id", "my-room-id",
		"--group", "readers=*:read", "--user", "bob=*:read", "--remove-user", "my-user-id", "--default", "none")
	if code != exitOK {
		t.Fatalf("update: exit %d: %s", code, errs)
	}
	r = getRoom(t, "my-room-id")
	if len(r.DefaultAccesses) != 0 ||
		!reflect.DeepEqual(r.GroupsAccesses, map[string][]string{"readers": {"*:read"}}) ||
		!reflect.DeepEqual(r.UsersAccesses, map[string][]string{"bob": {"*:read"}}) {
		t.Fatalf("after update: %+v", r)
	}

	if code, _, _ := lbRooms(t, "create", "other-room", "--group", "team=*:write"); code != exitOK {
		t.Fatal("create other-room")
	}
	code, out, errs = lbRooms(t, "list")
	if code != exitOK || !strings.Contains(out, "ROOM") || !strings.Contains(out, "my-room-id") || !strings.Contains(out, "other-room") {
		t.Fatalf("list: exit %d: %s%s", code, out, errs)
	}
	code, out, _ = lbRooms(t, "list", "--json")
	var rooms []roomJSON
	if code != exitOK || json.Unmarshal([]byte(out), &rooms) != nil || len(rooms) != 2 {
		t.Fatalf("list --json: exit %d: %s", code, out)
	}
	code, out, _ = lbRooms(t, "list", "--json", "--limit", "1")
	if code != exitOK || json.Unmarshal([]byte(out), &rooms) != nil || len(rooms) != 1 {
		t.Fatalf("list --limit 1: exit %d: %s", code, out)
	}

	if code, out, errs := lbRooms(t, "delete", "my-room-id"); code != exitOK || !strings.Contains(out, "deleted") {
		t.Fatalf("delete: exit %d: %s%s", code, out, errs)
	}
	if code, _, errs := lbRooms(t, "get", "my-room-id"); code != exitNotFound || !strings.Contains(errs, `room "my-room-id" not found`) {
		t.Fatalf("get after delete: exit %d: %s", code, errs)
	}
	if code, _, _ := lbRooms(t, "delete", "my-room-id"); code != exitNotFound {
		t.Fatalf("delete of a missing room: exit %d, want %d", code, exitNotFound)
	}
	if code, _, _ := lbRooms(t, "update", "my-room-id", "--user", "u=*:read"); code != exitNotFound {
		t.Fatalf("update of a missing room: exit %d, want %d", code, exitNotFound)
	}
}

func TestRooms_InvalidInputIsRefusedBeforeLiveblocks(t *testing.T) {
	counter := useDevServer(t)
	long := strings.Repeat("x", 129)
	for _, tc := range []struct {
		args []string
		says string
	}{
		{[]string{"create", long}, `invalid room id "` + long + `": is 129 characters long`},
		{[]string{"create", ".."}, `invalid room id ".."`},
		{[]string{"create", ""}, `invalid room id "": is empty`},
		{[]string{"create", "r", "--default", "room:admin"}, `"room:admin" is not a Liveblocks permission`},
		{[]string{"create", "r", "--default", "room:read,room:write"}, `"room:write" is a second base scope`},
		{[]string{"create", "r", "--group", "g=*:read,storage:write,storage:read"}, `"storage:read" is a second storage scope`},
		{[]string{"create", "r", "--group", "g"}, "want group-id=PERMS"},
		{[]string{"create", "r", "--user", "=*:read"}, "the user id before \"=\" is empty"},
		{[]string{"create", "r", "--user", "u=*:read", "--user", "u=*:write"}, `user "u" given twice`},
		{[]string{"create", "r", "--metadata", "novalue"}, "want KEY=VALUE"},
		{[]string{"create"}, "give exactly one room id (got 0 arguments)"},
		{[]string{"create", "a", "b"}, "give exactly one room id (got 2 arguments)"},
		{[]string{"update", "r"}, "nothing to update"},
		{[]string{"update", "r", "--user", "u=*:read", "--remove-user", "u"}, `user "u" is both set`},
		{[]string{"update", "r", "--default", "*:read", "--default", "*:write"}, "given twice"},
		{[]string{"get", "r", "--frob"}, "flag provided but not defined: -frob"},
		{[]string{"list", "extra"}, "takes no arguments"},
		{[]string{"list", "--limit", "-1"}, "--limit -1"},
		{[]string{"get", "r", "--timeout", "0s"}, "--timeout 0s: must be greater than zero"},
		{[]string{"frob"}, `unknown command "frob"`},
		{nil, "Usage:"},
	} {
		code, _, errs := lbRooms(t, tc.args...)
		if code != exitUsage || !strings.Contains(errs, tc.says) {
			t.Errorf("rooms %q: exit %d, stderr %q; want exit %d saying %q", tc.args, code, errs, exitUsage, tc.says)
		}
	}
	if n := counter.Calls(); n != 0 {
		t.Fatalf("invalid input made %d calls to Liveblocks", n)
	}
}

func TestRooms_ReadsTheLiveblocksSectionOfAConfigFile(t *testing.T) {
	_, counter := authztest.DevServer(t)
	t.Setenv("LIVEBLOCKS_SECRET_KEY", "")
	t.Setenv("LIVEBLOCKS_BASE_URL", "")
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "liveblocks-key")
	hmacFile := filepath.Join(dir, "hmac")
	if err := os.WriteFile(keyFile, []byte(testenv.DevSecretKey+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(hmacFile, []byte(authztest.HMACSecret), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "lbauthz.yaml")
	if err := os.WriteFile(cfg, []byte(`
liveblocks:
  base_url: "`+counter.URL+`"
  secret_key_file: "`+keyFile+`"
session:
  cookie: session
  jwt: { hmac_secret_file: "`+hmacFile+`", algorithms: [HS256] }
`), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, errs := lbRooms(t, "create", "from-config", "--config", cfg, "--user", "u=*:write"); code != exitOK {
		t.Fatalf("create --config: exit %d: %s", code, errs)
	}
	if counter.Calls() != 1 {
		t.Fatalf("calls through the configured base URL: %d", counter.Calls())
	}
	if code, _, errs := lbRooms(t, "get", "from-config"); code != exitError || !strings.Contains(errs, "LIVEBLOCKS_SECRET_KEY") {
		t.Fatalf("without --config or key: exit %d: %s", code, errs)
	}
	if code, _, errs := lbRooms(t, "get", "x", "--config", filepath.Join(dir, "missing.yaml")); code != exitError || !strings.Contains(errs, "missing.yaml") {
		t.Fatalf("missing config file: exit %d: %s", code, errs)
	}
}

func TestRooms_LiveblocksRefusalsAndOutagesExit5(t *testing.T) {
	_, counter := authztest.DevServer(t)
	// The real dev server refuses any key but sk_localdev.
	t.Setenv("LIVEBLOCKS_SECRET_KEY", "sk_not_the_dev_key")
	t.Setenv("LIVEBLOCKS_BASE_URL", counter.URL)
	code, _, errs := lbRooms(t, "get", "r1")
	if code != exitUpstream || !strings.Contains(errs, "403") {
		t.Fatalf("wrong key: exit %d: %s", code, errs)
	}
	if strings.Contains(errs, "sk_not_the_dev_key") {
		t.Fatal("the secret key is in the error")
	}

	// A closed port: the dev server cannot be made unreachable while in use.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + l.Addr().String()
	l.Close()
	t.Setenv("LIVEBLOCKS_SECRET_KEY", testenv.DevSecretKey)
	t.Setenv("LIVEBLOCKS_BASE_URL", closed)
	if code, _, errs := lbRooms(t, "list"); code != exitUpstream || !strings.Contains(errs, "connection refused") {
		t.Fatalf("unreachable: exit %d: %s", code, errs)
	}
}
