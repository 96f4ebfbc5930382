package authz

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/lbauthz/lbauthz/authz/rooms"
	"github.com/lbauthz/lbauthz/authz/session"
	"github.com/lbauthz/lbauthz/liveblocks"
)

// ExplainOptions says how far Explain goes.
type ExplainOptions struct {
	// CallLiveblocks makes the calls to Liveblocks the decision needs (room
	// provisioning, the token) as Decide does, and reads the room's
	// accesses. Without it nothing is sent to Liveblocks: the explanation
	// says what would be.
	CallLiveblocks bool
}

// Explanation says what the engine decides for a request and why: the
// session found, the identity it maps to, the headers the app would get,
// and for a token request, the room's accesses and the call to Liveblocks.
// It never holds the cookie's value, the session's data or a token.
type Explanation struct {
	Request ExplainedRequest `json:"request"`
	Cookie  string           `json:"cookie"`
	// Credentials say, with several session sources, what each found.
	Credentials []string          `json:"credentials,omitempty"`
	Session     *ExplainedSession `json:"session,omitempty"`
	// Sessions are, with several session sources, what each store asked
	// said; Session is the one that gave the identity.
	Sessions []ExplainedSession `json:"sessions,omitempty"`
	Identity *ExplainedIdentity `json:"identity,omitempty"`
	// Room is the room a token request is for ("" when none).
	Room string `json:"room,omitempty"`
	// Provision is what rooms.provision does for the room (ID-token mode).
	Provision *ExplainedProvision `json:"provision,omitempty"`
	// RoomAccesses are the accesses of the room as Liveblocks has it
	// (with CallLiveblocks, ID-token mode).
	RoomAccesses *ExplainedAccesses `json:"room_accesses,omitempty"`
	// Permissions are the room patterns of an access token
	// (rooms.access_token).
	Permissions map[string][]string `json:"permissions,omitempty"`
	// Liveblocks is the call for the token, made or not.
	Liveblocks *ExplainedCall    `json:"liveblocks,omitempty"`
	Decision   ExplainedDecision `json:"decision"`
	// Notes say what explain did not do.
	Notes []string `json:"notes,omitempty"`
}

// ExplainedRequest is the request explained.
type ExplainedRequest struct {
	Method   string `json:"method"`
	Path     string `json:"path"`
	AuthPath bool   `json:"auth_path"`
	// Directory says the path is one of the directory's endpoints, which
	// the sidecar answers for a signed-in user.
	Directory bool `json:"directory,omitempty"`
}

// ExplainedSession is what the session store said.
type ExplainedSession struct {
	// Store is the session store, with its framework preset when it has
	// one ("signed_cookie/flask", "sql/django").
	Store string `json:"store"`
	// Result is valid, invalid or unavailable.
	Result string `json:"result"`
	Reason string `json:"reason,omitempty"`
	// Step is the step that refused an invalid session, when the store
	// says: "bad signature", "expired", "no user id", "pickled", ...
	Step    string     `json:"step,omitempty"`
	Expires *time.Time `json:"expires,omitempty"`
	// Source is where the credential was read, with several sources.
	Source string `json:"source,omitempty"`
}

// ExplainedIdentity is the Liveblocks identity of the session, after the
// identity mapping and the group rules.
type ExplainedIdentity struct {
	UserID   string         `json:"user_id"`
	GroupIDs []string       `json:"group_ids"`
	UserInfo map[string]any `json:"user_info,omitempty"`
	// OrganizationID is the Liveblocks organization of the user's tokens;
	// empty is the project's default organization.
	OrganizationID string `json:"organization_id,omitempty"`
	// Problem is why Liveblocks would refuse the identity.
	Problem string `json:"problem,omitempty"`
}

// ExplainedProvision is the provisioning of the requested room.
type ExplainedProvision struct {
	// Rule reports whether a rule of rooms.provision matches the room.
	Rule bool `json:"rule"`
	// Accesses are those a new room is created with.
	Accesses *ExplainedAccesses `json:"accesses,omitempty"`
	// Outcome is what happened, with CallLiveblocks: provisioned,
	// remembered, no_rule, or failed.
	Outcome string `json:"outcome,omitempty"`
	Error   string `json:"error,omitempty"`
}

// ExplainedAccesses are a room's accesses, and which of them apply to the
// identity (the user's entry, else the entries of the user's groups, else
// the default).
type ExplainedAccesses struct {
	Default []string            `json:"default"`
	Groups  map[string][]string `json:"groups,omitempty"`
	Users   map[string][]string `json:"users,omitempty"`
	// Applies says which entries apply to the identity: "user",
	// "groups" (Liveblocks merges them to the highest) or "default".
	Applies string `json:"applies"`
	// Effective are the permissions of the entries that apply.
	Effective []string `json:"effective"`
}

// ExplainedCall is the call to Liveblocks for the token.
type ExplainedCall struct {
	Endpoint string `json:"endpoint"`
	// Body is what is sent (never the secret key, which is only a header).
	Body any  `json:"body"`
	Sent bool `json:"sent"`
}

// ExplainedDecision is the answer.
type ExplainedDecision struct {
	Outcome string `json:"outcome"`
	// Allow is true when the request goes on to the app.
	Allow  bool   `json:"allow"`
	Status int    `json:"status"`
	Reason string `json:"reason,omitempty"`
	// Headers are, for a request let through, the identity headers set on
	// it (an empty value: removed); otherwise the answer's headers.
	Headers []ExplainedHeader `json:"headers,omitempty"`
	// Body is the answer's body, except a token's.
	Body string `json:"body,omitempty"`
	// Token holds the claims of the token issued, never the token itself.
	Token map[string]any `json:"token,omitempty"`
}

// ExplainedHeader is a header; Remove says it is removed from the request.
type ExplainedHeader struct {
	Name   string `json:"name"`
	Value  string `json:"value,omitempty"`
	Remove bool   `json:"remove,omitempty"`
}

// Explain decides r as Decide does, through the same code, and says why. It
// neither checks nor spends the rate limits' budgets, and calls Liveblocks
// only when opts.CallLiveblocks is set. Nothing is counted or logged.
func (e *Engine) Explain(ctx context.Context, r *Request, opts ExplainOptions) *Explanation {
	x := &explainer{opts: opts, engine: e}
	auth := e.IsAuthPath(r.Path)
	x.out.Request = ExplainedRequest{Method: r.Method, Path: stripQuery(r.Path), AuthPath: auth}
	var d Decision
	switch {
	case auth:
		d = e.decideAuth(ctx, r, x)
	case e.IsDirectoryPath(r.Path):
		x.out.Request.Directory = true
		d = e.decideDirectory(ctx, r, x) // directory_path.go
	default:
		d = e.decidePassThrough(ctx, r, x)
	}
	x.decision(&d)
	if auth && opts.CallLiveblocks && x.out.Room != "" && e.opts.AccessPolicy == nil && x.id != nil {
		x.readRoom(ctx)
	}
	if auth && e.opts.Limits != nil {
		x.note("rate limits (auth_limits) are neither checked nor spent by explain")
	}
	return &x.out
}

// explainer is the recorder of Explain: it writes each step of the decision
// into the Explanation.
type explainer struct {
	opts   ExplainOptions
	engine *Engine
	id     *session.Identity
	out    Explanation
	// credentialSeen: Cookie already says a credential the request carries.
	credentialSeen bool
}

// dryRun reports whether calls to Liveblocks are to be described, not made.
func (x *explainer) dryRun() bool { return !x.opts.CallLiveblocks }

func (x *explainer) recording() bool { return true }

func (x *explainer) note(s string) { x.out.Notes = append(x.out.Notes, s) }

// source records what a session source found in the request. With one
// source, Cookie says it; with several, Credentials lists each, and Cookie
// says the first that the request carries.
func (x *explainer) source(i int, src *Source, res cookieResult) {
	what := "cookie " + src.Cookie
	switch {
	case src.Bearer:
		what = "Authorization: Bearer token"
	case src.Header != "":
		what = "header " + src.Header
	}
	text := map[cookieResult]string{
		cookieAbsent:    "absent (no session " + what + ")",
		cookieFound:     "found",
		cookieAmbiguous: "refused: more than one " + what,
		cookieTooLong:   "refused: over session.max_cookie_bytes",
		cookieMalformed: "refused: bytes a " + what + " may not hold",
	}[res]
	if len(x.engine.sources) > 1 {
		x.out.Credentials = append(x.out.Credentials, src.where()+": "+text)
		switch {
		case res != cookieAbsent && !x.credentialSeen:
			x.out.Cookie, x.credentialSeen = src.where()+": "+text, true
		case i == 0 && !x.credentialSeen:
			x.out.Cookie = src.where() + ": " + text
		}
		return
	}
	x.out.Cookie = text
}

// disagree records that two sources' valid sessions named different users.
func (x *explainer) disagree() {
	x.id, x.out.Identity = nil, nil
	x.note("refused: the valid sessions of the request's credentials name different users")
}

func (x *explainer) session(src *Source, id *session.Identity, err error) {
	s := &ExplainedSession{Store: src.StoreKind, Result: "valid"}
	if len(x.engine.sources) > 1 {
		s.Source = src.where()
	}
	switch {
	case err == nil:
		if exp := id.Expires(); !exp.IsZero() {
			s.Expires = &exp
		}
		if x.id != nil {
			break // the identity is the first valid session's
		}
		x.id = id
		x.out.Identity = &ExplainedIdentity{UserID: id.UserID, GroupIDs: id.GroupIDs, UserInfo: id.UserInfo(), OrganizationID: id.OrganizationID, Problem: id.Problem}
		if x.out.Identity.GroupIDs == nil {
			x.out.Identity.GroupIDs = []string{}
		}
	case session.IsUnavailable(err):
		s.Result, s.Reason = "unavailable", "the session store could not be asked: "+unavailableCause(err)
	default:
		s.Result, s.Reason = "invalid", reasonOf(err)
		var ie *session.InvalidError
		if errors.As(err, &ie) {
			s.Step = ie.Step
		}
	}
	if len(x.engine.sources) > 1 {
		x.out.Sessions = append(x.out.Sessions, *s)
	}
	if x.out.Session == nil || err == nil && x.out.Session.Result != "valid" {
		x.out.Session = s
	}
}

// unavailableCause says why a store was unavailable. Store errors never
// hold the cookie's value (session.Store's contract).
func unavailableCause(err error) string {
	var ue *session.UnavailableError
	if errors.As(err, &ue) && ue.Err != nil {
		return ue.Err.Error()
	}
	return err.Error()
}

func (x *explainer) forRoom(room string) { x.out.Room = room }

func (x *explainer) provisionPlan(req liveblocks.CreateRoomRequest, ok bool) {
	p := &ExplainedProvision{Rule: ok}
	if ok {
		p.Accesses = x.accesses(req.DefaultAccesses, req.GroupsAccesses, req.UsersAccesses)
		x.note("provisioning creates the room only if it does not exist yet; an existing room keeps its accesses (--call-liveblocks reads them)")
	}
	x.out.Provision = p
}

func (x *explainer) provisioned(o rooms.Outcome, err error) {
	req, ok := x.engine.opts.Provisioner.Rules().Match(x.out.Room)
	x.provisionPlan(req, ok)
	if err != nil {
		x.out.Provision.Outcome, x.out.Provision.Error = "failed", err.Error()
		return
	}
	x.out.Provision.Outcome = o.String()
}

func (x *explainer) permissions(perms map[string][]liveblocks.Permission, err error) {
	if err != nil {
		return
	}
	x.out.Permissions = make(map[string][]string, len(perms))
	for pattern, p := range perms {
		x.out.Permissions[pattern] = permStrings(p)
	}
}

// call records the call to Liveblocks for the token, with its body as
// Liveblocks gets it.
func (x *explainer) call(endpoint string, req any) {
	body := map[string]any{}
	switch r := req.(type) {
	case liveblocks.IdentifyUserRequest:
		body["userId"] = r.UserID
		if len(r.GroupIDs) > 0 {
			body["groupIds"] = r.GroupIDs
		}
		if len(r.UserInfo) > 0 {
			body["userInfo"] = r.UserInfo
		}
		if r.OrganizationID != "" {
			body["organizationId"] = r.OrganizationID
		}
	case liveblocks.AuthorizeUserRequest:
		body["userId"] = r.UserID
		perms := map[string][]string{}
		for pattern, p := range r.Permissions {
			perms[pattern] = permStrings(p)
		}
		body["permissions"] = perms
		if len(r.UserInfo) > 0 {
			body["userInfo"] = r.UserInfo
		}
		if r.OrganizationID != "" {
			body["organizationId"] = r.OrganizationID
		}
	}
	x.out.Liveblocks = &ExplainedCall{Endpoint: endpoint, Body: body, Sent: x.opts.CallLiveblocks}
}

// notSent is the decision of a token request whose call to Liveblocks is
// only described.
func (x *explainer) notSent() Decision {
	x.note("Liveblocks was not called (--call-liveblocks calls it): the token is issued if Liveblocks accepts the call above")
	return Decision{Outcome: TokenIssued, Status: 200, ContentType: contentTypeJSON, Reason: "Liveblocks not called"}
}

func (x *explainer) decision(d *Decision) {
	e := x.engine
	out := ExplainedDecision{Outcome: d.Outcome.String(), Allow: d.Allow, Status: statusOf(d), Reason: d.Reason}
	switch {
	case d.Allow:
		id := d.Identity
		vals := [3]string{}
		if id != nil {
			vals = [3]string{id.UserID, id.GroupsHeader, id.UserInfoJSON}
		}
		h := e.opts.Headers
		for i, name := range [3]string{h.UserID, h.GroupIDs, h.UserInfo} {
			if name != "" {
				out.Headers = append(out.Headers, ExplainedHeader{Name: name, Value: vals[i], Remove: vals[i] == ""})
			}
		}
	default:
		if d.ContentType != "" {
			out.Headers = append(out.Headers, ExplainedHeader{Name: "content-type", Value: d.ContentType})
		}
		if d.Status != 0 {
			out.Headers = append(out.Headers, ExplainedHeader{Name: "cache-control", Value: d.CacheControl()})
		}
		for _, kv := range d.Header {
			if !strings.EqualFold(kv[0], "cache-control") {
				out.Headers = append(out.Headers, ExplainedHeader{Name: kv[0], Value: kv[1]})
			}
		}
		if d.Outcome == TokenIssued && len(d.Body) > 0 {
			out.Token = tokenClaims(d.Body)
		} else {
			out.Body = string(d.Body)
		}
	}
	x.out.Decision = out
}

// readRoom reads the room's accesses from Liveblocks: those are what an ID
// token gets, whatever the provisioning rules say.
func (x *explainer) readRoom(ctx context.Context) {
	room, err := x.engine.opts.Liveblocks.GetRoom(ctx, x.out.Room)
	if err != nil {
		var lerr *liveblocks.Error
		if errors.As(err, &lerr) && lerr.Status == 404 {
			x.note("the room does not exist: an ID token gives no access to it")
			return
		}
		x.note("could not read the room's accesses: " + err.Error())
		return
	}
	x.out.RoomAccesses = x.accesses(room.DefaultAccesses, room.GroupsAccesses, room.UsersAccesses)
}

// accesses describes a room's accesses and the ones that apply to the
// identity, as Liveblocks applies them to an ID token.
func (x *explainer) accesses(def []liveblocks.Permission, groups, users map[string][]liveblocks.Permission) *ExplainedAccesses {
	a := &ExplainedAccesses{Default: permStrings(def), Groups: permMap(groups), Users: permMap(users)}
	if x.id == nil {
		return a
	}
	if p, ok := users[x.id.UserID]; ok {
		a.Applies, a.Effective = "user "+x.id.UserID, permStrings(p)
		return a
	}
	var names []string
	seen := map[string]bool{}
	for _, g := range x.id.GroupIDs {
		if p, ok := groups[g]; ok {
			names = append(names, g)
			for _, s := range permStrings(p) {
				if !seen[s] {
					seen[s] = true
					a.Effective = append(a.Effective, s)
				}
			}
		}
	}
	if len(names) > 0 {
		a.Applies = "groups " + strings.Join(names, ", ") + " (merged to the highest access)"
		return a
	}
	a.Applies, a.Effective = "default", permStrings(def)
	if len(a.Effective) == 0 {
		a.Applies = "default: no access"
	}
	return a
}

func permStrings(p []liveblocks.Permission) []string {
	out := make([]string, len(p))
	for i, v := range p {
		out[i] = string(v)
	}
	return out
}

func permMap(m map[string][]liveblocks.Permission) map[string][]string {
	if len(m) == 0 {
		return nil
	}
	out := make(map[string][]string, len(m))
	for k, v := range m {
		out[k] = permStrings(v)
	}
	return out
}

// tokenClaims decodes the claims of the token in a {"token": ...} body,
// keeping those worth showing. The token itself is not kept.
func tokenClaims(body []byte) map[string]any {
	var b struct{ Token string }
	if json.Unmarshal(body, &b) != nil {
		return nil
	}
	parts := strings.Split(b.Token, ".")
	if len(parts) < 2 {
		return nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return nil
	}
	var claims map[string]any
	if json.Unmarshal(raw, &claims) != nil {
		return nil
	}
	out := map[string]any{}
	for _, k := range []string{"k", "pid", "uid", "gids", "perms", "ui", "iat", "exp"} {
		if v, ok := claims[k]; ok {
			out[k] = v
		}
	}
	return out
}
