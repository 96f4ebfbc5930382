package session

import (
	"fmt"
	"regexp"
	"strings"
)

// GroupRules turn a session's group ids into Liveblocks group ids: each id
// is kept only if it matches Keep, then renamed by Rename, or else made by
// Template. Duplicates and empty ids are dropped. The zero value keeps every
// id as it is.
type GroupRules struct {
	keep     *regexp.Regexp
	rename   map[string]string
	pre, suf string // Template around "{value}"
}

// NewGroupRules compiles the rules. keep is an RE2 expression matched
// against the whole id ("" keeps all); template holds "{value}" ("" is
// "{value}"); a renamed id is final (the template does not apply to it).
func NewGroupRules(keep string, rename map[string]string, template string) (*GroupRules, error) {
	g := &GroupRules{}
	if keep != "" {
		re, err := regexp.Compile(`^(?:` + keep + `)$`)
		if err != nil {
			return nil, fmt.Errorf("groups keep: %w", err)
		}
		g.keep = re
	}
	if len(rename) > 0 {
		g.rename = make(map[string]string, len(rename))
		for k, v := range rename {
			g.rename[k] = v
		}
	}
	if template != "" {
		pre, suf, ok := strings.Cut(template, "{value}")
		if !ok {
			return nil, fmt.Errorf(`groups template %q does not hold "{value}"`, template)
		}
		g.pre, g.suf = pre, suf
	}
	return g, nil
}

// Apply returns the Liveblocks ids of the session's ids. Without rules it
// returns ids itself; it never changes ids.
func (g *GroupRules) Apply(ids []string) []string {
	if g == nil || (g.keep == nil && g.rename == nil && g.pre == "" && g.suf == "") {
		return ids
	}
	out := make([]string, 0, len(ids))
	seen := make(map[string]struct{}, len(ids))
	for _, id := range ids {
		if g.keep != nil && !g.keep.MatchString(id) {
			continue
		}
		if r, ok := g.rename[id]; ok {
			id = r
		} else {
			id = g.pre + id + g.suf
		}
		if id == "" {
			continue
		}
		if _, dup := seen[id]; dup {
			continue
		}
		seen[id] = struct{}{}
		out = append(out, id)
	}
	return out
}
