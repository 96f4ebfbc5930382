package main

import (
	"strings"
	"testing"
)

func TestDisplayName_UpperCasesTheFirstLetterNotTheFirstByte(t *testing.T) {
	for _, tc := range []struct{ user, want string }{
		{"alice", "Alice"},
		{"élodie", "Élodie"},
		{"łukasz", "Łukasz"},
		{"42", "42"},
		{"\xff\xfe", "\xff\xfe"},
	} {
		if got := displayName(tc.user); got != tc.want {
			t.Errorf("displayName(%q) = %q, want %q", tc.user, got, tc.want)
		}
	}
}

func TestSession_PrintsACookieOrTheUsage(t *testing.T) {
	var stdout, stderr strings.Builder
	if code := run([]string{"session", "alice", "team"}, func(string) string { return "" }, &stdout, &stderr); code != exitOK ||
		strings.Count(strings.TrimSpace(stdout.String()), ".") != 2 {
		t.Errorf("session alice team: exit %d, stdout %q", code, stdout.String())
	}
	stdout.Reset()
	if code := run([]string{"session"}, func(string) string { return "" }, &stdout, &stderr); code != exitUsage || stdout.Len() != 0 {
		t.Errorf("session without a user: exit %d, stdout %q; want %d and nothing printed", code, stdout.String(), exitUsage)
	}
}
