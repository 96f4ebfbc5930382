package php

import (
	"bytes"

	"github.com/lbauthz/lbauthz/authz/session/framework"
)

// Serialize handlers of PHP's session.serialize_handler.
const (
	HandlerPHP          = "php"
	HandlerPHPSerialize = "php_serialize"
)

// DecodeSession reads session data written by handler ("php", the default,
// or "php_serialize") into the session's variables.
func DecodeSession(data []byte, handler string) (map[string]any, error) {
	switch handler {
	case HandlerPHPSerialize:
		v, err := Unserialize(data)
		if err != nil {
			return nil, err
		}
		switch x := v.(type) {
		case map[string]any:
			return x, nil
		case []any:
			if len(x) == 0 {
				return map[string]any{}, nil
			}
		}
		return nil, framework.Refuse(Format, framework.StepMalformed, "not a session array")
	case HandlerPHP, "":
		return decodePHPHandler(data)
	}
	return nil, framework.Refuse(Format, framework.StepUnsupported, "unknown serialize handler")
}

// decodePHPHandler reads the "php" handler's name|value name|value ...,
// where each value is in serialize() format.
func decodePHPHandler(data []byte) (map[string]any, error) {
	if len(data) > framework.MaxInput {
		return nil, framework.Refuse(Format, framework.StepTooLarge, "")
	}
	doc := map[string]any{}
	p := parser{data: data}
	for p.pos < len(data) {
		bar := bytes.IndexByte(data[p.pos:], '|')
		if bar <= 0 {
			return nil, p.malformed("no variable name")
		}
		name := string(data[p.pos : p.pos+bar])
		p.pos += bar + 1
		v, err := p.value(1)
		if err != nil {
			return nil, err
		}
		doc[name] = v
	}
	return doc, nil
}

// ValidSessionID reports whether id has the characters and length PHP's
// session ids may have (session.sid_bits_per_character 4, 5 or 6: letters,
// digits, "," and "-"; at most 256), so that it can name a file safely.
func ValidSessionID(id string) bool {
	if id == "" || len(id) > 256 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == ',' || c == '-') {
			return false
		}
	}
	return true
}
