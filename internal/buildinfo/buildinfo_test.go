package buildinfo

import (
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
)

func TestFromBuildInfo_PrefersModuleVersionThenRevision(t *testing.T) {
	for _, tc := range []struct {
		name string
		bi   debug.BuildInfo
		want string
	}{
		{"module version of go install", debug.BuildInfo{Main: debug.Module{Version: "v1.4.0"}}, "v1.4.0"},
		{"devel build with a clean revision", debug.BuildInfo{Main: debug.Module{Version: "(devel)"},
			Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "0123456789abcdef0123"}, {Key: "vcs.modified", Value: "false"}}}, "dev+0123456789ab"},
		{"devel build with changes", debug.BuildInfo{Main: debug.Module{Version: "(devel)"},
			Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "abc"}, {Key: "vcs.modified", Value: "true"}}}, "dev+abc+dirty"},
		{"nothing recorded", debug.BuildInfo{Main: debug.Module{Version: "(devel)"}}, "dev"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := fromBuildInfo(&tc.bi); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

// TestVersion_LinkerFlagSetsIt builds lbauthz with the -X flag that `make
// build` passes and runs `lbauthz version`.
func TestVersion_LinkerFlagSetsIt(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := filepath.Join(t.TempDir(), "lbauthz")
	build := exec.Command("go", "build", "-o", bin,
		"-ldflags", "-X github.com/lbauthz/lbauthz/internal/buildinfo.version=v9.8.7-test", "github.com/lbauthz/lbauthz/cmd/lbauthz")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out, err := exec.Command(bin, "version").CombinedOutput()
	if err != nil {
		t.Fatalf("lbauthz version: %v\n%s", err, out)
	}
	if got := strings.TrimSpace(string(out)); got != "lbauthz v9.8.7-test" {
		t.Errorf("lbauthz version printed %q", got)
	}
}
