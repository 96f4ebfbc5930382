package liveblocks

import (
	"fmt"
	"strconv"
)

// Limits Liveblocks enforces, in JavaScript string length (UTF-16 code
// units), as described at [ValidateIdentity].
const (
	// MaxUserIDLength is the longest userId Liveblocks accepts.
	MaxUserIDLength = 128
	// MaxUserInfoLength is the longest userInfo Liveblocks accepts, once
	// serialized as JSON.
	MaxUserInfoLength = 1024
	// MaxRoomIDLength is the longest room id Liveblocks accepts.
	MaxRoomIDLength = 128
)

// ValidateIdentity reports whether Liveblocks would accept userID and
// userInfo in a token request:
//
//   - userID is not empty and at most 128 characters long;
//   - userInfo is at most 1024 characters once serialized as JSON;
//   - userInfo["name"] and userInfo["avatar"], when present, are strings.
//
// Lengths are counted as Liveblocks counts them, as JavaScript string length
// (UTF-16 code units): an emoji outside the Basic Multilingual Plane counts
// as 2 characters, "é" as 1. The error is a *ValidationError.
//
// [Client.IdentifyUser] and [Client.AuthorizeUser] make the same checks; call
// this to find out earlier, when a session is created, say.
func ValidateIdentity(userID string, userInfo map[string]any) error {
	if err := validateUserID(userID); err != nil {
		return err
	}
	if err := validateUserInfoFields(userInfo); err != nil {
		return err
	}
	if len(userInfo) == 0 {
		return nil
	}
	b := getJSONBody()
	defer putJSONBody(b)
	return b.userInfo(userInfo)
}

func validateUserID(id string) error {
	if id == "" {
		return &ValidationError{Field: "userId", Reason: "is empty"}
	}
	if n := jsLength(id); n > MaxUserIDLength {
		return &ValidationError{Field: "userId", Value: id, Reason: "is " + strconv.Itoa(n) + " characters long; Liveblocks allows at most 128"}
	}
	return nil
}

func validateUserInfoFields(info map[string]any) error {
	for _, key := range [...]string{"name", "avatar"} {
		v, ok := info[key]
		if !ok {
			continue
		}
		if _, isString := v.(string); !isString {
			return &ValidationError{Field: "userInfo." + key, Reason: fmt.Sprintf("must be a string, not %s", jsonKind(v))}
		}
	}
	return nil
}

// userInfo writes the userInfo field unless info is empty, and checks its
// serialized length.
func (b *jsonBody) userInfo(info map[string]any) error {
	if len(info) == 0 {
		return nil
	}
	enc, err := b.field("userInfo", info)
	if err != nil {
		return &ValidationError{Field: "userInfo", Reason: "cannot be encoded as JSON: " + err.Error()}
	}
	if n := jsonTextLength(enc); n > MaxUserInfoLength {
		return &ValidationError{Field: "userInfo", Reason: "is " + strconv.Itoa(n) + " characters long once serialized; Liveblocks allows at most 1024"}
	}
	return nil
}

// jsonKind names the JSON type v would be encoded as, for error messages.
func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case float32, float64, int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64:
		return "a number"
	case []any, []string:
		return "an array"
	case map[string]any, map[string]string:
		return "an object"
	default:
		return fmt.Sprintf("a %T", v)
	}
}
