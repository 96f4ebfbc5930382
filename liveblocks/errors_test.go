package liveblocks

import (
	"errors"
	"strings"
	"testing"
)

func TestNewAPIError_TakesWhatLiveblocksSays(t *testing.T) {
	tests := []struct {
		name   string
		status int
		body   string
		want   Error
	}{
		{"room not found", 404, `{"error":"ROOM_NOT_FOUND","message":"Room with id \"r\" not found."}`,
			Error{Status: 404, Code: "ROOM_NOT_FOUND", Message: `Room with id "r" not found.`}},
		{"with suggestion and docs", 409, `{"error":"X","message":"m","suggestion":"s","docs":"https://liveblocks.io/docs"}`,
			Error{Status: 409, Code: "X", Message: "m", Suggestion: "s", Docs: "https://liveblocks.io/docs"}},
		{"dev server validation", 422, `{"error":"Unprocessable Entity","reason":"Value at key 'id': Must be string"}`,
			Error{Status: 422, Code: "Unprocessable Entity", Message: "Value at key 'id': Must be string"}},
		{"HTML from a proxy", 502, "<html>\n<body>\n  <h1>502 Bad Gateway</h1>\n</body>\n</html>\n",
			Error{Status: 502, Message: "<html> <body> <h1>502 Bad Gateway</h1> </body> </html>"}},
		{"empty body", 503, "", Error{Status: 503, Message: "Service Unavailable"}},
		{"JSON that is not an object", 500, `["x"]`, Error{Status: 500, Message: `["x"]`}},
		{"fields of the wrong type", 500, `{"error":{"nested":1},"message":7}`, Error{Status: 500, Message: "Internal Server Error"}},
		{"long text is cut", 500, strings.Repeat("é", 300), Error{Status: 500, Message: strings.Repeat("é", 100) + "..."}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.want.Endpoint = "GET /v2/rooms/r"
			got := newAPIError("GET /v2/rooms/r", tt.status, []byte(tt.body))
			if *got != tt.want {
				t.Errorf("got %+v\nwant %+v", *got, tt.want)
			}
		})
	}
}

func TestError_IsMatchesNotFoundAndConflictByStatus(t *testing.T) {
	tests := []struct {
		status               int
		notFound, conflicted bool
	}{
		{404, true, false},
		{409, false, true},
		{400, false, false},
		{500, false, false},
	}
	for _, tt := range tests {
		var err error = &Error{Status: tt.status}
		if errors.Is(err, ErrNotFound) != tt.notFound || errors.Is(err, ErrConflict) != tt.conflicted {
			t.Errorf("status %d: Is(ErrNotFound)=%v Is(ErrConflict)=%v", tt.status, errors.Is(err, ErrNotFound), errors.Is(err, ErrConflict))
		}
	}
}

func TestError_MessageSaysWhatWasCalled(t *testing.T) {
	err := &Error{Status: 404, Code: "ROOM_NOT_FOUND", Message: "Room not found.", Suggestion: "Create it first.", Endpoint: "GET /v2/rooms/r"}
	want := "liveblocks: GET /v2/rooms/r: status 404 ROOM_NOT_FOUND: Room not found. (suggestion: Create it first.)"
	if err.Error() != want {
		t.Errorf("got  %q\nwant %q", err.Error(), want)
	}
	verr := &ValidationError{Field: "roomId", Value: strings.Repeat("r", 200), Reason: "is too long"}
	if got := verr.Error(); !strings.HasPrefix(got, `liveblocks: invalid roomId "rrrr`) || len(got) > 120 {
		t.Errorf("ValidationError message %q", got)
	}
}
