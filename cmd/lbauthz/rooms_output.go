package main

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/lbauthz/lbauthz/liveblocks"
)

func (c *roomsCmd) printJSON(v any) int {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		c.fail("encoding JSON: %v", err)
		return exitError
	}
	fmt.Fprintf(c.stdout, "%s\n", b)
	return exitOK
}

// printRoom prints one room: as the API's JSON with --json, else as a table
// of its accesses.
func (c *roomsCmd) printRoom(r *liveblocks.Room) int {
	if c.asJSON {
		return c.printJSON(r)
	}
	tw := tabwriter.NewWriter(c.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "room\t%s\n", r.ID)
	if r.OrganizationID != "" {
		fmt.Fprintf(tw, "organization\t%s\n", r.OrganizationID)
	}
	if !r.CreatedAt.IsZero() {
		fmt.Fprintf(tw, "created\t%s\n", r.CreatedAt.UTC().Format(time.RFC3339))
	}
	if !r.LastConnectionAt.IsZero() {
		fmt.Fprintf(tw, "last connection\t%s\n", r.LastConnectionAt.UTC().Format(time.RFC3339))
	}
	fmt.Fprintf(tw, "default\t%s\n", showPerms(r.DefaultAccesses))
	for _, id := range slices.Sorted(maps.Keys(r.GroupsAccesses)) {
		fmt.Fprintf(tw, "group\t%s\t%s\n", id, showPerms(r.GroupsAccesses[id]))
	}
	for _, id := range slices.Sorted(maps.Keys(r.UsersAccesses)) {
		fmt.Fprintf(tw, "user\t%s\t%s\n", id, showPerms(r.UsersAccesses[id]))
	}
	for _, k := range slices.Sorted(maps.Keys(r.Metadata)) {
		fmt.Fprintf(tw, "metadata\t%s\t%s\n", k, showMetadata(r.Metadata[k]))
	}
	if err := tw.Flush(); err != nil {
		return exitError
	}
	return exitOK
}

// printRoomList prints one line per room.
func (c *roomsCmd) printRoomList(rooms []liveblocks.Room) int {
	tw := tabwriter.NewWriter(c.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ROOM\tDEFAULT\tGROUPS\tUSERS\tCREATED")
	for _, r := range rooms {
		created := "-"
		if !r.CreatedAt.IsZero() {
			created = r.CreatedAt.UTC().Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%s\n", r.ID, showPerms(r.DefaultAccesses), len(r.GroupsAccesses), len(r.UsersAccesses), created)
	}
	if err := tw.Flush(); err != nil {
		return exitError
	}
	return exitOK
}

func showPerms(p []liveblocks.Permission) string {
	if len(p) == 0 {
		return "none"
	}
	s := make([]string, len(p))
	for i, x := range p {
		s[i] = string(x)
	}
	return strings.Join(s, ",")
}

func showMetadata(v any) string {
	switch v := v.(type) {
	case string:
		return strconv.Quote(v)
	case []string:
		q := make([]string, len(v))
		for i, s := range v {
			q[i] = strconv.Quote(s)
		}
		return "[" + strings.Join(q, ", ") + "]"
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// printDeleted says a room was deleted.
func (c *roomsCmd) printDeleted(id string) int {
	if c.asJSON {
		return c.printJSON(struct {
			ID      string `json:"id"`
			Deleted bool   `json:"deleted"`
		}{id, true})
	}
	fmt.Fprintf(c.stdout, "deleted room %q\n", id)
	return exitOK
}
