package session

// MaxIDBytes is the longest session id a store looks up. Session libraries
// make ids of 20 to 128 characters.
const MaxIDBytes = 256

// CheckID returns an *InvalidError when id cannot be a session id that a
// session library made: empty, longer than MaxIDBytes, or holding a byte
// other than an ASCII letter, a digit or one of "-_.~+/=," (base64, base64url,
// hex, UUIDs and PHP's ids use nothing else). The Redis store asks it
// before any lookup, so that a client-chosen value never makes a key with a
// ":" that crosses into another key namespace, a "*" pattern, a "{...}" hash
// tag, spaces or control characters. (The SQL store needs no such check: the
// id is a parameter of a query that reads the session table only.)
func CheckID(id string) error {
	if id == "" {
		return Invalid("empty session id")
	}
	if len(id) > MaxIDBytes {
		return Invalid("malformed session id (too long)")
	}
	for i := 0; i < len(id); i++ {
		if !idByte[id[i]] {
			return Invalid("malformed session id (a character no session library uses)")
		}
	}
	return nil
}

var idByte = func() (t [256]bool) {
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c], t[c-'a'+'A'] = true, true
	}
	for _, c := range "-_.~+/=," {
		t[c] = true
	}
	return t
}()
