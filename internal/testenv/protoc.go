package testenv

import (
	"os"
	"path/filepath"
)

// ProtocWellKnownMarker is the file that marks a folder as holding
// protobuf's well-known types (google/protobuf/*.proto), as protoc itself
// checks for its own default include folder.
const ProtocWellKnownMarker = "google/protobuf/descriptor.proto"

// ProtocIncludeCandidates lists, in order, the folders where an installed
// protoc may keep the well-known types: next to the binary (an upstream
// release unpacks bin/protoc beside include/), next to the binary the
// path resolves to (a symlink into such a release), then the system
// folders (Debian's libprotobuf-dev puts them in /usr/include).
func ProtocIncludeCandidates(protoc string) []string {
	var dirs []string
	seen := map[string]bool{}
	add := func(d string) {
		d = filepath.Clean(d)
		if !seen[d] {
			seen[d] = true
			dirs = append(dirs, d)
		}
	}
	bins := []string{filepath.Dir(protoc)}
	if real, err := filepath.EvalSymlinks(protoc); err == nil {
		bins = append(bins, filepath.Dir(real))
	}
	for _, bin := range bins {
		add(filepath.Join(bin, "..", "include"))
		add(filepath.Join(bin, "include"))
	}
	for _, d := range []string{"/usr/include", "/usr/local/include", "/opt/homebrew/include"} {
		add(d)
	}
	return dirs
}

// ProtocInclude returns the first folder of ProtocIncludeCandidates(protoc)
// that holds the well-known types, and false when none does (on Debian:
// libprotobuf-dev is not installed).
func ProtocInclude(protoc string) (string, bool) {
	for _, d := range ProtocIncludeCandidates(protoc) {
		if st, err := os.Stat(filepath.Join(d, ProtocWellKnownMarker)); err == nil && !st.IsDir() {
			return d, true
		}
	}
	return "", false
}
