package authz

import (
	"context"
	"net/http"
	"time"

	"go.uber.org/zap"

	"github.com/lbauthz/lbauthz/authz/rooms/accesssync"
	"github.com/lbauthz/lbauthz/authz/session"
)

// syncRoom keeps the accesses of a room whose provisioning rule has an
// access source in step with the app, before its token is issued: on first
// use and once the last sync is older than the source's max_age; a room
// synced more recently costs nothing. A request waits for the sync at most
// half of what is left of its Liveblocks budget, so that the token call
// keeps the other half; a sync cut short goes on in the background, and the
// next request finds it done. covered is false when no access source covers
// the room.
//
// Explain without calls to Liveblocks reads the source and writes nothing.
func (e *Engine) syncRoom(ctx context.Context, room string, id *session.Identity, x recorder) (res accesssync.Result, covered bool, err error) {
	s := e.opts.AccessSync
	if s == nil || room == "" || !s.Covers(room) {
		return accesssync.Result{}, false, nil
	}
	if x.dryRun() {
		a, known, _, err := s.Read(ctx, room)
		res = accesssync.Result{RoomID: room, Known: known, Accesses: a}
		x.accessSync(s, res, false, err)
		return res, true, err
	}
	wctx := ctx
	if dl, ok := ctx.Deadline(); ok {
		var cancel context.CancelFunc
		wctx, cancel = context.WithTimeout(ctx, time.Until(dl)/2)
		defer cancel()
	}
	res, synced, err := s.Fresh(wctx, room, id.OrganizationID)
	x.accessSync(s, res, synced, err)
	if x.recording() {
		return res, true, err
	}
	switch {
	case err != nil && wctx.Err() != nil && ctx.Err() == nil:
		// Not failed: still running, past what this request waits.
		e.opts.Metrics.accessSync("pending")
		e.log.Info("access sync still running; the request goes on without it", zap.String("room", room))
	case err != nil:
		e.opts.Metrics.accessSync("failed")
		// The error names the source's host or database and what failed,
		// never a password, a token or the session.
		e.log.Warn("access sync failed", zap.String("room", room), zap.Bool("source_answered", res.Known), zap.Error(err))
	case synced:
		e.opts.Metrics.accessSync(string(res.Outcome))
		if res.Outcome == accesssync.Updated || res.Outcome == accesssync.Created {
			e.log.Info("room accesses synced", zap.String("room", room), zap.String("outcome", string(res.Outcome)))
		}
	}
	return res, true, err
}

// sourceUnavailable is the answer of an access-token request whose room's
// access source could not be read: the client retries a 503, while a token
// without the room would be closed with 4001, which it never retries.
func sourceUnavailable() Decision {
	return deny(Unavailable, http.StatusServiceUnavailable, "unavailable", "the room's access source is unavailable")
}
