package config

import (
	"errors"
	"strconv"

	"github.com/lbauthz/lbauthz/authz/rooms"
	configv1 "github.com/lbauthz/lbauthz/proto/lbauthz/config/v1"
)

// The values of liveblocks.mode.
const (
	// ModeIDToken hands out ID tokens: Liveblocks decides access from each
	// room's accesses.
	ModeIDToken = "id_token"
	// ModeAccessToken hands out access tokens carrying the permissions that
	// rooms.access_token gives the user.
	ModeAccessToken = "access_token"
)

// validateRooms checks liveblocks.mode and the rooms section, which must
// compile (patterns, templates, permission strings) and fit the mode.
func validateRooms(cfg *configv1.Config) []error {
	var errs []error
	add := func(field, msg string) { errs = append(errs, errors.New(field+": "+msg)) }
	mode := cfg.Liveblocks.Mode
	switch mode {
	case ModeIDToken:
		if cfg.GetRooms().GetAccessToken() != nil {
			add("rooms.access_token", `set, but liveblocks.mode is "id_token"; set liveblocks.mode: access_token to hand out access tokens`)
		}
	case ModeAccessToken:
		if cfg.GetRooms().GetAccessToken() == nil {
			add("rooms.access_token", `required by liveblocks.mode "access_token": the grants say which rooms a token covers`)
		}
		validateAccessTokenRules(add, cfg.GetRooms().GetProvision())
	default:
		add("liveblocks.mode", `"`+mode+`" is not one of id_token, access_token`)
	}
	if _, err := rooms.Compile(cfg.GetRooms()); err != nil {
		var j interface{ Unwrap() []error }
		if errors.As(err, &j) {
			errs = append(errs, j.Unwrap()...)
		} else {
			errs = append(errs, err)
		}
	}
	return errs
}

// validateAccessTokenRules checks rooms.provision in access-token mode:
// there a rule only says where the accesses of its rooms are read (its
// access_source, which becomes the token's grants for the room), since
// access tokens do not use the accesses stored on rooms.
func validateAccessTokenRules(add func(field, msg string), rules []*configv1.ProvisionRule) {
	for i, r := range rules {
		field := "rooms.provision[" + strconv.Itoa(i) + "]"
		if r.GetAccessSource() == nil {
			add(field, `has no access_source, but liveblocks.mode is "access_token": access tokens do not use the rooms' accesses, only an access source's`)
			continue
		}
		if len(r.GetDefaultAccesses()) > 0 || len(r.GetGroupsAccesses()) > 0 || len(r.GetUsersAccesses()) > 0 {
			add(field, `sets accesses, but liveblocks.mode is "access_token": only its access_source is used`)
		}
	}
}
