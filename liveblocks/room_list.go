package liveblocks

import (
	"context"
	"fmt"
	"iter"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// MaxListLimit is the largest page ListRooms may ask for.
const MaxListLimit = 100

// ListRoomsRequest selects a page of rooms. Zero fields are not sent.
type ListRoomsRequest struct {
	// Limit is the page size, 1 to 100; 0 means Liveblocks' default (20).
	Limit int
	// StartingAfter is the cursor of the page to return: the NextCursor of
	// the previous page. Empty means the first page.
	StartingAfter string
	// UserID keeps the rooms that have an entry for this user in
	// usersAccesses.
	UserID string
	// GroupIDs keeps the rooms that have an entry for any of these groups in
	// groupsAccesses.
	GroupIDs []string
	// OrganizationID keeps the rooms of this organization.
	OrganizationID string
	// Query filters in Liveblocks' query language, for example
	// `roomId^"team-42:" AND metadata["color"]:"blue"`.
	Query string
}

// RoomPage is one page of rooms.
type RoomPage struct {
	// Rooms are sorted by creation date, newest first.
	Rooms []Room
	// NextCursor is the StartingAfter of the next page; empty on the last.
	NextCursor string
}

func (req *ListRoomsRequest) query() string {
	q := url.Values{}
	if req.Limit != 0 {
		q.Set("limit", strconv.Itoa(req.Limit))
	}
	if req.StartingAfter != "" {
		q.Set("startingAfter", req.StartingAfter)
	}
	if req.UserID != "" {
		q.Set("userId", req.UserID)
	}
	if len(req.GroupIDs) > 0 {
		q.Set("groupIds", strings.Join(req.GroupIDs, ","))
	}
	if req.OrganizationID != "" {
		q.Set("organizationId", req.OrganizationID)
	}
	if req.Query != "" {
		q.Set("query", req.Query)
	}
	return q.Encode()
}

// roomPageJSON is the answer of GET /v2/rooms. Older versions of the API
// give the next page as a URL (nextPage) rather than a cursor.
type roomPageJSON struct {
	Data       []Room  `json:"data"`
	NextCursor *string `json:"nextCursor"`
	NextPage   *string `json:"nextPage"`
}

func (p *roomPageJSON) cursor() string {
	if p.NextCursor != nil && *p.NextCursor != "" {
		return *p.NextCursor
	}
	if p.NextPage != nil && *p.NextPage != "" {
		if u, err := url.Parse(*p.NextPage); err == nil {
			return u.Query().Get("startingAfter")
		}
	}
	return ""
}

// ListRooms returns one page of rooms (GET /v2/rooms). Follow NextCursor
// for the rest, or use [Client.AllRooms].
//
// The Liveblocks dev server (liveblocks 1.9.0) returns every room in one
// page: it ignores Limit, StartingAfter, UserID and GroupIDs, and checks the
// syntax of Query without applying it. Only OrganizationID filters there.
func (c *Client) ListRooms(ctx context.Context, req ListRoomsRequest) (*RoomPage, error) {
	if req.Limit < 0 || req.Limit > MaxListLimit {
		return nil, &ValidationError{Field: "limit", Value: strconv.Itoa(req.Limit), Reason: "must be between 1 and 100 (or 0 for the default)"}
	}
	var page roomPageJSON
	if err := c.call(ctx, http.MethodGet, "/v2/rooms", req.query(), nil, &page, maxListResponseBytes); err != nil {
		return nil, err
	}
	rooms := page.Data
	if rooms == nil {
		rooms = []Room{}
	}
	return &RoomPage{Rooms: rooms, NextCursor: page.cursor()}, nil
}

// AllRooms iterates over every room req selects, fetching pages of
// req.Limit rooms (Liveblocks' default when 0) as it goes, starting after
// req.StartingAfter. The first error ends the iteration and is yielded with
// a zero Room.
func (c *Client) AllRooms(ctx context.Context, req ListRoomsRequest) iter.Seq2[Room, error] {
	return func(yield func(Room, error) bool) {
		seen := map[string]bool{}
		for {
			page, err := c.ListRooms(ctx, req)
			if err != nil {
				yield(Room{}, err)
				return
			}
			for _, r := range page.Rooms {
				if !yield(r, nil) {
					return
				}
			}
			if page.NextCursor == "" {
				return
			}
			// A cursor seen before would loop forever.
			if seen[page.NextCursor] {
				yield(Room{}, fmt.Errorf("liveblocks: GET /v2/rooms: page cursor %q came back a second time; stopping", page.NextCursor))
				return
			}
			seen[page.NextCursor] = true
			req.StartingAfter = page.NextCursor
		}
	}
}
