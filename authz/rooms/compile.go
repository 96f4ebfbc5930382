package rooms

import (
	"errors"
	"fmt"
	"slices"
	"strconv"

	"google.golang.org/protobuf/types/known/structpb"

	"github.com/lbauthz/lbauthz/liveblocks"
	configv1 "github.com/lbauthz/lbauthz/proto/lbauthz/config/v1"
)

// Compiled is the rooms section of a config, ready for requests.
type Compiled struct {
	// Rules are the provisioning rules; nil when there are none.
	Rules *Rules
	// Policy is the access-token policy; nil when there is none.
	Policy *Policy
}

// Compile checks and compiles the rooms section of a config (nil is an
// empty section). Errors name the field ("rooms.provision[0].room") and the
// bad value; all of them are reported, joined.
func Compile(cfg *configv1.Rooms) (*Compiled, error) {
	var errs problems
	add := errs.add
	out := &Compiled{}
	if list := cfg.GetProvision(); len(list) > 0 {
		out.Rules = &Rules{}
		for i, r := range list {
			if c, ok := compileRule(fmt.Sprintf("rooms.provision[%d]", i), r, &errs); ok {
				out.Rules.rules = append(out.Rules.rules, c)
			}
		}
	}
	if p := cfg.GetAccessToken(); p != nil {
		if len(p.GetGrants()) == 0 {
			add("rooms.access_token.grants", errors.New("lists no grant; an access token needs at least one room pattern"))
		}
		out.Policy = &Policy{}
		for i, g := range p.GetGrants() {
			if c, ok := compileGrant(fmt.Sprintf("rooms.access_token.grants[%d]", i), g, &errs); ok {
				out.Policy.grants = append(out.Policy.grants, c)
			}
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return out, nil
}

// problems collects the errors of a config section, each naming its field.
type problems []error

func (p *problems) add(field string, err error) {
	*p = append(*p, fmt.Errorf("%s: %w", field, err))
}

func compileRule(field string, r *configv1.ProvisionRule, errs *problems) (rule, bool) {
	before, add := len(*errs), errs.add
	var c rule
	p, err := CompilePattern(r.GetRoom())
	if err != nil {
		add(field+".room", err)
		return c, false
	}
	c.room = p
	isCapture := func(name string) bool { return slices.Contains(p.Names(), name) }
	if c.def, err = parseAccesses(r.GetDefaultAccesses()); err != nil {
		add(field+".default_accesses", err)
	}
	c.groups = compileEntries(field+".groups_accesses", r.GetGroupsAccesses(), isCapture, add)
	c.users = compileEntries(field+".users_accesses", r.GetUsersAccesses(), isCapture, add)
	return c, len(*errs) == before
}

func compileEntries(field string, m map[string]*structpb.ListValue, isCapture func(string) bool, add func(string, error)) []entry {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys) // errors in a stable order
	var out []entry
	for _, k := range keys {
		name := field + "[" + strconv.Quote(k) + "]"
		if k == "" {
			add(name, errors.New("an id is empty"))
			continue
		}
		t, err := compileTemplate(k, isCapture)
		if err != nil {
			add(name, err)
			continue
		}
		list, err := stringList(m[k])
		if err != nil {
			add(name, err)
			continue
		}
		perms, err := parseAccesses(list)
		if err != nil {
			add(name, err)
			continue
		}
		out = append(out, entry{id: t, perms: perms})
	}
	return out
}

// reserved placeholders of a grant's pattern.
const (
	phUserID = "user_id"
	phGroup  = "group"
	phRoom   = "room"
	phOrg    = "organization_id"
)

// isPlaceholder reports whether name is one of a grant pattern's
// placeholders, which a room condition's captures may not be named.
func isPlaceholder(name string) bool {
	return name == phUserID || name == phGroup || name == phRoom || name == phOrg
}

func compileGrant(field string, g *configv1.AccessGrant, errs *problems) (grant, bool) {
	before, add := len(*errs), errs.add
	var c grant
	var names []string
	if g.GetRoom() != "" {
		p, err := CompilePattern(g.GetRoom())
		if err != nil {
			add(field+".room", err)
			return c, false
		}
		for _, name := range p.Names() {
			if isPlaceholder(name) {
				add(field+".room", fmt.Errorf("%q: {%s} is a placeholder of the pattern; name the capture otherwise", g.GetRoom(), name))
			}
		}
		c.room, names = p, p.Names()
	}
	isCapture := func(name string) bool { return slices.Contains(names, name) }
	if g.GetGroup() != "" {
		t, err := compileTemplate(g.GetGroup(), isCapture)
		if err != nil {
			add(field+".group", err)
		} else {
			c.group, c.hasGroup = t, true
		}
	}
	switch pat := g.GetPattern(); {
	case pat == "":
		add(field+".pattern", errors.New("is required (a room id, a prefix followed by \"*\", or \"*\")"))
	default:
		known := func(name string) bool {
			return isPlaceholder(name) || isCapture(name)
		}
		t, err := compileTemplate(pat, known)
		if err != nil {
			add(field+".pattern", err)
			break
		}
		if err := checkPatternShape(t); err != nil {
			add(field+".pattern", fmt.Errorf("%q %w", pat, err))
			break
		}
		c.pattern = t
	}
	perms, err := parsePermissions(g.GetPermissions())
	if err != nil {
		add(field+".permissions", err)
	}
	c.perms = perms
	return c, len(*errs) == before
}

// checkPatternShape checks what can be checked of a pattern before its
// placeholders are filled: "*" only at the very end, and, without
// placeholders, the rules of liveblocks.ValidatePattern.
func checkPatternShape(t template) error {
	for i, p := range t.parts {
		if p.placeholder {
			continue
		}
		if j := indexStar(p.text); j >= 0 && (i != len(t.parts)-1 || j != len(p.text)-1) {
			return errors.New(`may contain "*" only once, as its last character`)
		}
	}
	if s, ok := t.literal(); ok {
		if err := liveblocks.ValidatePattern(s); err != nil {
			return errors.New(reasonOf(err))
		}
	}
	return nil
}

func indexStar(s string) int {
	for i := 0; i < len(s); i++ {
		if s[i] == '*' {
			return i
		}
	}
	return -1
}

// stringList returns the strings of a YAML list.
func stringList(v *structpb.ListValue) ([]string, error) {
	out := make([]string, 0, len(v.GetValues()))
	for i, item := range v.GetValues() {
		s, ok := item.GetKind().(*structpb.Value_StringValue)
		if !ok {
			return nil, fmt.Errorf("item %d is not a permission string", i)
		}
		out = append(out, s.StringValue)
	}
	return out, nil
}

// parseAccesses parses the accesses of a room, a group or a user: empty (no
// access) or a permission set.
func parseAccesses(list []string) ([]liveblocks.Permission, error) {
	perms := make([]liveblocks.Permission, 0, len(list))
	for _, s := range list {
		p, err := liveblocks.ParsePermission(s)
		if err != nil {
			return nil, errors.New(reasonOf(err))
		}
		perms = append(perms, p)
	}
	if err := liveblocks.ValidateAccesses(perms); err != nil {
		return nil, errors.New(reasonOf(err))
	}
	return perms, nil
}

// parsePermissions parses the non-empty permission set of a token pattern.
func parsePermissions(list []string) ([]liveblocks.Permission, error) {
	if len(list) == 0 {
		return nil, errors.New(`is empty; it needs one of "*:read" or "*:write"`)
	}
	return parseAccesses(list)
}

// reasonOf words a liveblocks.ValidationError for a config field: the value
// and what is wrong with it, without the package prefix.
func reasonOf(err error) string {
	var v *liveblocks.ValidationError
	if !errors.As(err, &v) {
		return err.Error()
	}
	if v.Value == "" {
		return v.Reason
	}
	return strconv.Quote(v.Value) + " " + v.Reason
}
