package authz

import "testing"

// A browser's Cookie header: the session (a JWT) among analytics, consent
// and preference cookies.
const benchCookieHeader = "_ga=GA1.1.1234567890.1700000000; _ga_5QZ1X2Y3W4=GS1.1.1700000000.3.1.1700000123.0.0.0; " +
	"cookie_consent=necessary%2Canalytics; theme=dark; " +
	"session=eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJleHAiOjE3MDAwMDM2MDAsImdyb3VwcyI6WyJ0ZWFtIiwiZW5nIl0sImlhdCI6MTcwMDAwMDAwMCwibmFtZSI6IkFsaWNlIiwicGljdHVyZSI6Imh0dHBzOi8vYXZhdGFycy5leGFtcGxlLnRlc3QvYWxpY2UucG5nIiwic3ViIjoiYWxpY2UifQ.9pW3TqXh1N6mC0bq2Hn3m2c9Jx8D5E8r5bq3xJQk7YI; " +
	"csrftoken=Yx8s0fTq3UHl7c2ZpQ9wR4vN1mK6bJ0a; _gid=GA1.1.987654321.1700000000"

func benchFindCookie(b *testing.B, first string, more []string, want cookieResult) {
	b.Helper()
	b.ReportAllocs()
	b.SetBytes(int64(len(first)))
	for b.Loop() {
		if _, res := findCookie(first, more, "session", 4096); res != want {
			b.Fatalf("result %d, want %d", res, want)
		}
	}
}

func BenchmarkFindCookie_Browser(b *testing.B) {
	benchFindCookie(b, benchCookieHeader, nil, cookieFound)
}

func BenchmarkFindCookie_NoSession(b *testing.B) {
	benchFindCookie(b, "_ga=GA1.1.1234567890.1700000000; theme=dark; csrftoken=Yx8s0fTq3UHl7c2ZpQ9wR4vN1mK6bJ0a", nil, cookieAbsent)
}

// Envoy joins repeated Cookie headers with ","; a door with header lines
// passes them as more.
func BenchmarkFindCookie_RepeatedHeaders(b *testing.B) {
	benchFindCookie(b, "_ga=GA1.1.1234567890.1700000000; theme=dark", []string{benchCookieHeader[len("_ga=GA1.1.1234567890.1700000000; "):]}, cookieFound)
}
