package rooms

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"
)

// captureClass is what a {name} capture matches: one or more characters
// that are not the separators room ids are usually built with.
const captureClass = `([^:/]+)`

// Pattern is a compiled room id pattern: literal text with {name} captures
// and an optional trailing "*" (see the Rooms message of the config). It is
// compiled once; matching does not compile anything.
type Pattern struct {
	src   string
	re    *regexp.Regexp
	names []string // capture names, in order
}

// CompilePattern compiles a room id pattern.
func CompilePattern(src string) (*Pattern, error) {
	if src == "" {
		return nil, errors.New("is empty")
	}
	if !utf8.ValidString(src) {
		return nil, errors.New("is not valid UTF-8")
	}
	var re strings.Builder
	re.WriteString(`^`)
	p := &Pattern{src: src}
	star := false // a "*" was seen: nothing may follow it
	errStar := fmt.Errorf("%q: \"*\" may only end a pattern", src)
	err := scan(src, func(literal string) error {
		if i := strings.IndexByte(literal, '*'); i >= 0 && i != len(literal)-1 {
			return errStar
		}
		star = strings.HasSuffix(literal, "*")
		re.WriteString(regexp.QuoteMeta(strings.TrimSuffix(literal, "*")))
		if star {
			re.WriteString(`(?s:.*)`)
		}
		return nil
	}, func(name string) error {
		if star {
			return errStar
		}
		for _, n := range p.names {
			if n == name {
				return fmt.Errorf("%q: capture {%s} appears twice", src, name)
			}
		}
		p.names = append(p.names, name)
		re.WriteString(captureClass)
		return nil
	})
	if err != nil {
		return nil, err
	}
	re.WriteString(`$`)
	if p.re, err = regexp.Compile(re.String()); err != nil {
		return nil, fmt.Errorf("%q: %w", src, err)
	}
	return p, nil
}

// String returns the pattern as written.
func (p *Pattern) String() string { return p.src }

// Names returns the capture names, in order. The slice must not be changed.
func (p *Pattern) Names() []string { return p.names }

// Match reports whether id matches, and the captured values.
func (p *Pattern) Match(id string) (Captures, bool) {
	if len(p.names) == 0 {
		if !p.re.MatchString(id) {
			return Captures{}, false
		}
		return Captures{}, true
	}
	m := p.re.FindStringSubmatch(id)
	if m == nil {
		return Captures{}, false
	}
	return Captures{names: p.names, values: m[1:]}, true
}

// Captures are the values a Pattern captured from a room id.
type Captures struct {
	names  []string
	values []string
}

// Get returns the value captured as name.
func (c Captures) Get(name string) (string, bool) {
	for i, n := range c.names {
		if n == name {
			return c.values[i], true
		}
	}
	return "", false
}

// scan splits src into literal text and {name} placeholders, calling
// literal and placeholder in order. Unbalanced braces and bad names are
// errors.
func scan(src string, literal func(string) error, placeholder func(string) error) error {
	for src != "" {
		open := strings.IndexAny(src, "{}")
		if open < 0 {
			return literal(src)
		}
		if src[open] == '}' {
			return fmt.Errorf("%q has a \"}\" without a \"{\"", src)
		}
		if open > 0 {
			if err := literal(src[:open]); err != nil {
				return err
			}
		}
		rest := src[open+1:]
		end := strings.IndexAny(rest, "{}")
		if end < 0 || rest[end] != '}' {
			return fmt.Errorf("%q has a \"{\" without a \"}\"", src)
		}
		name := rest[:end]
		if !isName(name) {
			return fmt.Errorf("{%s}: a placeholder name is letters, digits and \"_\", starting with a letter", name)
		}
		if err := placeholder(name); err != nil {
			return err
		}
		src = rest[end+1:]
	}
	return nil
}

func isName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
		case i > 0 && (c >= '0' && c <= '9' || c == '_'):
		default:
			return false
		}
	}
	return true
}

// template is text with {name} placeholders, filled in per request.
type template struct {
	parts []part
}

type part struct {
	text        string
	placeholder bool
}

// compileTemplate compiles src; known says which placeholder names it may
// use.
func compileTemplate(src string, known func(string) bool) (template, error) {
	var t template
	err := scan(src, func(s string) error {
		t.parts = append(t.parts, part{text: s})
		return nil
	}, func(name string) error {
		if !known(name) {
			return fmt.Errorf("%q: {%s} is not a capture of the room pattern", src, name)
		}
		t.parts = append(t.parts, part{text: name, placeholder: true})
		return nil
	})
	return t, err
}

// uses reports whether the template has the placeholder name.
func (t template) uses(name string) bool {
	for _, p := range t.parts {
		if p.placeholder && p.text == name {
			return true
		}
	}
	return false
}

// literal returns the template's text when it has no placeholder.
func (t template) literal() (string, bool) {
	var b strings.Builder
	for _, p := range t.parts {
		if p.placeholder {
			return "", false
		}
		b.WriteString(p.text)
	}
	return b.String(), true
}

// expand fills the placeholders with value(name). It reports false when a
// value is missing or, with noStar, contains "*".
func (t template) expand(value func(string) (string, bool), noStar bool) (string, bool) {
	if len(t.parts) == 1 && !t.parts[0].placeholder {
		return t.parts[0].text, true
	}
	var b strings.Builder
	for _, p := range t.parts {
		if !p.placeholder {
			b.WriteString(p.text)
			continue
		}
		v, ok := value(p.text)
		if !ok || (noStar && strings.Contains(v, "*")) {
			return "", false
		}
		b.WriteString(v)
	}
	return b.String(), true
}
