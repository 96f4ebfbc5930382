package session

import (
	"fmt"
	"strings"
)

// OrganizationRule picks a user's Liveblocks organization out of a session
// document: the value at a dotted path, optionally put into a template
// ("ws-{value}"). The nil rule gives no organization.
type OrganizationRule struct {
	path     string
	pre, suf string
}

// NewOrganizationRule returns the rule for path and template; template
// holds "{value}" ("" is "{value}").
func NewOrganizationRule(path, template string) (*OrganizationRule, error) {
	if path == "" {
		return nil, fmt.Errorf("organization: no path")
	}
	r := &OrganizationRule{path: path}
	if template != "" {
		pre, suf, ok := strings.Cut(template, "{value}")
		if !ok {
			return nil, fmt.Errorf(`organization template %q does not hold "{value}"`, template)
		}
		r.pre, r.suf = pre, suf
	}
	return r, nil
}

// Of returns the organization doc names: "" (the project's default
// organization) when the rule is nil or there is no string or number at its
// path.
func (r *OrganizationRule) Of(doc map[string]any) string {
	if r == nil {
		return ""
	}
	v, ok := scalarString(lookup(doc, r.path))
	if !ok || v == "" {
		return ""
	}
	return r.pre + v + r.suf
}
