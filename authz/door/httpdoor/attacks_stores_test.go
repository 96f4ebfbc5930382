package httpdoor_test

import (
	"strings"
	"testing"

	"github.com/lbauthz/lbauthz/authz/config"
	"github.com/lbauthz/lbauthz/authz/door/httpdoor"
	"github.com/lbauthz/lbauthz/internal/authztest"
	"github.com/lbauthz/lbauthz/internal/testenv"
)

// TestAttacks_RedisKeysOtherThanSessionsAreNeverSessions runs the Redis
// store's attack table through the gRPC door and every HTTP door, against
// a real Redis that holds an admin's document under other keys of the
// database and under keys below the sessions' prefix: each cookie naming
// one is refused before Redis is asked, and Liveblocks is called only for
// Alice's own session. The same config without its prefix does not load.
func TestAttacks_RedisKeysOtherThanSessionsAreNeverSessions(t *testing.T) {
	_, lb := authztest.DevServer(t)
	r := testenv.StartRedis(t)
	ra := authztest.NewRedisAttacks(t, r.Addr)
	e := ra.Engine(t, lb.URL, testenv.DevSecretKey)
	base := serveHTTPDoors(t, e, httpdoor.Options{})
	cases := ra.Cases()
	for _, d := range []struct {
		name string
		door authztest.Door
	}{
		{"EnvoyGRPC", grpcDoor(authztest.GRPC(t, e))},
		{"Nginx", nginxDoor(base)},
		{"Forward", forwardDoor(base)},
		{"EnvoyHTTP", envoyHTTPDoor(base)},
	} {
		t.Run(d.name, func(t *testing.T) { authztest.RunAttacks(t, "", cases, lb, d.door) })
	}

	unprefixed := strings.Replace(authztest.RedisAttackConfig, "sess:{id}", "{id}", 1)
	if _, err := config.Parse("test.yaml", []byte(unprefixed), func(string) string { return "" }); err == nil ||
		!strings.Contains(err.Error(), "session.redis.key_template") {
		t.Fatalf("a plain-cookie Redis store without a key prefix loaded: %v", err)
	}
}

// TestAttacks_RailsRedisSessionsAreFoundOnlyByTheirHashedID runs the rails
// Redis preset's attack table through the gRPC door and every HTTP door,
// against a real Redis: only a public session id finds a session (under
// its SHA-256), and a Marshal session is refused unread.
func TestAttacks_RailsRedisSessionsAreFoundOnlyByTheirHashedID(t *testing.T) {
	_, lb := authztest.DevServer(t)
	r := testenv.StartRedis(t)
	ra := authztest.NewRailsRedisAttacks(t, r.Addr)
	e := ra.Engine(t, lb.URL, testenv.DevSecretKey)
	base := serveHTTPDoors(t, e, httpdoor.Options{})
	cases := ra.Cases()
	for _, d := range []struct {
		name string
		door authztest.Door
	}{
		{"EnvoyGRPC", grpcDoor(authztest.GRPC(t, e))},
		{"Nginx", nginxDoor(base)},
		{"Forward", forwardDoor(base)},
		{"EnvoyHTTP", envoyHTTPDoor(base)},
	} {
		t.Run(d.name, func(t *testing.T) { authztest.RunAttacks(t, "", cases, lb, d.door) })
	}
}
