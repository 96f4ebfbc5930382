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
	for i := 0; i < len(value); i++ {
		if !cookieOctet[value[i]] {
			return "", cookieMalformed
		}
	}
	return value, cookieFound
}

// searchableName reports whether a cookie can be called name: not empty,
// without a separator or "=", and not beginning or ending with a space or a
// tab.
func searchableName(name string) bool {
	if name == "" || strings.ContainsAny(name, ";,=") {
		return false
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
