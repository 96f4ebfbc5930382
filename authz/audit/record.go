package audit

import (
	"encoding/json"
	"time"
)

// Record is one decision of the auth path. Every field is safe to keep: no
// token, cookie, session id or key. Empty fields are left out of the line.
type Record struct {
	Time time.Time `json:"time"`
	// Outcome is "issued" or "refused".
	Outcome string `json:"outcome"`
	// Reason is the short reason of a refusal ("rate_limited",
	// "no_session", "room_forbidden", ...), or empty.
	Reason string `json:"reason,omitempty"`
	// Status is the HTTP status answered.
	Status int `json:"status,omitempty"`

	User         string   `json:"user,omitempty"`
	Groups       []string `json:"groups,omitempty"`
	Room         string   `json:"room,omitempty"`
	Organization string   `json:"organization,omitempty"`
	// Mode is the Liveblocks token mode: "id_token" or "access_token".
	Mode string `json:"mode,omitempty"`
	// Session is the hash of the session cookie (shared.SessionHash), the
	// name a revocation takes; never the cookie.
	Session string `json:"session,omitempty"`

	// Door is the door the request came through (envoy_grpc, nginx, ...).
	Door       string `json:"door,omitempty"`
	ClientAddr string `json:"client_addr,omitempty"`
	TraceID    string `json:"trace_id,omitempty"`
}

// The outcomes.
const (
	Issued  = "issued"
	Refused = "refused"
)

// line is the record as one JSON line, with a stream marker so that a
// collector reading a shared stream can route it.
func (r *Record) line() ([]byte, error) {
	type wire struct {
		Stream string `json:"stream"`
		*Record
	}
	b, err := json.Marshal(wire{Stream: "lbauthz.audit", Record: r})
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}
