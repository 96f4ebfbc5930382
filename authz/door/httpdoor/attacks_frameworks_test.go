package httpdoor_test

import (
	"testing"

	"github.com/lbauthz/lbauthz/authz/door/httpdoor"
	"github.com/lbauthz/lbauthz/internal/authztest"
	"github.com/lbauthz/lbauthz/internal/testenv"
)

// TestAttacks_FrameworkCookieForgeriesAreRefusedAtEveryDoor runs each
// framework cookie preset's forgeries (bad MAC, truncated, another key,
// expired, oversized, a pickled payload, no user) through the gRPC door and
// every HTTP door, with the real Liveblocks dev server behind a counter.
func TestAttacks_FrameworkCookieForgeriesAreRefusedAtEveryDoor(t *testing.T) {
	_, lb := authztest.DevServer(t)
	for _, fa := range authztest.FrameworkAttacks(t) {
		t.Run(fa.Name, func(t *testing.T) {
			e := authztest.Engine(t, fa.YAML, lb.URL, testenv.DevSecretKey)
			base := serveHTTPDoors(t, e, httpdoor.Options{})
			for _, d := range []struct {
				name string
				door authztest.Door
			}{
				{"EnvoyGRPC", grpcDoor(authztest.GRPC(t, e))},
				{"Nginx", nginxDoor(base)},
				{"Forward", forwardDoor(base)},
				{"EnvoyHTTP", envoyHTTPDoor(base)},
			} {
				t.Run(d.name, func(t *testing.T) { authztest.RunAttacks(t, "", fa.Cases, lb, d.door) })
			}
		})
	}
}
