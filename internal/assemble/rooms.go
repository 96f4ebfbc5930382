package assemble

import (
	"fmt"

	"github.com/lbauthz/lbauthz/authz/config"
	"github.com/lbauthz/lbauthz/authz/rooms"
	"github.com/lbauthz/lbauthz/authz/rooms/accesssync"
	"github.com/lbauthz/lbauthz/liveblocks"
	configv1 "github.com/lbauthz/lbauthz/proto/lbauthz/config/v1"
)

// roomsFromConfig compiles the rooms section for the mode in use: the
// provisioner of rooms.provision in ID-token mode, the policy of
// rooms.access_token in access-token mode.
func roomsFromConfig(cfg *configv1.Config, lb *liveblocks.Client) (*rooms.Provisioner, *rooms.Policy, error) {
	c, err := rooms.Compile(cfg.GetRooms())
	if err != nil {
		return nil, nil, err
	}
	if cfg.GetLiveblocks().GetMode() == config.ModeAccessToken {
		if c.Policy == nil {
			return nil, nil, fmt.Errorf("rooms.access_token: required by liveblocks.mode %q", config.ModeAccessToken)
		}
		return nil, c.Policy, nil
	}
	if c.Rules.Len() == 0 {
		return nil, nil, nil
	}
	return rooms.NewProvisioner(c.Rules, lb, rooms.ProvisionerOptions{
		Timeout: cfg.GetLiveblocks().GetTimeout().AsDuration(),
	}), nil, nil
}

// accessSyncFromConfig opens the access sources of rooms.provision (nil
// when no rule has one). In access-token mode too: there the sources give
// the tokens' grants for their rooms.
func accessSyncFromConfig(cfg *configv1.Config, lb *liveblocks.Client) (*accesssync.Syncer, error) {
	return accesssync.FromConfig(cfg.GetRooms().GetProvision(), lb, cfg.GetLiveblocks().GetTimeout().AsDuration())
}
