package liveblocks

import "unicode/utf8"

// Liveblocks measures strings as JavaScript does: String.prototype.length,
// the number of UTF-16 code units. A character outside the Basic
// Multilingual Plane (most emoji) counts as 2, every other character as 1;
// bytes that are not valid UTF-8 count as 1 each (they are sent as U+FFFD).

// jsLength returns the JavaScript length of s.
func jsLength(s string) int {
	n := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			n++
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r > 0xFFFF {
			n += 2
		} else {
			n++
		}
		i += size
	}
	return n
}

// jsonTextLength returns the JavaScript length that JSON.stringify would give
// for the value encoding/json wrote as b, provided HTML escaping was off.
// The two encoders differ in one respect: encoding/json writes U+2028,
// U+2029 and invalid UTF-8 (as U+FFFD) as six-character \uXXXX escapes, where
// JSON.stringify writes the character itself. Escapes of control characters
// (below U+0020) are the same in both and count in full.
func jsonTextLength(b []byte) int {
	n := 0
	for i := 0; i < len(b); {
		c := b[i]
		switch {
		case c == '\\' && i+1 < len(b) && b[i+1] == 'u' && i+6 <= len(b):
			if unhex4(b[i+2:i+6]) >= 0x20 {
				n++
			} else {
				n += 6
			}
			i += 6
		case c == '\\' && i+1 < len(b):
			// Two-character escape (\" \\ \n ...); counting both bytes here
			// also keeps an escaped backslash from starting a \u match.
			n += 2
			i += 2
		case c < utf8.RuneSelf:
			n++
			i++
		default:
			r, size := utf8.DecodeRune(b[i:])
			if r > 0xFFFF {
				n += 2
			} else {
				n++
			}
			i += size
		}
	}
	return n
}

// unhex4 decodes four hex digits, or returns -1.
func unhex4(h []byte) int {
	v := 0
	for _, c := range h {
		v <<= 4
		switch {
		case c >= '0' && c <= '9':
			v |= int(c - '0')
		case c >= 'a' && c <= 'f':
			v |= int(c-'a') + 10
		case c >= 'A' && c <= 'F':
			v |= int(c-'A') + 10
		default:
			return -1
		}
	}
	return v
}
