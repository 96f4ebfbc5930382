package liveblocks

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestJSLength_CountsUTF16CodeUnits(t *testing.T) {
	tests := []struct {
		s    string
		want int
	}{
		{"", 0},
		{"abc", 3},
		{"é", 1},
		{"日本", 2},
		{"🙂", 2},
		{"a🙂b", 4},
		{"\xff", 1}, // invalid UTF-8 is sent as U+FFFD
	}
	for _, tt := range tests {
		if got := jsLength(tt.s); got != tt.want {
			t.Errorf("jsLength(%q) = %d, want %d", tt.s, got, tt.want)
		}
	}
}

// The wanted lengths are JSON.stringify(v).length, as printed by Bun.
func TestJSONTextLength_MatchesJSONStringify(t *testing.T) {
	tests := []struct {
		v    any
		want int
	}{
		{"<", 3},
		{"\u2028", 3},
		{"\xff", 3},
		{"\n", 4},
		{"\x01", 8},
		{"🙂", 4},
		{`\u2028`, 9},
		{"\b\f", 6},
		{"é", 3},
		{map[string]any{"name": "Zoë", "n": 1.5, "ok": true, "tags": []string{"a", "b"}}, 49},
	}
	for _, tt := range tests {
		var b strings.Builder
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(tt.v); err != nil {
			t.Fatal(err)
		}
		text := strings.TrimSuffix(b.String(), "\n")
		if got := jsonTextLength([]byte(text)); got != tt.want {
			t.Errorf("jsonTextLength(%s) = %d, want %d", text, got, tt.want)
		}
	}
}

func TestIdentifyUserBody_OmitsEmptyOptionalFields(t *testing.T) {
	tests := []struct {
		name string
		req  IdentifyUserRequest
		want string
	}{
		{"user only", IdentifyUserRequest{UserID: "a"}, `{"userId":"a"}`},
		{"nil and empty groups", IdentifyUserRequest{UserID: "a", GroupIDs: []string{}, UserInfo: map[string]any{}}, `{"userId":"a"}`},
		{"groups", IdentifyUserRequest{UserID: "a", GroupIDs: []string{"g1", "g2"}}, `{"userId":"a","groupIds":["g1","g2"]}`},
		{"everything", IdentifyUserRequest{UserID: "a", GroupIDs: []string{"g"}, UserInfo: map[string]any{"name": "<b>"}, OrganizationID: "o"},
			`{"userId":"a","groupIds":["g"],"userInfo":{"name":"<b>"},"organizationId":"o"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := identifyUserBody(tt.req)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("body %s, want %s", got, tt.want)
			}
		})
	}
}

func TestAuthorizeUserBody_OmitsEmptyOptionalFields(t *testing.T) {
	got, err := authorizeUserBody(AuthorizeUserRequest{UserID: "a", Permissions: map[string][]Permission{"r*": {Read, RoomPresenceWrite}}})
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"userId":"a","permissions":{"r*":["*:read","room:presence:write"]}}`; string(got) != want {
		t.Errorf("body %s, want %s", got, want)
	}
}
