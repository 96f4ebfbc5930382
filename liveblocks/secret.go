package liveblocks

import "strings"

// ValidateSecretKey reports whether key looks like a Liveblocks secret key:
// it must start with "sk_" and contain only ASCII letters, digits, '_' and
// '-' (the Node SDK's /^[\w-]+$/). The error describes the problem without
// ever including the key.
func ValidateSecretKey(key string) error {
	if key == "" {
		return &ValidationError{Field: "SecretKey", Reason: "is empty"}
	}
	if !strings.HasPrefix(key, "sk_") {
		return &ValidationError{Field: "SecretKey", Reason: `must start with "sk_" (a public key "pk_..." cannot call the REST API)`}
	}
	for i := 0; i < len(key); i++ {
		if !isKeyChar(key[i]) {
			return &ValidationError{Field: "SecretKey", Reason: "may contain only ASCII letters, digits, '_' and '-'; check that it was copied whole and without spaces"}
		}
	}
	return nil
}

func isKeyChar(b byte) bool {
	return b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' || b == '_' || b == '-'
}
