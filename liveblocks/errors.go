package liveblocks

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"unicode/utf8"
)

// ErrNotFound and ErrConflict match, with errors.Is, an [*Error] whose
// Status is 404 (for example a room that does not exist) or 409 (a room
// that already exists).
var (
	ErrNotFound = errors.New("liveblocks: not found")
	ErrConflict = errors.New("liveblocks: conflict")
)

// Error is an answer other than 2xx from the Liveblocks API.
type Error struct {
	// Status is the HTTP status code Liveblocks answered with.
	Status int
	// Code is the "error" field of the body, such as "ROOM_NOT_FOUND";
	// empty when the body had none.
	Code string
	// Message is the "message" field of the body (the dev server's
	// validation errors call it "reason"). When the body is not JSON, it is
	// the start of the body text, or the status text when the body is empty.
	Message string
	// Suggestion and Docs are the "suggestion" and "docs" fields, when
	// Liveblocks sent them.
	Suggestion string
	Docs       string
	// Endpoint is the method and path that was called, such as
	// "POST /v2/rooms", without the query string.
	Endpoint string
}

// Error returns a one-line description: the endpoint, the status, the code
// and the message.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("liveblocks: ")
	if e.Endpoint != "" {
		b.WriteString(e.Endpoint)
		b.WriteString(": ")
	}
	fmt.Fprintf(&b, "status %d", e.Status)
	if e.Code != "" {
		b.WriteString(" ")
		b.WriteString(e.Code)
	}
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	if e.Suggestion != "" {
		b.WriteString(" (suggestion: ")
		b.WriteString(e.Suggestion)
		b.WriteString(")")
	}
	return b.String()
}

// Is reports whether target is [ErrNotFound] and the status is 404, or
// [ErrConflict] and the status is 409.
func (e *Error) Is(target error) bool {
	switch target {
	case ErrNotFound:
		return e.Status == http.StatusNotFound
	case ErrConflict:
		return e.Status == http.StatusConflict
	}
	return false
}

// maxErrorMessage bounds how much of a body that is not JSON (an HTML page
// from a proxy, say) ends up in an error message.
const maxErrorMessage = 200

// newAPIError builds the Error for a non-2xx answer. The body is untrusted:
// only string fields are taken from it, and text is cut short.
func newAPIError(endpoint string, status int, body []byte) *Error {
	e := &Error{Status: status, Endpoint: endpoint}
	var fields map[string]any
	if json.Unmarshal(body, &fields) == nil && fields != nil {
		e.Code = stringField(fields, "error")
		e.Message = stringField(fields, "message")
		if e.Message == "" {
			e.Message = stringField(fields, "reason")
		}
		e.Suggestion = stringField(fields, "suggestion")
		e.Docs = stringField(fields, "docs")
	} else {
		e.Message = shorten(strings.Join(strings.Fields(string(body)), " "), maxErrorMessage)
	}
	if e.Code == "" && e.Message == "" {
		e.Message = http.StatusText(status)
	}
	return e
}

func stringField(m map[string]any, key string) string {
	s, _ := m[key].(string)
	return s
}

// shorten cuts s to at most n bytes on a rune boundary, marking the cut.
func shorten(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "..."
}

// ValidationError is a request this package refused to send because
// Liveblocks would reject it, or an invalid [Options] value.
type ValidationError struct {
	// Field names what is wrong, as the API calls it: "userId", "roomId",
	// "userInfo.name", `permissions["room-*"]`, "defaultAccesses",
	// "BaseURL", ...
	Field string
	// Value is the offending value (a room id, a pattern, a permission);
	// empty when there is none to show. Secrets are never put here.
	Value string
	// Reason says what is wrong with it.
	Reason string
}

// maxShownValue bounds how much of an offending value an error message quotes.
const maxShownValue = 64

// Error returns "liveblocks: invalid <field> <value>: <reason>".
func (e *ValidationError) Error() string {
	if e.Value == "" {
		return "liveblocks: invalid " + e.Field + ": " + e.Reason
	}
	return fmt.Sprintf("liveblocks: invalid %s %q: %s", e.Field, shorten(e.Value, maxShownValue), e.Reason)
}
