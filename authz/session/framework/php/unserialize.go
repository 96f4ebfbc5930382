// Package php reads PHP's native sessions: the session data of the "php"
// serialize handler (name|value name|value ...) and of "php_serialize" (one
// serialized array), with an unserializer that builds only plain values.
//
// Objects (O:, C:), enums (E:) and references (r:, R:) are refused, never
// built: nothing in a session can make this package run code or allocate
// more than the input's size allows.
package php

import (
	"bytes"
	"math"
	"strconv"

	"github.com/lbauthz/lbauthz/authz/session/framework"
)

// Format is the name refusals give.
const Format = "php session"

// Unserialize reads one value of PHP's serialize() format: null, booleans,
// integers (int64), floats (float64), strings, and arrays (a []any when the
// keys are 0..n-1 in order, a map[string]any otherwise). It refuses
// objects, enums and references, and input beyond framework's bounds.
func Unserialize(data []byte) (any, error) {
	if len(data) > framework.MaxInput {
		return nil, framework.Refuse(Format, framework.StepTooLarge, "")
	}
	p := parser{data: data}
	v, err := p.value(0)
	if err != nil {
		return nil, err
	}
	if p.pos != len(data) {
		return nil, p.malformed("trailing data")
	}
	return v, nil
}

type parser struct {
	data   []byte
	pos    int
	values int
}

func (p *parser) malformed(detail string) error {
	return framework.Refuse(Format, framework.StepMalformed, detail)
}

func (p *parser) expect(c byte) error {
	if p.pos >= len(p.data) || p.data[p.pos] != c {
		return p.malformed("unexpected byte")
	}
	p.pos++
	return nil
}

// until returns the bytes up to the next c and moves past c.
func (p *parser) until(c byte) ([]byte, error) {
	i := bytes.IndexByte(p.data[p.pos:], c)
	if i < 0 {
		return nil, p.malformed("unterminated value")
	}
	b := p.data[p.pos : p.pos+i]
	p.pos += i + 1
	return b, nil
}

func (p *parser) int(term byte) (int64, error) {
	b, err := p.until(term)
	if err != nil {
		return 0, err
	}
	n, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil {
		return 0, p.malformed("bad integer")
	}
	return n, nil
}

func (p *parser) value(depth int) (any, error) {
	if depth > framework.MaxDepth {
		return nil, framework.Refuse(Format, framework.StepTooLarge, "nested too deep")
	}
	if p.values++; p.values > framework.MaxValues {
		return nil, framework.Refuse(Format, framework.StepTooLarge, "too many values")
	}
	if p.pos+1 >= len(p.data) {
		return nil, p.malformed("truncated")
	}
	kind := p.data[p.pos]
	if kind == 'N' {
		p.pos++
		return nil, p.expect(';')
	}
	p.pos++
	if err := p.expect(':'); err != nil {
		return nil, err
	}
	switch kind {
	case 'b':
		n, err := p.int(';')
		if err != nil || (n != 0 && n != 1) {
			return nil, p.malformed("bad boolean")
		}
		return n == 1, nil
	case 'i':
		return p.int(';')
	case 'd':
		b, err := p.until(';')
		if err != nil {
			return nil, err
		}
		switch string(b) {
		case "INF":
			return math.Inf(1), nil
		case "-INF":
			return math.Inf(-1), nil
		case "NAN":
			return math.NaN(), nil
		}
		f, err := strconv.ParseFloat(string(b), 64)
		if err != nil {
			return nil, p.malformed("bad float")
		}
		return f, nil
	case 's':
		return p.str()
	case 'a':
		return p.array(depth)
	case 'O', 'C':
		return nil, framework.Refuse(Format, framework.StepObject, "PHP objects are not read")
	case 'E':
		return nil, framework.Refuse(Format, framework.StepObject, "PHP enums are not read")
	case 'r', 'R':
		return nil, framework.Refuse(Format, framework.StepObject, "PHP references are not read")
	}
	return nil, p.malformed("unknown type")
}

// str reads s:LEN:"bytes"; after the "s:".
func (p *parser) str() (string, error) {
	n, err := p.int(':')
	if err != nil {
		return "", err
	}
	// The length is checked against what is left before anything is
	// allocated.
	if n < 0 || n > int64(len(p.data)-p.pos-3) {
		return "", p.malformed("bad string length")
	}
	if err := p.expect('"'); err != nil {
		return "", err
	}
	s := string(p.data[p.pos : p.pos+int(n)])
	p.pos += int(n)
	if err := p.expect('"'); err != nil {
		return "", err
	}
	return s, p.expect(';')
}

// array reads a:COUNT:{key;value...} after the "a:".
func (p *parser) array(depth int) (any, error) {
	n, err := p.int(':')
	if err != nil {
		return nil, err
	}
	// Each element takes at least 8 bytes ("i:0;N;" is 6, with the
	// closing brace): a count the input cannot hold is refused before any
	// allocation.
	if n < 0 || n > int64(len(p.data)-p.pos)/4 {
		return nil, p.malformed("bad array length")
	}
	if err := p.expect('{'); err != nil {
		return nil, err
	}
	list := make([]any, 0, n)
	var m map[string]any
	for i := int64(0); i < n; i++ {
		var key string
		index := int64(-1)
		if p.pos >= len(p.data) {
			return nil, p.malformed("truncated")
		}
		switch p.data[p.pos] {
		case 'i':
			p.pos++
			if err := p.expect(':'); err != nil {
				return nil, err
			}
			if index, err = p.int(';'); err != nil {
				return nil, err
			}
			key = strconv.FormatInt(index, 10)
		case 's':
			p.pos++
			if err := p.expect(':'); err != nil {
				return nil, err
			}
			if key, err = p.str(); err != nil {
				return nil, err
			}
		default:
			return nil, p.malformed("bad array key")
		}
		v, err := p.value(depth + 1)
		if err != nil {
			return nil, err
		}
		if m == nil && index == int64(len(list)) {
			list = append(list, v)
			continue
		}
		if m == nil {
			m = make(map[string]any, n)
			for j, e := range list {
				m[strconv.Itoa(j)] = e
			}
		}
		m[key] = v
	}
	if err := p.expect('}'); err != nil {
		return nil, err
	}
	if m != nil {
		return m, nil
	}
	return list, nil
}
