package main

import (
	"testing"
	"time"

	"github.com/lbauthz/lbauthz/authz/config"
)

// The floor's HTTP listener keeps the timeouts lbauthz serve sets by
// default, so that the HTTP doors are compared with a server configured alike.
func TestHTTPTimeouts_AreLbauthzDefaults(t *testing.T) {
	for _, c := range []struct {
		name        string
		floor, want time.Duration
	}{
		{"read_header", readHeaderTimeout, config.DefaultHTTPReadHeaderTimeout},
		{"read", readTimeout, config.DefaultHTTPReadTimeout},
		{"write", writeTimeout, config.DefaultHTTPWriteTimeout},
		{"idle", idleTimeout, config.DefaultHTTPIdleTimeout},
	} {
		if c.floor != c.want {
			t.Errorf("%s: floor %v, lbauthz's default %v", c.name, c.floor, c.want)
		}
	}
}
