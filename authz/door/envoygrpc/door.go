package envoygrpc

import (
	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"google.golang.org/grpc"

	"github.com/lbauthz/lbauthz/authz/door"
	configv1 "github.com/lbauthz/lbauthz/proto/lbauthz/config/v1"
)

// Door registers the gRPC door: envoy.service.auth.v3.Authorization on the
// gRPC listener. It has no settings of its own.
var Door = door.Builder{
	Name: name,
	New: func(_ *configv1.Config, env door.Env) (door.Door, error) {
		return NewServer(env.Engines), nil
	},
}

var _ door.GRPC = (*Server)(nil)

// Name names the door.
func (*Server) Name() string { return name }

// RegisterGRPC registers the Authorization service on s.
func (s *Server) RegisterGRPC(g *grpc.Server) { authv3.RegisterAuthorizationServer(g, s) }
