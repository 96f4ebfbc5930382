package authz

import (
	"encoding/json"
	"strings"

	"github.com/lbauthz/lbauthz/authz/session"
)

// Outcome is what the engine decided, in the words of the metrics.
type Outcome uint8

// Outcomes of a decision.
const (
	// AllowIdentity lets the request through with the identity headers set.
	AllowIdentity Outcome = iota + 1
	// AllowAnonymous lets the request through with the identity headers removed.
	AllowAnonymous
	// TokenIssued answers the auth path with a Liveblocks token (HTTP 200).
	TokenIssued
	// Rejected answers the auth path with a 4xx that Liveblocks gave.
	Rejected
	// Unauthorized answers 401: no valid session.
	Unauthorized
	// Forbidden answers 403: a session, but not one Liveblocks would take.
	Forbidden
	// Unavailable answers 503: a part the answer depends on is down or slow.
	Unavailable
	// BadRequest answers 4xx for a request that is wrong in itself (405 for a
	// method other than POST on the auth path, 400 for a bad body).
	BadRequest
	// RateLimited answers 429 on the auth path: a user or a client address
	// is over its budget (auth_limits).
	RateLimited
	// CrossOrigin answers 403 on the auth path: the request comes from a web
	// page of another origin that is not allowed (auth_limits.origins).
	CrossOrigin
	// Preflight answers a CORS preflight (OPTIONS) on the auth path from an
	// allowed origin (204).
	Preflight
	// DirectoryAnswered answers a directory endpoint (the client's
	// resolvers) with its 200 JSON array.
	DirectoryAnswered
)

var outcomeNames = [...]string{
	AllowIdentity:     "allowed_identity",
	AllowAnonymous:    "allowed_anonymous",
	TokenIssued:       "token_issued",
	Rejected:          "rejected_by_liveblocks",
	Unauthorized:      "unauthorized",
	Forbidden:         "forbidden",
	Unavailable:       "unavailable",
	BadRequest:        "bad_request",
	RateLimited:       "rate_limited",
	CrossOrigin:       "cross_origin",
	Preflight:         "preflight",
	DirectoryAnswered: "directory_answered",
}

// numOutcomes bounds the Outcome values, for tables indexed by outcome.
const numOutcomes = int(DirectoryAnswered) + 1

func (o Outcome) String() string {
	if int(o) < len(outcomeNames) && outcomeNames[o] != "" {
		return outcomeNames[o]
	}
	return "unknown"
}

// Decision is the engine's answer, which every door turns into its own wire
// format.
//
// When Allow is true the request goes to the app; Identity is set for
// AllowIdentity. Otherwise the door answers the client itself with Status,
// ContentType, Body and Header; Identity is then the user a token request
// was from, once the session is found (for logs and explain).
type Decision struct {
	Outcome  Outcome
	Allow    bool
	Identity *session.Identity

	Status      int
	ContentType string
	Body        []byte
	// Header holds extra response headers (for example Allow: POST).
	Header [][2]string

	// Reason says why, briefly and without secrets: for logs and explain.
	Reason string
}

const contentTypeJSON = "application/json"

// CacheControl is the Cache-Control of an answer the sidecar gives itself:
// the decision's own when its Header has one, else "no-store".
func (d *Decision) CacheControl() string {
	for _, kv := range d.Header {
		if strings.EqualFold(kv[0], "cache-control") {
			return kv[1]
		}
	}
	return "no-store"
}

// errorBody is the short JSON body of a refusal.
func errorBody(code, reason string) []byte {
	b, _ := json.Marshal(struct {
		Error  string `json:"error"`
		Reason string `json:"reason"`
	}{code, reason})
	return b
}

// Deny is a refusal the sidecar answers itself: status, a short JSON body
// {"error": code, "reason": reason}, and the reason for logs. Doors use it
// for the refusals they give before asking the engine.
func Deny(o Outcome, status int, code, reason string) Decision { return deny(o, status, code, reason) }

func deny(o Outcome, status int, code, reason string) Decision {
	return Decision{Outcome: o, Status: status, ContentType: contentTypeJSON,
		Body: errorBody(code, reason), Reason: reason}
}
