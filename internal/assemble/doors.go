package assemble

import (
	"fmt"

	"github.com/lbauthz/lbauthz/authz/door"
	"github.com/lbauthz/lbauthz/authz/door/envoygrpc"
	"github.com/lbauthz/lbauthz/authz/door/httpdoor"
	configv1 "github.com/lbauthz/lbauthz/proto/lbauthz/config/v1"
)

// Doors are the doors lbauthz serves, each a package of its own under
// authz/door. A new door is its package and one line here. HTTP doors wrap
// in this order: the first one listed sees a request first.
var Doors = []door.Builder{
	envoygrpc.Door,
	httpdoor.Door,
}

// BuildDoors builds every door in Doors from a validated config. Each gets
// env with its own named logger.
func BuildDoors(cfg *configv1.Config, env door.Env) ([]door.Door, error) {
	out := make([]door.Door, 0, len(Doors))
	for _, b := range Doors {
		e := env
		e.Log = env.Log.Named(b.Name)
		d, err := b.New(cfg, e)
		if err != nil {
			return nil, fmt.Errorf("door %s: %w", b.Name, err)
		}
		out = append(out, d)
	}
	return out, nil
}

// PrepareDoors reads every reloadable door's settings from a new config; the
// returned apply puts them all in use. An error refuses the reload and
// changes nothing.
func PrepareDoors(doors []door.Door, cfg *configv1.Config) (apply func(), err error) {
	var applies []func()
	for _, d := range doors {
		r, ok := d.(door.Reloadable)
		if !ok {
			continue
		}
		a, err := r.Prepare(cfg)
		if err != nil {
			return nil, fmt.Errorf("door %s: %w", d.Name(), err)
		}
		applies = append(applies, a)
	}
	return func() {
		for _, a := range applies {
			a()
		}
	}, nil
}
