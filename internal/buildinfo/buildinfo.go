// Package buildinfo tells which lbauthz this is: the version set at build
// time, or what the Go toolchain recorded when none was set.
package buildinfo

import (
	"runtime/debug"
	"strings"
)

// version is set at build time:
//
//	go build -ldflags "-X github.com/lbauthz/lbauthz/internal/buildinfo.version=v1.2.3" ./cmd/lbauthz
//
// `make build` sets it from `git describe`.
var version string

// Version returns the version set at build time; else the module version
// the Go toolchain recorded (`go install ...@v1.2.3`); else the VCS revision
// it recorded ("dev+abc123def456", "+dirty" when the tree had changes);
// else "dev".
func Version() string {
	if version != "" {
		return version
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "dev"
	}
	return fromBuildInfo(bi)
}

func fromBuildInfo(bi *debug.BuildInfo) string {
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	var rev, dirty string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				dirty = "+dirty"
			}
		}
	}
	if rev == "" {
		return "dev"
	}
	return "dev+" + strings.TrimSpace(rev[:min(12, len(rev))]) + dirty
}
