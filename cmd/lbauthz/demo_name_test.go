package main

import "testing"

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
