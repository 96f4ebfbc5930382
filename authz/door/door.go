// Package door is what every door has in common. A door turns one proxy
// protocol (Envoy's gRPC ext_authz, nginx's auth_request, forward auth) into
// one engine question, an authz.Request, and the engine's authz.Decision back
// into that protocol. Each door is a package of its own under authz/door,
// owning its settings and its prepared answers; the engine knows none of
// them.
//
// serve builds every registered door (internal/assemble.Doors) from the
// config and puts each on the listener it serves: a GRPC door on the gRPC
// listener, an HTTP door on the HTTP listener. A new door is one package
// that exports a Builder, and one line in that list.
package door

import (
	"net/http"
	"time"

	"go.uber.org/zap"
	"google.golang.org/grpc"

	"github.com/lbauthz/lbauthz/authz"
	configv1 "github.com/lbauthz/lbauthz/proto/lbauthz/config/v1"
)

// Env is what every door is built with.
type Env struct {
	// Engines gives the engine in use; a reload swaps it. A door asks for
	// it once per request.
	Engines authz.EngineSource
	// Log is the door's own logger (named after the door).
	Log *zap.Logger
	// HTTPReadTimeout is the HTTP listener's read timeout
	// (listen.http_timeouts.read; 0: none).
	HTTPReadTimeout time.Duration
}

// A Door serves one proxy protocol. Besides Name it implements GRPC, HTTP
// or both, and Reloadable when a reload can change its settings.
type Door interface {
	// Name names the door in logs (the Builder's name).
	Name() string
}

// GRPC is a door served on the gRPC listener.
type GRPC interface {
	Door
	// RegisterGRPC registers the door's services on s, before s serves.
	// serve reports each registered service SERVING on gRPC health.
	RegisterGRPC(s *grpc.Server)
}

// HTTP is a door served on the HTTP listener.
type HTTP interface {
	Door
	// HTTPHandler returns the handler that answers the door's own paths
	// and passes every other request to next. serve calls it once, before
	// the listener serves; doors wrap in registration order.
	HTTPHandler(next http.Handler) http.Handler
}

// Reloadable is a door whose settings come from the config, so that a
// reload can change them.
type Reloadable interface {
	Door
	// Prepare reads the door's settings from a new, validated config. An
	// error refuses the whole reload; otherwise apply puts the settings in
	// use, and is called only once the new engine is in use too.
	Prepare(cfg *configv1.Config) (apply func(), err error)
}

// Builder builds a door from a validated config.
type Builder struct {
	// Name names the door: "envoy_grpc", "http_doors".
	Name string
	// New builds the door. An error (a setting the door cannot use) stops
	// serve, and names the door.
	New func(cfg *configv1.Config, env Env) (Door, error)
}

// RegisterGRPC registers every GRPC door of doors on s.
func RegisterGRPC(doors []Door, s *grpc.Server) {
	for _, d := range doors {
		if g, ok := d.(GRPC); ok {
			g.RegisterGRPC(s)
		}
	}
}

// HTTPHandler returns the HTTP doors of doors over next: a request goes to
// the first door listed, which passes what is not its own to the next one,
// and the last one to next.
func HTTPHandler(doors []Door, next http.Handler) http.Handler {
	h := next
	for i := len(doors) - 1; i >= 0; i-- {
		if d, ok := doors[i].(HTTP); ok {
			h = d.HTTPHandler(h)
		}
	}
	return h
}
