package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/lbauthz/lbauthz/liveblocks"
)

// parseAccesses parses PERMS: a comma-separated permission set, or "none"
// or "" for no access. Errors name the bad permission.
func parseAccesses(s string) ([]liveblocks.Permission, error) {
	if t := strings.TrimSpace(s); t == "" || t == "none" {
		return []liveblocks.Permission{}, nil
	}
	perms, err := liveblocks.ParsePermissions(s)
	if err == nil {
		err = liveblocks.ValidateAccesses(perms)
	}
	if err != nil {
		var verr *liveblocks.ValidationError
		if errors.As(err, &verr) {
			if verr.Value != "" {
				return nil, fmt.Errorf("%q %s", verr.Value, verr.Reason)
			}
			return nil, errors.New(verr.Reason)
		}
		return nil, err
	}
	return perms, nil
}

// permsFlag is --default PERMS; set tells an empty set from no flag.
type permsFlag struct {
	perms []liveblocks.Permission
	set   bool
}

func (f *permsFlag) String() string { return "" }

func (f *permsFlag) Set(s string) error {
	if f.set {
		return errors.New("given twice")
	}
	perms, err := parseAccesses(s)
	if err != nil {
		return err
	}
	f.perms, f.set = perms, true
	return nil
}

// accessFlag is a repeatable --group or --user ID=PERMS.
type accessFlag struct {
	kind string // "group" or "user"
	m    map[string][]liveblocks.Permission
}

func (f *accessFlag) String() string { return "" }

func (f *accessFlag) Set(s string) error {
	id, perms, ok := strings.Cut(s, "=")
	if !ok {
		return fmt.Errorf("want %s-id=PERMS, e.g. my-%s-id=room:write", f.kind, f.kind)
	}
	if id == "" {
		return fmt.Errorf("the %s id before \"=\" is empty", f.kind)
	}
	if _, dup := f.m[id]; dup {
		return fmt.Errorf("%s %q given twice", f.kind, id)
	}
	p, err := parseAccesses(perms)
	if err != nil {
		return err
	}
	if f.m == nil {
		f.m = map[string][]liveblocks.Permission{}
	}
	f.m[id] = p
	return nil
}

// listFlag is a repeatable flag of plain values (--remove-user ID).
type listFlag []string

func (f *listFlag) String() string { return strings.Join(*f, ",") }

func (f *listFlag) Set(s string) error {
	if s == "" {
		return errors.New("is empty")
	}
	*f = append(*f, s)
	return nil
}

// metadataFlag is a repeatable --metadata KEY=VALUE.
type metadataFlag map[string]string

func (f metadataFlag) String() string { return "" }

func (f metadataFlag) Set(s string) error {
	k, v, ok := strings.Cut(s, "=")
	if !ok || k == "" {
		return errors.New("want KEY=VALUE")
	}
	if _, dup := f[k]; dup {
		return fmt.Errorf("key %q given twice", k)
	}
	f[k] = v
	return nil
}

func (f metadataFlag) anyMap() map[string]any {
	if len(f) == 0 {
		return nil
	}
	m := make(map[string]any, len(f))
	for k, v := range f {
		m[k] = v
	}
	return m
}
