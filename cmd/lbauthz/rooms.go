package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/lbauthz/lbauthz/authz/config"
	"github.com/lbauthz/lbauthz/liveblocks"
)

const roomsUsage = `lbauthz rooms: create, inspect and change Liveblocks rooms and their permissions.

Usage:
  lbauthz rooms create ROOM_ID [--default PERMS] [--group ID=PERMS]... [--user ID=PERMS]...
                               [--metadata KEY=VALUE]... [--organization ID]
  lbauthz rooms get    ROOM_ID
  lbauthz rooms update ROOM_ID [--default PERMS] [--group ID=PERMS]... [--remove-group ID]...
                               [--user ID=PERMS]... [--remove-user ID]...
                               [--metadata KEY=VALUE]... [--remove-metadata KEY]...
  lbauthz rooms delete ROOM_ID
  lbauthz rooms list   [--user ID] [--group ID]... [--query QUERY] [--limit N]
                       [--organization ID]
  lbauthz rooms sync   (ROOM_ID | --all) --config FILE [--organization ID]

PERMS is a comma-separated permission set, for example "room:read,room:presence:write"
or "*:write"; "none" (or "") means no access. A room created without --default
gives no access by default.

sync brings rooms' accesses in step with the access_source of the config's
rooms.provision rules (the app's sharing tables or endpoint), writing only
what differs; it prints each room with what it did (updated, in_step,
created, unknown, no_source). A room it creates goes in --organization.

Every command takes:
  --config FILE   read the Liveblocks base URL and secret key from a config file
                  (its liveblocks section); without it, LIVEBLOCKS_SECRET_KEY and
                  LIVEBLOCKS_BASE_URL (default https://api.liveblocks.io) are used
  --json          print the room (or the list of rooms) as Liveblocks' JSON
  --timeout D     how long to wait for Liveblocks (default 30s)
  --organization ID
                  the Liveblocks organization: create puts the room in it, list
                  shows only its rooms, get, update and delete act only on a room
                  of it (exit 3 for a room of another organization). Without it,
                  create uses the project's default organization and the others
                  act on any room

Example:
  lbauthz rooms create my-room-id --default room:read,room:presence:write \
      --group my-group-id=room:write --user my-user-id=room:write

Exit codes: 0 ok; 1 error (config file, secret key); 2 invalid input or usage
(nothing is sent to Liveblocks, or Liveblocks answered 400/422); 3 room not found;
4 room already exists; 5 Liveblocks refused (401, 403, 429, ...) or could not be
reached.
`

// cmdRooms runs "lbauthz rooms SUBCOMMAND ...".
func cmdRooms(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, roomsUsage)
		return exitUsage
	}
	sub, rest := args[0], args[1:]
	var cmd func(*roomsCmd, []string) int
	switch sub {
	case "create":
		cmd = (*roomsCmd).create
	case "get":
		cmd = (*roomsCmd).get
	case "update":
		cmd = (*roomsCmd).update
	case "delete":
		cmd = (*roomsCmd).delete
	case "list":
		cmd = (*roomsCmd).list
	case "sync":
		cmd = (*roomsCmd).sync
	case "help", "-h", "--help":
		fmt.Fprint(stdout, roomsUsage)
		return exitOK
	default:
		fmt.Fprintf(stderr, "lbauthz rooms: unknown command %q\n\n%s", sub, roomsUsage)
		return exitUsage
	}
	c := &roomsCmd{name: "lbauthz rooms " + sub, stdout: stdout, stderr: stderr}
	return cmd(c, rest)
}

// roomsCmd is one run of a rooms subcommand: its name, its output and its
// common flags.
type roomsCmd struct {
	name           string
	stdout, stderr io.Writer

	fs         *flag.FlagSet
	configPath string
	asJSON     bool
	timeout    time.Duration
	org        string
}

// flags returns the subcommand's flag set with the common flags.
func (c *roomsCmd) flags() *flag.FlagSet {
	c.fs = flag.NewFlagSet(c.name, flag.ContinueOnError)
	// parse reports errors itself, prefixed with the command, and without
	// the whole usage after them, which would bury them.
	c.fs.SetOutput(io.Discard)
	c.fs.StringVar(&c.configPath, "config", "", "config file whose liveblocks section to use")
	c.fs.BoolVar(&c.asJSON, "json", false, "print JSON")
	c.fs.DurationVar(&c.timeout, "timeout", 30*time.Second, "how long to wait for Liveblocks")
	c.fs.StringVar(&c.org, "organization", "", "the Liveblocks organization of the room(s)")
	return c.fs
}

// parse parses flags and positional arguments in any order (the room id
// usually comes first) and checks the number of positional arguments. The
// code is -1 when the command goes on, else the exit code.
func (c *roomsCmd) parse(args []string, positional int) ([]string, int) {
	var pos []string
	for {
		if err := c.fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				fmt.Fprint(c.stdout, roomsUsage)
				return nil, exitOK
			}
			c.fail("%v", err)
			return nil, exitUsage
		}
		args = c.fs.Args()
		if len(args) == 0 {
			break
		}
		if args[0] == "--" {
			pos = append(pos, args[1:]...)
			break
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
	if c.timeout <= 0 {
		c.fail("--timeout %s: must be greater than zero", c.timeout)
		return nil, exitUsage
	}
	if len(pos) != positional {
		if positional == 1 {
			c.fail("give exactly one room id (got %d arguments)", len(pos))
		} else {
			c.fail("takes no arguments, got %q", pos)
		}
		return nil, exitUsage
	}
	return pos, -1
}

func (c *roomsCmd) fail(format string, args ...any) {
	fmt.Fprintf(c.stderr, "%s: %s\n", c.name, fmt.Sprintf(format, args...))
}

// client builds the Liveblocks client from --config or the environment.
// The code is -1 on success, else the exit code.
func (c *roomsCmd) client() (*liveblocks.Client, int) {
	var baseURL, key string
	if c.configPath != "" {
		cfg, err := config.Load(c.configPath)
		if err != nil {
			c.fail("%v", err)
			return nil, exitError
		}
		sec, err := config.ReadSecrets(cfg, os.Getenv)
		if err != nil {
			c.fail("%v", err)
			return nil, exitError
		}
		baseURL, key = cfg.GetLiveblocks().GetBaseUrl(), sec.LiveblocksSecretKey
	} else {
		baseURL = os.Getenv("LIVEBLOCKS_BASE_URL")
		key = strings.TrimSpace(os.Getenv("LIVEBLOCKS_SECRET_KEY"))
		if key == "" {
			c.fail("no Liveblocks secret key: set LIVEBLOCKS_SECRET_KEY or give --config FILE")
			return nil, exitError
		}
	}
	lb, err := liveblocks.New(liveblocks.Options{BaseURL: baseURL, SecretKey: key, UserAgent: "lbauthz/" + version})
	if err != nil {
		var verr *liveblocks.ValidationError
		if errors.As(err, &verr) && verr.Field == "SecretKey" {
			// The error never holds the key; say where it came from.
			c.fail("the Liveblocks secret key is not valid: %s", verr.Reason)
			return nil, exitError
		}
		c.fail("%v", err)
		return nil, exitError
	}
	return lb, -1
}

func (c *roomsCmd) context() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), c.timeout)
}

// apiError reports a failed call and returns the exit code for it.
func (c *roomsCmd) apiError(roomID string, err error) int {
	var verr *liveblocks.ValidationError
	var lerr *liveblocks.Error
	switch {
	case errors.As(err, &verr):
		c.fail("%s", strings.TrimPrefix(verr.Error(), "liveblocks: "))
		return exitUsage
	case errors.Is(err, liveblocks.ErrNotFound):
		c.fail("room %q not found", roomID)
		return exitNotFound
	case errors.Is(err, liveblocks.ErrConflict):
		c.fail("room %q already exists", roomID)
		return exitConflict
	case errors.As(err, &lerr) && (lerr.Status == http.StatusBadRequest || lerr.Status == http.StatusUnprocessableEntity):
		c.fail("%v", err)
		return exitUsage
	}
	c.fail("%v", err)
	return exitUpstream
}

// roomArg parses the flags and the one argument, a room id, which it
// checks; a code of 0 or more means the command ends with it.
func (c *roomsCmd) roomArg(args []string) (string, int) {
	pos, code := c.parse(args, 1)
	if code >= 0 {
		return "", code
	}
	if !checkRoomID(c, pos[0]) {
		return "", exitUsage
	}
	return pos[0], -1
}

// call runs fn with a Liveblocks client and the command's deadline.
func (c *roomsCmd) call(fn func(ctx context.Context, lb *liveblocks.Client) int) int {
	lb, code := c.client()
	if code >= 0 {
		return code
	}
	ctx, cancel := c.context()
	defer cancel()
	return fn(ctx, lb)
}

// roomOfOrganization gets the room id and, with --organization, checks that
// it belongs to that organization: a room of another one is reported as not
// found there, so that a script scoped to one customer never changes
// another's room. A code of 0 or more means the command ends with it.
func (c *roomsCmd) roomOfOrganization(ctx context.Context, lb *liveblocks.Client, id string) (*liveblocks.Room, int) {
	room, err := lb.GetRoom(ctx, id)
	if err != nil {
		return nil, c.apiError(id, err)
	}
	if c.org != "" && room.Organization() != c.org {
		c.fail("room %q is not in organization %q (it is in %q)", id, c.org, room.Organization())
		return nil, exitNotFound
	}
	return room, -1
}

func checkRoomID(c *roomsCmd, id string) bool {
	if err := liveblocks.ValidateRoomID(id); err != nil {
		var verr *liveblocks.ValidationError
		if errors.As(err, &verr) {
			c.fail("invalid room id %q: %s", id, verr.Reason)
		} else {
			c.fail("invalid room id %q", id)
		}
		return false
	}
	return true
}

func (c *roomsCmd) create(args []string) int {
	fs := c.flags()
	var def permsFlag
	groups, users := accessFlag{kind: "group"}, accessFlag{kind: "user"}
	meta := metadataFlag{}
	fs.Var(&def, "default", "default accesses (PERMS)")
	fs.Var(&groups, "group", "a group's accesses: ID=PERMS (repeatable)")
	fs.Var(&users, "user", "a user's accesses: ID=PERMS (repeatable)")
	fs.Var(&meta, "metadata", "a metadata entry: KEY=VALUE (repeatable)")
	id, code := c.roomArg(args)
	if code >= 0 {
		return code
	}
	return c.call(func(ctx context.Context, lb *liveblocks.Client) int {
		room, err := lb.CreateRoom(ctx, liveblocks.CreateRoomRequest{
			ID: id, DefaultAccesses: def.perms,
			GroupsAccesses: groups.m, UsersAccesses: users.m, Metadata: meta.anyMap(),
			OrganizationID: c.org,
		})
		if err != nil {
			return c.apiError(id, err)
		}
		return c.printRoom(room)
	})
}

func (c *roomsCmd) get(args []string) int {
	c.flags()
	id, code := c.roomArg(args)
	if code >= 0 {
		return code
	}
	return c.call(func(ctx context.Context, lb *liveblocks.Client) int {
		room, code := c.roomOfOrganization(ctx, lb, id)
		if code >= 0 {
			return code
		}
		return c.printRoom(room)
	})
}

func (c *roomsCmd) update(args []string) int {
	fs := c.flags()
	var def permsFlag
	groups, users := accessFlag{kind: "group"}, accessFlag{kind: "user"}
	var removeGroups, removeUsers, removeMeta listFlag
	meta := metadataFlag{}
	fs.Var(&def, "default", "replace the default accesses (PERMS)")
	fs.Var(&groups, "group", "set a group's accesses: ID=PERMS (repeatable)")
	fs.Var(&removeGroups, "remove-group", "remove a group's entry (repeatable)")
	fs.Var(&users, "user", "set a user's accesses: ID=PERMS (repeatable)")
	fs.Var(&removeUsers, "remove-user", "remove a user's entry (repeatable)")
	fs.Var(&meta, "metadata", "set a metadata entry: KEY=VALUE (repeatable)")
	fs.Var(&removeMeta, "remove-metadata", "remove a metadata entry (repeatable)")
	id, code := c.roomArg(args)
	if code >= 0 {
		return code
	}
	req := liveblocks.UpdateRoomRequest{
		GroupsAccesses: groups.m, RemoveGroups: removeGroups,
		UsersAccesses: users.m, RemoveUsers: removeUsers,
		Metadata: meta.anyMap(), RemoveMetadata: removeMeta,
	}
	if def.set {
		req.DefaultAccesses = def.perms
	}
	if req.IsZero() {
		c.fail("nothing to update: give --default, --group, --remove-group, --user, --remove-user, --metadata or --remove-metadata")
		return exitUsage
	}
	for _, g := range removeGroups {
		if _, ok := groups.m[g]; ok {
			c.fail("group %q is both set (--group) and removed (--remove-group)", g)
			return exitUsage
		}
	}
	for _, u := range removeUsers {
		if _, ok := users.m[u]; ok {
			c.fail("user %q is both set (--user) and removed (--remove-user)", u)
			return exitUsage
		}
	}
	return c.call(func(ctx context.Context, lb *liveblocks.Client) int {
		if c.org != "" {
			if _, code := c.roomOfOrganization(ctx, lb, id); code >= 0 {
				return code
			}
		}
		room, err := lb.UpdateRoom(ctx, id, req)
		if err != nil {
			return c.apiError(id, err)
		}
		return c.printRoom(room)
	})
}

func (c *roomsCmd) delete(args []string) int {
	c.flags()
	id, code := c.roomArg(args)
	if code >= 0 {
		return code
	}
	return c.call(func(ctx context.Context, lb *liveblocks.Client) int {
		// Liveblocks may answer a DELETE of a missing room with 204 (the dev
		// server does): look first, so that a script learns of a wrong id.
		if _, code := c.roomOfOrganization(ctx, lb, id); code >= 0 {
			return code
		}
		if err := lb.DeleteRoom(ctx, id); err != nil {
			return c.apiError(id, err)
		}
		return c.printDeleted(id)
	})
}

func (c *roomsCmd) list(args []string) int {
	fs := c.flags()
	var groups listFlag
	userID := fs.String("user", "", "only rooms with an entry for this user")
	fs.Var(&groups, "group", "only rooms with an entry for this group (repeatable)")
	query := fs.String("query", "", `a Liveblocks query, e.g. roomId^"org-acme:"`)
	limit := fs.Int("limit", 0, "print at most N rooms (0: all)")
	if _, code := c.parse(args, 0); code >= 0 {
		return code
	}
	if *limit < 0 {
		c.fail("--limit %d: must be 0 (all) or more", *limit)
		return exitUsage
	}
	req := liveblocks.ListRoomsRequest{Limit: liveblocks.MaxListLimit, UserID: *userID, GroupIDs: groups, Query: *query, OrganizationID: c.org}
	return c.call(func(ctx context.Context, lb *liveblocks.Client) int {
		rooms := []liveblocks.Room{} // [] in JSON when there is none
		for room, err := range lb.AllRooms(ctx, req) {
			if err != nil {
				return c.apiError("", err)
			}
			rooms = append(rooms, room)
			if *limit > 0 && len(rooms) == *limit {
				break
			}
		}
		if c.asJSON {
			return c.printJSON(rooms)
		}
		return c.printRoomList(rooms)
	})
}
