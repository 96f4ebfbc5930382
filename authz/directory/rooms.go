package directory

import (
	"context"
	"errors"
	"net/url"
	"strings"
)

// RoomsInfo returns the info (name, url) of each room of ids, in the same
// order: nil for a room who cannot enter, or that does not exist. Names
// and urls come from the source when it has rooms, else from the
// RoomName and RoomURL templates.
func (d *Directory) RoomsInfo(ctx context.Context, who Who, ids []string) ([]Info, error) {
	if err := checkIDs("room", ids); err != nil {
		return nil, err
	}
	out := make([]Info, len(ids))
	var allowed []string
	for _, id := range ids {
		if _, err := d.enterable(ctx, who, id); err != nil {
			var fe *ForbiddenError
			var ie *InputError
			if errors.As(err, &fe) || errors.As(err, &ie) {
				continue
			}
			return nil, err
		}
		allowed = append(allowed, id)
	}
	if len(allowed) == 0 {
		return out, nil
	}
	infos, err := d.lookup(ctx, d.rooms, allowed, d.roomInfos)
	if err != nil {
		return nil, err
	}
	byID := make(map[string]Info, len(allowed))
	for i, id := range allowed {
		byID[id] = infos[i]
	}
	for i, id := range ids {
		out[i] = byID[id]
	}
	return out, nil
}

// roomInfos asks the source, or fills in the templates.
func (d *Directory) roomInfos(ctx context.Context, ids []string) (map[string]Info, error) {
	m, err := d.opts.Source.Rooms(ctx, ids)
	if err != nil || m != nil {
		return m, err
	}
	m = make(map[string]Info, len(ids))
	for _, id := range ids {
		info := Info{"name": id}
		if d.opts.RoomName != "" {
			info["name"] = strings.ReplaceAll(d.opts.RoomName, "{room}", id)
		}
		if d.opts.RoomURL != "" {
			info["url"] = strings.ReplaceAll(d.opts.RoomURL, "{room}", url.PathEscape(id))
		}
		m[id] = info
	}
	return m, nil
}
