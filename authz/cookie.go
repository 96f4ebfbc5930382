package authz

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
// (first, then more).
// Cookies are separated by ";" and, where a proxy joined repeated Cookie
// headers (Envoy does, with ","), by ",". A value in double quotes is
// unquoted. It does not allocate.
//
// Two cookies of the same name are refused: a browser sends both when the
// app and another path or subdomain each set one, and picking one would let a
// sibling site choose the identity.
func findCookie(first string, more []string, name string, maxLen int) (string, cookieResult) {
	var value string
	res := cookieAbsent
	for i := -1; i < len(more); i++ {
		h := first
		if i >= 0 {
			h = more[i]
		}
		for len(h) > 0 {
			var part string
			if i := indexSep(h); i >= 0 {
				part, h = h[:i], h[i+1:]
			} else {
				part, h = h, ""
			}
			part = trimSpace(part)
			eq := indexByte(part, '=')
			if eq < 0 || trimSpace(part[:eq]) != name {
				continue
			}
			if res != cookieAbsent {
				return "", cookieAmbiguous
			}
			value = trimSpace(part[eq+1:])
			res = cookieFound
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
		// RFC 6265 cookie-octet, plus space which some servers emit.
		c := value[i]
		if c < 0x20 || c >= 0x7f || c == '"' || c == ';' || c == ',' || c == '\\' {
			return "", cookieMalformed
		}
	}
	return value, cookieFound
}

func indexSep(s string) int {
	for i := 0; i < len(s); i++ {
		if s[i] == ';' || s[i] == ',' {
			return i
		}
	}
	return -1
}

func indexByte(s string, c byte) int {
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			return i
		}
	}
	return -1
}

func trimSpace(s string) string {
	for len(s) > 0 && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	for len(s) > 0 && (s[len(s)-1] == ' ' || s[len(s)-1] == '\t') {
		s = s[:len(s)-1]
	}
	return s
}
