package authz

import (
	"strings"
	"testing"
)

// referenceFindCookie is findCookie written the plain way: split every
// header at each ";" (as Express's cookie parser does), trim each cookie,
// compare its name, and end its value at the first "," (where Envoy joined
// repeated headers; a name after it is never the cookie's). findCookie
// searches for the name instead, which is several times faster; the fuzz
// test below holds it to the same answers.
func referenceFindCookie(first string, more []string, name string, maxLen int) (string, cookieResult) {
	var value string
	res := cookieAbsent
	for i := -1; i < len(more); i++ {
		h := first
		if i >= 0 {
			h = more[i]
		}
		for _, part := range strings.Split(h, ";") {
			part = strings.Trim(part, " \t")
			n, v, ok := strings.Cut(part, "=")
			if !ok || strings.Trim(n, " \t") != name {
				continue
			}
			v, _, _ = strings.Cut(v, ",")
			if res != cookieAbsent {
				return "", cookieAmbiguous
			}
			value, res = strings.Trim(v, " \t"), cookieFound
		}
	}
	if res != cookieFound {
		return "", res
	}
	if len(value) >= 2 && value[0] == '"' && value[len(value)-1] == '"' {
		value = value[1 : len(value)-1]
	}
	switch {
	case len(value) > maxLen:
		return "", cookieTooLong
	case value == "":
		return "", cookieAbsent
	}
	for i := 0; i < len(value); i++ {
		if c := value[i]; c < 0x20 || c >= 0x7f || c == '"' || c == ';' || c == ',' || c == '\\' {
			return "", cookieMalformed
		}
	}
	return value, cookieFound
}

// The engine never asks for an empty name (New refuses it), so the
// reference's answer for one (a cookie written "=value") is not compared.
func FuzzFindCookieMatchesReference(f *testing.F) {
	for _, s := range []string{
		"session=abc", "a=1; session=abc, b=2", `session="x"`, "session=a; session=b", "session", ";;,,=",
		"session=\xff", " session = a b ;", "xsession=1; session2=2", "session\t=\t1", "a=session=1; session=2",
		"session=" + strings.Repeat("a", 70), "s=1;session", "session=;session=1", "=1; session=2",
		"theme=1, session=2", "session=1, session=2", "a=1, b; session=2", "theme=1,session=2; x=3",
		"session=1; theme=x, session=2", "a=1,session=2,session=3",
	} {
		f.Add(s, "", "session")
	}
	f.Add("a=1", "session=zz", "session")
	f.Add("a b=1; a=2", "", "a b")
	f.Add("x; s=1", "", " s")
	f.Add("a;b=1", "", "a;b")
	f.Add("a=b=c", "", "a=b")
	f.Fuzz(func(t *testing.T, h1, h2, name string) {
		if name == "" {
			return
		}
		more := []string{h2}
		v, res := findCookie(h1, more, name, 64)
		rv, rres := referenceFindCookie(h1, more, name, 64)
		if v != rv || res != rres {
			t.Fatalf("findCookie(%q, %q, %q) = (%q, %d), the reference says (%q, %d)", h1, h2, name, v, res, rv, rres)
		}
	})
}

func BenchmarkFindCookie_BrowserReference(b *testing.B) {
	b.ReportAllocs()
	b.SetBytes(int64(len(benchCookieHeader)))
	for b.Loop() {
		if _, res := referenceFindCookie(benchCookieHeader, nil, "session", 4096); res != cookieFound {
			b.Fatal("not found")
		}
	}
}
