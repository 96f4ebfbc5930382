package rooms

import (
	"strings"
	"testing"
)

func TestPattern_Match(t *testing.T) {
	cases := []struct {
		pattern, id string
		match       bool
		caps        map[string]string
	}{
		{"org-{org}:doc-{doc}", "org-acme:doc-42", true, map[string]string{"org": "acme", "doc": "42"}},
		{"org-{org}:doc-{doc}", "org-a-b:doc-c-d", true, map[string]string{"org": "a-b", "doc": "c-d"}},
		{"org-{org}:doc-{doc}", "org-acme:doc-", false, nil},
		{"org-{org}:doc-{doc}", "org-:doc-1", false, nil},
		{"org-{org}:doc-{doc}", "org-a:b:doc-1", false, nil},
		{"org-{org}:doc-{doc}", "org-acme:doc-1/x", false, nil},
		{"org-{org}:doc-{doc}", "xorg-acme:doc-1", false, nil},
		{"org-{org}:doc-{doc}", "Org-acme:doc-1", false, nil},
		{"org-{org}:*", "org-acme:", true, map[string]string{"org": "acme"}},
		{"org-{org}:*", "org-acme:a:b/c", true, map[string]string{"org": "acme"}},
		{"org-{org}:*", "org-acme", false, nil},
		{"*", "", true, nil},
		{"*", "anything:at/all", true, nil},
		{"lobby", "lobby", true, nil},
		{"lobby", "lobby2", false, nil},
		{"a.b+c(d)", "a.b+c(d)", true, nil},
		{"a.b+c(d)", "aXb+c(d)", false, nil},
		{"{a}-{b}", "x-y-z", true, map[string]string{"a": "x-y", "b": "z"}},
		{"é-{x}", "é-ü", true, map[string]string{"x": "ü"}},
		{"doc-{id}", "doc-\n", true, map[string]string{"id": "\n"}},
	}
	for _, tc := range cases {
		p, err := CompilePattern(tc.pattern)
		if err != nil {
			t.Fatalf("%q: %v", tc.pattern, err)
		}
		caps, ok := p.Match(tc.id)
		if ok != tc.match {
			t.Errorf("%q matching %q = %v, want %v", tc.pattern, tc.id, ok, tc.match)
			continue
		}
		for name, want := range tc.caps {
			if got, _ := caps.Get(name); got != want {
				t.Errorf("%q on %q: {%s} = %q, want %q", tc.pattern, tc.id, name, got, want)
			}
		}
	}
}

func TestCompilePattern_RefusesBadPatterns(t *testing.T) {
	for pattern, want := range map[string]string{
		"":              "is empty",
		"org-{org":      `without a "}"`,
		"org-org}":      `without a "{"`,
		"a*b":           `"*" may only end`,
		"a*{x}":         `"*" may only end`,
		"**":            `"*" may only end`,
		"{1x}":          "placeholder name",
		"{}":            "placeholder name",
		"{a-b}":         "placeholder name",
		"{x}-{x}":       "appears twice",
		"org-{o{r}g}":   `without a "}"`,
		"org-{org}:{}x": "placeholder name",
	} {
		_, err := CompilePattern(pattern)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("CompilePattern(%q) = %v, want an error saying %q", pattern, err, want)
		}
	}
}

// FuzzPatternMatch checks that compiled patterns never panic and that a
// match's captures put back into the pattern give the id again.
func FuzzPatternMatch(f *testing.F) {
	f.Add("org-{org}:doc-{doc}", "org-acme:doc-42")
	f.Add("{a}-{b}", "x-y-z")
	f.Add("p:*", "p:q")
	f.Fuzz(func(t *testing.T, pattern, id string) {
		p, err := CompilePattern(pattern)
		if err != nil {
			return
		}
		caps, ok := p.Match(id)
		if !ok || strings.Contains(pattern, "*") {
			return
		}
		tpl, err := compileTemplate(pattern, func(string) bool { return true })
		if err != nil {
			t.Fatalf("a pattern that compiles is a template: %v", err)
		}
		if got, ok := tpl.expand(caps.Get, false); !ok || got != id {
			t.Fatalf("pattern %q matched %q, but its captures give back %q", pattern, id, got)
		}
	})
}
