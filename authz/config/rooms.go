package config

import (
	"errors"

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
		if len(cfg.GetRooms().GetProvision()) > 0 {
			add("rooms.provision", `set, but liveblocks.mode is "access_token": access tokens do not use the rooms' accesses`)
		}
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
