package door_test

import (
	"os/exec"
	"strings"
	"testing"
)

// The engine and the doors are apart: the engine package, and every package
// it imports, import no door and no proxy protocol. A door depends on the
// engine, never the other way round.
func TestEngine_ImportsNoDoorNorProxyProtocol(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "github.com/lbauthz/lbauthz/authz").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	deps := strings.Fields(string(out))
	if len(deps) < 10 {
		t.Fatalf("go list -deps listed %d packages: %q", len(deps), out)
	}
	for _, p := range deps {
		if strings.HasPrefix(p, "github.com/lbauthz/lbauthz/authz/door") ||
			strings.HasPrefix(p, "github.com/envoyproxy/go-control-plane") {
			t.Errorf("the engine depends on %s", p)
		}
	}
}
