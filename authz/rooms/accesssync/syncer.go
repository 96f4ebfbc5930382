package accesssync

import (
	"context"
	"errors"
	"time"

	"github.com/maypok86/otter/v2"
	"golang.org/x/sync/singleflight"

	"github.com/lbauthz/lbauthz/liveblocks"
)

// Outcome says what Sync did to a room.
type Outcome string

// Outcomes of Sync.
const (
	// NoSource: no access source covers the room; it was left alone.
	NoSource Outcome = "no_source"
	// Unknown: the source does not know the room; it was left alone.
	Unknown Outcome = "unknown"
	// InStep: the room already had the source's accesses; nothing written.
	InStep Outcome = "in_step"
	// Updated: the differences were written with one updateRoom call.
	Updated Outcome = "updated"
	// Created: the room did not exist and was created with the accesses.
	Created Outcome = "created"
)

// Result is what Sync did, with the update it sent (zero unless Updated).
type Result struct {
	RoomID  string
	Outcome Outcome
	Update  liveblocks.UpdateRoomRequest
	// Known says the source knows the room, and Accesses are what it
	// said. They are set as soon as the source answered, even when writing
	// to Liveblocks failed afterwards.
	Known    bool
	Accesses Accesses
	// Organization is the room's organization in Liveblocks, once read or
	// created (liveblocks.DefaultOrganization for the default one); "" when
	// the sync did not get that far.
	Organization string
}

// SourceInfo describes the access source of a room, for people.
type SourceInfo struct {
	// Rule is the index of the provisioning rule, and Room its pattern.
	Rule int
	Room string
	// Source names the source (Source.Describe).
	Source string
	// MaxAge is how long a synced copy of the room is taken as in step.
	MaxAge time.Duration
}

// DefaultMaxAge is how long a synced room is taken as in step when nothing
// else is configured.
const DefaultMaxAge = time.Minute

// Options configures a Syncer.
type Options struct {
	// SourceFor returns the access source of a room, or nil when none
	// covers it (the room is left alone). Required.
	SourceFor func(roomID string) Source
	// Liveblocks reads and writes the rooms. Required.
	Liveblocks *liveblocks.Client
	// MaxAge is how long a synced room is taken as in step by Fresh.
	// Default 1 minute.
	MaxAge time.Duration
	// MaxAgeFor, if not nil, gives a room's own MaxAge (0: MaxAge).
	MaxAgeFor func(roomID string) time.Duration
	// InfoFor, if not nil, describes a room's source (Syncer.Info).
	InfoFor func(roomID string) (SourceInfo, bool)
	// MaxRemembered bounds how many synced rooms Fresh remembers. Default
	// 100000.
	MaxRemembered int
	// Timeout bounds one sync shared by several callers of Fresh. Default 5s.
	Timeout time.Duration
}

// Syncer keeps rooms in step with their access sources. It is safe for
// concurrent use.
type Syncer struct {
	opts Options
	// synced holds the result of each room's last sync (in step, updated,
	// created or unknown), without its Update, until its MaxAge passes.
	synced *otter.Cache[string, Result]
	flight singleflight.Group
	close  func()
}

// New returns a Syncer.
func New(opts Options) (*Syncer, error) {
	if opts.SourceFor == nil || opts.Liveblocks == nil {
		return nil, errors.New("accesssync: SourceFor and Liveblocks are required")
	}
	if opts.MaxAge <= 0 {
		opts.MaxAge = DefaultMaxAge
	}
	if opts.MaxRemembered <= 0 {
		opts.MaxRemembered = 100_000
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 5 * time.Second
	}
	maxAge := func(e otter.Entry[string, Result]) time.Duration {
		if opts.MaxAgeFor != nil {
			if d := opts.MaxAgeFor(e.Key); d > 0 {
				return d
			}
		}
		return opts.MaxAge
	}
	return &Syncer{
		opts: opts,
		synced: otter.Must(&otter.Options[string, Result]{
			MaximumSize:      opts.MaxRemembered,
			ExpiryCalculator: otter.ExpiryWritingFunc(maxAge),
		}),
	}, nil
}

// Close closes the sources' connections (those FromConfig opened).
func (s *Syncer) Close() {
	if s.close != nil {
		s.close()
	}
}

// Info describes the access source of roomID; false when none covers it
// (or the Syncer was made without Options.InfoFor).
func (s *Syncer) Info(roomID string) (SourceInfo, bool) {
	if s.opts.InfoFor == nil || s.opts.SourceFor(roomID) == nil {
		return SourceInfo{}, false
	}
	return s.opts.InfoFor(roomID)
}

// Covers reports whether an access source covers roomID.
func (s *Syncer) Covers(roomID string) bool { return s.opts.SourceFor(roomID) != nil }

// Read asks roomID's source for its accesses without writing anything; ok
// is false when no source covers the room.
func (s *Syncer) Read(ctx context.Context, roomID string) (a Accesses, known, ok bool, err error) {
	src := s.opts.SourceFor(roomID)
	if src == nil {
		return Accesses{}, false, false, nil
	}
	a, known, err = src.Accesses(ctx, roomID)
	return a, known, true, err
}

// Sync brings roomID's accesses in Liveblocks in step with its source: it
// reads the room (GET /v2/rooms/{id}) and the source, and sends the
// differences in one updateRoom call, with null for each group or user
// entry to remove. A room that does not exist is created with the accesses,
// in organization org ("" is the default one).
func (s *Syncer) Sync(ctx context.Context, roomID, org string) (Result, error) {
	res := Result{RoomID: roomID, Outcome: NoSource}
	src := s.opts.SourceFor(roomID)
	if src == nil {
		return res, nil
	}
	want, known, err := src.Accesses(ctx, roomID)
	if err != nil {
		return res, err
	}
	if !known {
		res.Outcome = Unknown
		s.remember(res)
		return res, nil
	}
	res.Known, res.Accesses = true, want
	lb := s.opts.Liveblocks
	room, err := lb.GetRoom(ctx, roomID)
	if errors.Is(err, liveblocks.ErrNotFound) {
		if _, err := lb.CreateRoom(ctx, liveblocks.CreateRoomRequest{
			ID: roomID, DefaultAccesses: want.Default, GroupsAccesses: want.Groups, UsersAccesses: want.Users, OrganizationID: org,
		}); err != nil {
			return res, err
		}
		res.Outcome, res.Organization = Created, liveblocks.OrganizationName(org)
		s.remember(res)
		return res, nil
	}
	if err != nil {
		return res, err
	}
	res.Organization = room.Organization()
	res.Update = Diff(room, want)
	res.Outcome = InStep
	if !res.Update.IsZero() {
		if _, err := lb.UpdateRoom(ctx, roomID, res.Update); err != nil {
			return res, err
		}
		res.Outcome = Updated
	}
	s.remember(res)
	return res, nil
}

// remember keeps the result of a sync until its room's MaxAge passes,
// without its Update: what was sent is of that sync alone.
func (s *Syncer) remember(res Result) {
	res.Update = liveblocks.UpdateRoomRequest{}
	s.synced.Set(res.RoomID, res)
}

// Fresh syncs roomID unless it was synced less than MaxAge ago; it reports
// whether it synced. A room synced recently gives the Result of that sync
// (its Outcome, and the Accesses the source said), without its Update.
// Concurrent calls for one room share one sync, which runs to its end (or
// Timeout) even if the caller that started it leaves: the caller waits only
// as long as ctx allows, and the next call finds the room synced.
func (s *Syncer) Fresh(ctx context.Context, roomID, org string) (Result, bool, error) {
	if r, ok := s.synced.GetIfPresent(roomID); ok {
		return r, false, nil
	}
	ch := s.flight.DoChan(roomID, func() (any, error) {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.opts.Timeout)
		defer cancel()
		return s.Sync(cctx, roomID, org)
	})
	select {
	case r := <-ch:
		return r.Val.(Result), true, r.Err
	case <-ctx.Done():
		return Result{RoomID: roomID}, false, ctx.Err()
	}
}

// SyncAll syncs every room Liveblocks lists for req (every room of an
// organization, say), calling report after each; it stops at the first
// error of Liveblocks' listing, and goes on past a room that fails.
func (s *Syncer) SyncAll(ctx context.Context, req liveblocks.ListRoomsRequest, report func(Result, error)) error {
	for room, err := range s.opts.Liveblocks.AllRooms(ctx, req) {
		if err != nil {
			return err
		}
		report(s.Sync(ctx, room.ID, room.OrganizationID))
	}
	return nil
}
