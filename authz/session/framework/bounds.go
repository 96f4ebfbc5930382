package framework

import (
	"bytes"
	"compress/zlib"
	"encoding/json"
	"io"
)

// Bounds every decoder applies, whatever the caller's own limits.
const (
	// MaxInput is the largest encoded session a decoder reads (a cookie is
	// far smaller; a stored session rarely reaches it).
	MaxInput = 256 << 10
	// MaxDecoded is the largest payload after decompression.
	MaxDecoded = 1 << 20
	// MaxDepth is how deep lists and maps may nest.
	MaxDepth = 32
	// MaxValues is how many values (scalars, lists, maps) one session may
	// hold.
	MaxValues = 10000
)

// Inflate decompresses zlib data, refusing output over MaxDecoded.
func Inflate(format string, data []byte) ([]byte, error) {
	zr, err := zlib.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, Refuse(format, StepMalformed, "not zlib data")
	}
	defer zr.Close()
	out, err := io.ReadAll(io.LimitReader(zr, MaxDecoded+1))
	if err != nil {
		return nil, Refuse(format, StepMalformed, "bad zlib data")
	}
	if len(out) > MaxDecoded {
		return nil, Refuse(format, StepTooLarge, "decompressed payload over the limit")
	}
	return out, nil
}

// DecodeJSONObject reads one JSON object, numbers as json.Number, after
// checking its nesting depth and the count of its values.
func DecodeJSONObject(format string, data []byte) (map[string]any, error) {
	if err := checkJSONShape(data); err != nil {
		return nil, Refuse(format, StepTooLarge, err.Error())
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var doc map[string]any
	if err := dec.Decode(&doc); err != nil || doc == nil {
		return nil, Refuse(format, StepMalformed, "not a JSON object")
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, Refuse(format, StepMalformed, "not one JSON object")
	}
	return doc, nil
}

type shapeError string

func (e shapeError) Error() string { return string(e) }

// checkJSONShape bounds the depth and the count of values of JSON text
// without decoding it: brackets and commas outside strings.
func checkJSONShape(data []byte) error {
	depth, values := 0, 1
	inString := false
	for i := 0; i < len(data); i++ {
		c := data[i]
		if inString {
			switch c {
			case '\\':
				i++
			case '"':
				inString = false
			}
			continue
		}
		switch c {
		case '"':
			inString = true
		case '{', '[':
			depth++
			values++
			if depth > MaxDepth {
				return shapeError("nested too deep")
			}
		case '}', ']':
			depth--
		case ',':
			values++
		}
		if values > MaxValues {
			return shapeError("too many values")
		}
	}
	return nil
}
