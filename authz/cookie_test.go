package authz

import (
	"strings"
	"testing"
)

func TestFindCookie(t *testing.T) {
	long := strings.Repeat("a", 4097)
	cases := []struct {
		name    string
		headers []string
		value   string
		res     cookieResult
	}{
		{"alone", []string{"session=abc"}, "abc", cookieFound},
		{"among others", []string{"a=1; session=abc; b=2"}, "abc", cookieFound},
		{"no space after semicolon", []string{"a=1;session=abc;b=2"}, "abc", cookieFound},
		{"value ends at a comma", []string{"session=abc, b=2"}, "abc", cookieFound},
		{"name after a comma is not a cookie", []string{"a=1, session=abc, b=2"}, "", cookieAbsent},
		{"name after a comma without a space", []string{"theme=1,session=abc"}, "", cookieAbsent},
		{"name after a comma does not make two", []string{"session=abc; theme=1, session=x"}, "abc", cookieFound},
		{"name after a comma in a later header", []string{"a=1", "b=2, session=x"}, "", cookieAbsent},
		{"split over repeated headers", []string{"a=1", "session=abc"}, "abc", cookieFound},
		{"quoted value", []string{`session="abc"`}, "abc", cookieFound},
		{"prefix of another name is not it", []string{"session2=x; xsession=y"}, "", cookieAbsent},
		{"absent", []string{"a=1; b=2"}, "", cookieAbsent},
		{"no header", nil, "", cookieAbsent},
		{"empty value", []string{"session="}, "", cookieAbsent},
		{"name without value", []string{"session"}, "", cookieAbsent},
		{"twice in one header", []string{"session=a; session=b"}, "", cookieAmbiguous},
		{"twice across headers", []string{"session=a", "session=a"}, "", cookieAmbiguous},
		{"too long", []string{"session=" + long}, "", cookieTooLong},
		{"non-ASCII byte", []string{"session=ab\xffc"}, "", cookieMalformed},
		{"control byte", []string{"session=ab\x01c"}, "", cookieMalformed},
		{"backslash", []string{`session=ab\c`}, "", cookieMalformed},
		{"inner quote", []string{`session=a"b`}, "", cookieMalformed},
		{"spaces around", []string{"  session = abc  ; a=1"}, "abc", cookieFound},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v, res := findCookie("", tc.headers, "session", 4096)
			if v != tc.value || res != tc.res {
				t.Fatalf("findCookie = (%q, %d), want (%q, %d)", v, res, tc.value, tc.res)
			}
		})
	}
}

func TestFindCookie_DoesNotAllocate(t *testing.T) {
	h := []string{"_ga=GA1.2.3; theme=dark; session=eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhIn0.sig; csrftoken=abc"}
	if n := testing.AllocsPerRun(100, func() { findCookie(h[0], nil, "session", 4096) }); n != 0 {
		t.Fatalf("findCookie allocates %v times per call", n)
	}
}

func FuzzFindCookie(f *testing.F) {
	for _, s := range []string{"session=abc", "a=1; session=abc, b=2", "theme=1, session=x", "session=a, session=b", `session="x"`, "session=a; session=b", "session", ";;,,=", "session=\xff"} {
		f.Add(s, "")
	}
	f.Add("a=1", "session=zz")
	f.Fuzz(func(t *testing.T, h1, h2 string) {
		v, res := findCookie(h1, []string{h2}, "session", 64)
		switch res {
		case cookieFound:
			if v == "" || len(v) > 64 {
				t.Fatalf("found %q (%d bytes)", v, len(v))
			}
			if strings.ContainsAny(v, ";,\"\\") {
				t.Fatalf("value %q holds a separator", v)
			}
			for i := 0; i < len(v); i++ {
				if v[i] < 0x20 || v[i] >= 0x7f {
					t.Fatalf("value %q holds byte %#x", v, v[i])
				}
			}
			if !strings.Contains(h1+h2, v) {
				t.Fatalf("value %q is not part of the input", v)
			}
		default:
			if v != "" {
				t.Fatalf("result %d with value %q", res, v)
			}
		}
	})
}

// cookieOctets, which tests eight bytes at a time, agrees with the table
// for every byte value in every place of a word and of the tail, next to
// valid bytes and next to the extremes that could carry or borrow.
func TestCookieOctets_AgreesWithTheTable(t *testing.T) {
	for _, fill := range []byte{'a', ' ', '~', '!', '#'} {
		for n := 1; n <= 19; n++ {
			for at := 0; at < n; at++ {
				for c := 0; c < 256; c++ {
					v := []byte(strings.Repeat(string(fill), n))
					v[at] = byte(c)
					want := true
					for _, b := range v {
						want = want && cookieOctet[b]
					}
					if got := cookieOctets(string(v)); got != want {
						t.Fatalf("cookieOctets(%q) = %v, want %v", v, got, want)
					}
				}
			}
		}
	}
}
