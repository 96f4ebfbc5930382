package authz

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	"go.uber.org/zap"

	"github.com/lbauthz/lbauthz/authz/rooms"
	"github.com/lbauthz/lbauthz/authz/session"
	"github.com/lbauthz/lbauthz/liveblocks"
)

// maxAuthBody is the most of a token request's body the engine reads. The
// doors apply their own, smaller limit first (Envoy's with_request_body,
// http_doors.max_body_bytes); this one holds whatever a door lets through.
const maxAuthBody = 1 << 20

// roomOf returns the room a token request is for, from the body the
// Liveblocks client posts: {"room": "<id>"}, or {} when the token is not for
// a room. No body, or an empty one, is not for a room either. reason is set
// when the body is not acceptable: not a JSON object, "room" not a string,
// or not a valid room id.
func roomOf(r *Request) (room, reason string) {
	if !r.HasBody {
		return "", ""
	}
	if len(r.Body) > maxAuthBody {
		return "", "body over the " + strconv.Itoa(maxAuthBody) + "-byte limit"
	}
	body := bytes.TrimSpace(r.Body)
	if len(body) == 0 {
		return "", ""
	}
	if body[0] != '{' {
		return "", `body is not a JSON object such as {"room":"my-room"}`
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(body, &fields); err != nil {
		return "", "body is not valid JSON"
	}
	raw, ok := fields["room"]
	if !ok {
		return "", ""
	}
	if err := json.Unmarshal(raw, &room); err != nil || len(raw) == 0 || raw[0] != '"' {
		return "", `"room" must be a string`
	}
	if err := liveblocks.ValidateRoomID(room); err != nil {
		var verr *liveblocks.ValidationError
		if errors.As(err, &verr) {
			return "", "invalid room id: " + verr.Reason
		}
		return "", "invalid room id"
	}
	return room, ""
}

// warnNoBody says, once, that token requests arrive without their body
// while rooms are to be provisioned: the Liveblocks client always sends one
// ({} at least), so the door is not passing it on (Envoy without
// with_request_body on the auth route) and no room is ever provisioned.
func (e *Engine) warnNoBody(door string) {
	if e.warnedNoBody.CompareAndSwap(false, true) {
		e.log.Warn("token request without a body: rooms.provision cannot see which room it is for; "+
			"with Envoy, enable with_request_body on the auth route", zap.String("door", door))
	}
}

// provision makes sure the room exists before an ID token is issued for
// it. It reports false, with the answer to give, when it could not.
func (e *Engine) provision(ctx context.Context, room, org string, x recorder) (Decision, bool) {
	if x.dryRun() {
		x.provisionPlan(e.opts.Provisioner.Rules().Match(room))
		return Decision{}, true
	}
	outcome, err := e.opts.Provisioner.EnsureIn(ctx, room, org)
	x.provisioned(outcome, err)
	if err == nil {
		if outcome == rooms.Provisioned {
			e.log.Info("room provisioned", zap.String("room", room))
		}
		return Decision{}, true
	}
	var oerr *rooms.OrganizationError
	if errors.As(err, &oerr) {
		d, _ := e.otherOrganization(room, oerr.Want, oerr.Got)
		return d, false
	}
	e.log.Warn("room provisioning failed", zap.String("room", room), zap.Error(err))
	var lerr *liveblocks.Error
	var verr *liveblocks.ValidationError
	switch {
	case errors.As(err, &lerr) && lerr.Status >= 400 && lerr.Status < 500:
		reason := "liveblocks refused to create the room: " + strconv.Itoa(lerr.Status)
		if lerr.Code != "" {
			reason += " " + lerr.Code
		}
		return deny(Rejected, lerr.Status, "rejected", reason), false
	case errors.As(err, &verr):
		return deny(BadRequest, http.StatusBadRequest, "bad_request", "cannot provision the room: "+verr.Field+" "+verr.Reason), false
	}
	// Liveblocks down, slow, or answering 5xx: the client retries a 503.
	return deny(Unavailable, http.StatusServiceUnavailable, "unavailable", "could not provision the room: liveblocks unavailable"), false
}

// otherOrganization refuses a token of organization want for a room of
// organization got, when they differ ("" is the default organization).
func (e *Engine) otherOrganization(room, want, got string) (Decision, bool) {
	want, got = liveblocks.OrganizationName(want), liveblocks.OrganizationName(got)
	if want == got {
		return Decision{}, false
	}
	e.log.Info("room of another organization refused", zap.String("room", room),
		zap.String("room_organization", got), zap.String("token_organization", want))
	return deny(Forbidden, http.StatusForbidden, "forbidden", "room belongs to another organization"), true
}

// accessToken issues an access token with the room patterns the policy
// gives the identity, and, for a room with an access source, the room with
// what the source gives the user in it.
func (e *Engine) accessToken(ctx context.Context, id *session.Identity, room string, x recorder) Decision {
	who := rooms.Who{UserID: id.UserID, GroupIDs: id.GroupIDs, OrganizationID: id.OrganizationID, RoomID: room}
	res, covered, err := e.syncRoom(ctx, room, id, x)
	if res.Organization != "" {
		// The sync read or created the room: a room of another
		// organization is refused here, as provisioning refuses it for an
		// ID token, rather than by Liveblocks' silent 4001.
		if d, refused := e.otherOrganization(room, id.OrganizationID, res.Organization); refused {
			return d
		}
	}
	switch {
	case res.Known:
		// Known even when writing the room to Liveblocks failed: the
		// source's answer is what the token needs.
		who.RoomAccess, _ = res.Accesses.For(id.UserID, id.GroupIDs)
		if who.RoomAccess == nil {
			who.RoomAccess = []liveblocks.Permission{}
		}
	case covered && err != nil:
		return sourceUnavailable()
	}
	perms, err := e.opts.AccessPolicy.Permissions(who)
	x.permissions(perms, err)
	if err != nil {
		reason := err.Error()
		var rerr *rooms.RefusedError
		if errors.As(err, &rerr) {
			reason = rerr.Reason
		}
		return deny(Forbidden, http.StatusForbidden, "forbidden", reason)
	}
	req := liveblocks.AuthorizeUserRequest{UserID: id.UserID, Permissions: perms, UserInfo: id.UserInfo(), OrganizationID: id.OrganizationID}
	x.call("POST /v2/authorize-user", req)
	if x.dryRun() {
		return x.notSent()
	}
	return liveblocksDecision(e.opts.Liveblocks.AuthorizeUser(ctx, req))
}
