package liveblocks

import (
	"encoding/json"
	"testing"
	"unicode/utf8"
)

// FuzzResponseDecoding feeds arbitrary response bodies to what parses them:
// error bodies, rooms and pages of rooms come from the network.
func FuzzResponseDecoding(f *testing.F) {
	f.Add([]byte(`{"error":"ROOM_NOT_FOUND","message":"Room with id \"r\" not found."}`))
	f.Add([]byte(`{"type":"room","id":"r","createdAt":"2026-01-02T03:04:05.678Z","metadata":{"t":["a",1]},"defaultAccesses":[],"groupsAccesses":{},"usersAccesses":{}}`))
	f.Add([]byte(`{"data":[{"type":"room","id":"r"}],"nextCursor":null,"nextPage":"/v2/rooms?startingAfter=%zz"}`))
	f.Add([]byte("<html>502</html>"))
	f.Fuzz(func(t *testing.T, body []byte) {
		e := newAPIError("GET /v2/rooms", 500, body)
		if e.Message == "" && e.Code == "" {
			t.Error("error with neither code nor message")
		}
		if !json.Valid(body) && len(e.Message) > maxErrorMessage+len("...") {
			t.Errorf("message of %d bytes from a non-JSON body", len(e.Message))
		}
		var r Room
		_ = json.Unmarshal(body, &r)
		var p roomPageJSON
		if json.Unmarshal(body, &p) == nil {
			_ = p.cursor()
		}
		if n := jsonTextLength(body); n > len(body) {
			t.Errorf("jsonTextLength %d > %d bytes", n, len(body))
		}
		if utf8.Valid(body) && jsLength(string(body)) > len(body) {
			t.Error("jsLength longer than the byte length")
		}
	})
}
