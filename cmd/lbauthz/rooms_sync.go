package main

import (
	"context"
	"fmt"

	"github.com/lbauthz/lbauthz/authz/config"
	"github.com/lbauthz/lbauthz/authz/rooms/accesssync"
	"github.com/lbauthz/lbauthz/liveblocks"
)

// sync runs "lbauthz rooms sync (--all | ROOM_ID) --config FILE": it brings
// rooms' accesses in step with the access sources of the config's
// provisioning rules, writing only what differs.
func (c *roomsCmd) sync(args []string) int {
	fs := c.flags()
	all := fs.Bool("all", false, "sync every room (of --organization, if given)")
	want := 1
	for _, a := range args {
		if a == "--all" || a == "-all" || a == "--all=true" {
			want = 0
		}
	}
	pos, code := c.parse(args, want)
	if code >= 0 {
		return code
	}
	if c.configPath == "" {
		c.fail("needs --config FILE: the access sources are in its rooms.provision rules")
		return exitUsage
	}
	if !*all && !checkRoomID(c, pos[0]) {
		return exitUsage
	}
	cfg, err := config.Load(c.configPath)
	if err != nil {
		c.fail("%v", err)
		return exitError
	}
	return c.call(func(ctx context.Context, lb *liveblocks.Client) int {
		syncer, err := accesssync.FromConfig(cfg.GetRooms().GetProvision(), lb, 0)
		if err != nil {
			c.fail("%v", err)
			return exitError
		}
		if syncer == nil {
			c.fail("no rule of rooms.provision in %s has an access_source", c.configPath)
			return exitUsage
		}
		defer syncer.Close()
		failed := 0
		report := func(r accesssync.Result, err error) {
			if err != nil {
				failed++
				c.fail("room %q: %v", r.RoomID, err)
				return
			}
			fmt.Fprintf(c.stdout, "%s\t%s\n", r.RoomID, r.Outcome)
		}
		if *all {
			if err := syncer.SyncAll(ctx, liveblocks.ListRoomsRequest{Limit: liveblocks.MaxListLimit, OrganizationID: c.org}, report); err != nil {
				return c.apiError("", err)
			}
		} else {
			r, err := syncer.Sync(ctx, pos[0], c.org)
			if err != nil {
				return c.apiError(pos[0], err)
			}
			report(r, nil)
		}
		if failed > 0 {
			return exitUpstream
		}
		return exitOK
	})
}
