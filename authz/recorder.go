package authz

import (
	"github.com/lbauthz/lbauthz/authz/rooms"
	"github.com/lbauthz/lbauthz/authz/rooms/accesssync"
	"github.com/lbauthz/lbauthz/authz/session"
	"github.com/lbauthz/lbauthz/liveblocks"
)

// recorder is told the steps of a decision as the engine takes them. Decide
// records nothing (noRecord); Explain records with an *explainer
// (explain.go), through the same code.
type recorder interface {
	// recording reports whether the decision is explained: then the rate
	// limits' budgets are neither checked nor spent.
	recording() bool
	// source is what session source i found in the request; session what
	// its store said; disagree that two valid sessions named different
	// users.
	source(i int, s *Source, res cookieResult)
	session(s *Source, id *session.Identity, err error)
	disagree()
	forRoom(room string)
	provisionPlan(req liveblocks.CreateRoomRequest, ok bool)
	provisioned(o rooms.Outcome, err error)
	// accessSync is what syncing the room with its access source did (or,
	// in a dry run, what the source said).
	accessSync(s *accesssync.Syncer, res accesssync.Result, synced bool, err error)
	permissions(perms map[string][]liveblocks.Permission, err error)
	// call is the call to Liveblocks for the token, with its body.
	call(endpoint string, req any)
	// dryRun reports whether the calls to Liveblocks are described, not
	// made; notSent is then the decision.
	dryRun() bool
	notSent() Decision
}

// noRecord is the recorder of Decide: every step is a no-op, and being an
// empty struct it costs no allocation as a recorder.
type noRecord struct{}

func (noRecord) recording() bool                                               { return false }
func (noRecord) source(int, *Source, cookieResult)                             {}
func (noRecord) session(*Source, *session.Identity, error)                     {}
func (noRecord) disagree()                                                     {}
func (noRecord) forRoom(string)                                                {}
func (noRecord) provisionPlan(liveblocks.CreateRoomRequest, bool)              {}
func (noRecord) provisioned(rooms.Outcome, error)                              {}
func (noRecord) accessSync(*accesssync.Syncer, accesssync.Result, bool, error) {}
func (noRecord) permissions(map[string][]liveblocks.Permission, error)         {}
func (noRecord) call(string, any)                                              {}
func (noRecord) dryRun() bool                                                  { return false }
func (noRecord) notSent() Decision                                             { return Decision{} }

var (
	_ recorder = noRecord{}
	_ recorder = (*explainer)(nil)
)
