package rooms

import (
	"context"
	"strconv"
	"time"

	"github.com/maypok86/otter/v2"
	"golang.org/x/sync/singleflight"

	"github.com/lbauthz/lbauthz/liveblocks"
)

// ProvisionerOptions configures a Provisioner.
type ProvisionerOptions struct {
	// Timeout bounds one call to Liveblocks. A call shared by several
	// requests runs until it is done or Timeout passes, even when the request
	// that started it gives up sooner. Default 5s.
	Timeout time.Duration
	// MaxRemembered bounds how many provisioned room ids are remembered; a
	// forgotten room is provisioned again (Liveblocks leaves an existing room
	// as it is). Default 100000.
	MaxRemembered int
}

// Provisioner creates rooms on first use, following Rules. It is safe for
// concurrent use.
type Provisioner struct {
	rules   *Rules
	lb      *liveblocks.Client
	timeout time.Duration
	done    *otter.Cache[string, string] // room id -> its organization
	flight  singleflight.Group
}

// NewProvisioner returns a provisioner of the rooms rules match, created
// through lb.
func NewProvisioner(rules *Rules, lb *liveblocks.Client, opts ProvisionerOptions) *Provisioner {
	if opts.Timeout <= 0 {
		opts.Timeout = 5 * time.Second
	}
	if opts.MaxRemembered <= 0 {
		opts.MaxRemembered = 100_000
	}
	return &Provisioner{
		rules:   rules,
		lb:      lb,
		timeout: opts.Timeout,
		done:    otter.Must(&otter.Options[string, string]{MaximumSize: opts.MaxRemembered}),
	}
}

// Rules returns the rules the provisioner follows.
func (p *Provisioner) Rules() *Rules { return p.rules }

// Outcome says what Ensure did.
type Outcome uint8

// Outcomes of Ensure.
const (
	// NoRule: no rule matches the room; it was left alone.
	NoRule Outcome = iota + 1
	// Remembered: the room was provisioned earlier by this process.
	Remembered
	// Provisioned: Liveblocks was asked to create the room, and it exists
	// now (it may have existed before, in which case it was not changed).
	Provisioned
)

func (o Outcome) String() string {
	switch o {
	case NoRule:
		return "no_rule"
	case Remembered:
		return "remembered"
	case Provisioned:
		return "provisioned"
	}
	return "unknown"
}

// Ensure makes sure the room roomID exists, when a rule matches it: it
// calls Liveblocks' get-or-create (POST /v2/rooms?idempotent) with the rule's
// accesses the first time, and remembers the room afterwards. Concurrent
// calls for the same room share one call to Liveblocks. The room id must
// have passed liveblocks.ValidateRoomID. It is EnsureIn with the project's
// default organization.
func (p *Provisioner) Ensure(ctx context.Context, roomID string) (Outcome, error) {
	return p.EnsureIn(ctx, roomID, "")
}

// EnsureIn is Ensure for a token of the organization org ("" is the
// project's default one): a room it creates is created in org, and a room
// that exists in another organization, which that token could never enter,
// gives an *OrganizationError.
//
// The error is otherwise the one of liveblocks.Client.GetOrCreateRoom (an
// *liveblocks.Error for an answer that is not 2xx, another error when
// Liveblocks could not be reached), or ctx's error when ctx ends first.
func (p *Provisioner) EnsureIn(ctx context.Context, roomID, org string) (Outcome, error) {
	org = liveblocks.OrganizationName(org)
	if got, ok := p.done.GetIfPresent(roomID); ok {
		return Remembered, checkOrganization(roomID, org, got)
	}
	req, ok := p.rules.Match(roomID)
	if !ok {
		return NoRule, nil
	}
	if org != liveblocks.DefaultOrganization {
		req.OrganizationID = org
	}
	// The shared call is not cut short by the first caller leaving; each
	// caller waits only as long as its own context allows. Callers of
	// different organizations do not share a call: the room is created in
	// the first one's.
	ch := p.flight.DoChan(org+"\x00"+roomID, func() (any, error) {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), p.timeout)
		defer cancel()
		room, err := p.lb.GetOrCreateRoom(cctx, req)
		if err != nil {
			return nil, err
		}
		p.done.Set(roomID, room.Organization())
		return room.Organization(), nil
	})
	select {
	case res := <-ch:
		if res.Err != nil {
			return 0, res.Err
		}
		return Provisioned, checkOrganization(roomID, org, res.Val.(string))
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

// OrganizationError reports a room that belongs to another organization
// than the token asked for: Liveblocks would refuse the connection (4001)
// without saying why.
type OrganizationError struct {
	RoomID string
	// Want is the token's organization, Got the room's.
	Want, Got string
}

func (e *OrganizationError) Error() string {
	return "room " + strconv.Quote(e.RoomID) + " belongs to organization " + strconv.Quote(e.Got) +
		", not " + strconv.Quote(e.Want)
}

func checkOrganization(roomID, want, got string) error {
	if want == got {
		return nil
	}
	return &OrganizationError{RoomID: roomID, Want: want, Got: got}
}
