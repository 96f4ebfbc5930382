package authz

import "strings"

// Cookie outcomes.
type cookieResult uint8

const (
	cookieAbsent    cookieResult = iota // no cookie of that name
	cookieFound                         // exactly one, value returned
	cookieAmbiguous                     // more than one: refused, never first-wins
	cookieTooLong                       // over the size limit
	cookieMalformed                     // bytes a cookie value may not hold
)

// findCookie looks for the cookie called name in the Cookie header values
// (first, then more). It does not allocate.
//
// Cookies are separated by ";", as the app's own parser (Express's cookie,
// and most others) splits them: a cookie counts only at the start of a
// header value or after a ";". A value ends at ";" or at ",", where Envoy
// joined repeated Cookie headers, but a name after a "," never counts: a
// browser allows "," inside a value, so "theme=1, session=x" is one cookie
// called theme to the app, and a sibling site that can set theme must not
// choose the session with it. Doors that have the header lines apart (the
// HTTP doors, Envoy's header_map) pass them apart, so no "," is needed there.
// A value in double quotes is unquoted.
//
// Two cookies of the same name are refused: a browser sends both when the
// app and another path or subdomain each set one, and picking one would let a
// sibling site choose the identity.
//
// It runs on every request, over headers of hundreds of bytes, so it looks
// for the name with strings.Index rather than splitting the header into
// cookies: the answer is the same as splitting at every separator, trimming
// spaces and tabs and comparing names (cookie_bench_test.go checks it
// against that).
func findCookie(first string, more []string, name string, maxLen int) (string, cookieResult) {
	if !searchableName(name) {
		// No cookie can be called that: names never hold a separator or
		// "=", and are compared without their surrounding spaces.
		return "", cookieAbsent
	}
	var value string
	res := cookieAbsent
	for i := -1; i < len(more); i++ {
		h := first
		if i >= 0 {
			h = more[i]
		}
		for pos := 0; pos <= len(h); {
			at := strings.Index(h[pos:], name)
			if at < 0 {
				break
			}
			at += pos
			pos = at + 1
			// The name must begin a cookie: only spaces or tabs between it
			// and the start or the previous separator...
			j := at
			for j > 0 && (h[j-1] == ' ' || h[j-1] == '\t') {
				j--
			}
			if j > 0 && h[j-1] != ';' {
				continue
			}
			// ...and be followed by "=", maybe after spaces or tabs.
			k := at + len(name)
			for k < len(h) && (h[k] == ' ' || h[k] == '\t') {
				k++
			}
			if k == len(h) || h[k] != '=' {
				continue
			}
			rest := h[k+1:]
			end := strings.IndexByte(rest, ';')
			if end < 0 {
				end = len(rest)
			}
			if c := strings.IndexByte(rest[:end], ','); c >= 0 {
				end = c
			}
			if res != cookieAbsent {
				return "", cookieAmbiguous
			}
			value = trimSpace(rest[:end])
			res = cookieFound
			pos = k + 1 + end
		}
	}
	if res != cookieFound {
		return "", res
	}
	if len(value) >= 2 && value[0] == '"' && value[len(value)-1] == '"' {
		value = value[1 : len(value)-1]
	}
	if len(value) > maxLen {
		return "", cookieTooLong
	}
	if value == "" {
		return "", cookieAbsent
	}
	if !cookieOctets(value) {
		return "", cookieMalformed
	}
	return value, cookieFound
}

// cookieOctets reports whether every byte of v is a cookieOctet. It tests
// eight bytes at a time (a session value is often a few hundred bytes, read
// on every request): a byte below 0x20 or above 0x7e, or a '"', ';', ','
// or '\\', shows in the word's high bits by the usual has-less-than and
// has-zero-byte arithmetic, which is exact about whether there is one.
func cookieOctets(v string) bool {
	i := 0
	for ; i+8 <= len(v); i += 8 {
		w := v[i : i+8]
		x := uint64(w[0]) | uint64(w[1])<<8 | uint64(w[2])<<16 | uint64(w[3])<<24 |
			uint64(w[4])<<32 | uint64(w[5])<<40 | uint64(w[6])<<48 | uint64(w[7])<<56
		bad := (x-ones8*0x20)&^x&high8 | // a byte below 0x20
			(x+ones8|x)&high8 | // a byte of 0x7f or more
			zeroByte(x^(ones8*'"')) | zeroByte(x^(ones8*';')) | zeroByte(x^(ones8*',')) | zeroByte(x^(ones8*'\\'))
		if bad != 0 {
			return false
		}
	}
	for ; i < len(v); i++ {
		if !cookieOctet[v[i]] {
			return false
		}
	}
	return true
}

const (
	ones8 = 0x0101010101010101
	high8 = 0x8080808080808080
)

// zeroByte is non-zero when a byte of x is zero.
func zeroByte(x uint64) uint64 { return (x - ones8) &^ x & high8 }

// searchableName reports whether a cookie can be called name: not empty,
// without a separator or "=", and not beginning or ending with a space or a
// tab.
func searchableName(name string) bool {
	if name == "" {
		return false
	}
	// A loop: strings.ContainsAny builds a set of its bytes on every call,
	// and this runs on every request.
	for i := 0; i < len(name); i++ {
		if c := name[i]; c == ';' || c == ',' || c == '=' {
			return false
		}
	}
	first, last := name[0], name[len(name)-1]
	return first != ' ' && first != '\t' && last != ' ' && last != '\t'
}

// cookieOctet holds the bytes a cookie value may hold: RFC 6265's
// cookie-octet, plus space, which some servers emit.
var cookieOctet = func() (t [256]bool) {
	for c := 0x20; c < 0x7f; c++ {
		t[c] = c != '"' && c != ';' && c != ',' && c != '\\'
	}
	return t
}()

func trimSpace(s string) string {
	for len(s) > 0 && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	for len(s) > 0 && (s[len(s)-1] == ' ' || s[len(s)-1] == '\t') {
		s = s[:len(s)-1]
	}
	return s
}
