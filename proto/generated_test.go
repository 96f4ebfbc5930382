// Package proto_test checks that the Go code generated from this folder's
// .proto files is up to date.
package proto_test

import (
	"bytes"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lbauthz/lbauthz/internal/testenv"
)

// TestGeneratedCodeIsFresh regenerates every .pb.go into a temporary folder,
// as `make proto` does, and compares it with the committed file: a .proto
// edited without `make proto` fails here.
func TestGeneratedCodeIsFresh(t *testing.T) {
	for _, f := range staleFiles(t, ".") {
		t.Errorf("%s is stale or missing: run `make proto` and commit the result", filepath.Join("proto", f))
	}
}

// TestStaleCheckCatchesAnEditedProto shows the check above can fail: in a
// copy of this folder, a field added to a .proto leaves its .pb.go stale.
func TestStaleCheckCatchesAnEditedProto(t *testing.T) {
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS(".")); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "lbauthz", "config", "v1", "config.proto")
	src, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	edited := strings.Replace(string(src), "message Listen {", "message Listen {\n  string added_without_make_proto = 99;", 1)
	if edited == string(src) {
		t.Fatal("config.proto has no message Listen to edit")
	}
	if err := os.WriteFile(p, []byte(edited), 0o644); err != nil {
		t.Fatal(err)
	}
	stale := staleFiles(t, dir)
	if len(stale) != 1 || stale[0] != filepath.Join("lbauthz", "config", "v1", "config.pb.go") {
		t.Fatalf("stale = %v, want only config.pb.go", stale)
	}
}

// staleFiles regenerates the Go code of the .proto files under dir into a
// temporary folder and returns the .pb.go files that differ from it.
func staleFiles(t *testing.T, dir string) []string {
	t.Helper()
	protoc, ok := testenv.LookPath("protoc")
	if !ok {
		testenv.Missing(t, "protoc (Debian's protobuf-compiler)")
	}
	plugin, ok := testenv.LookPath("protoc-gen-go")
	if !ok {
		testenv.Missing(t, "protoc-gen-go (make proto installs it)")
	}
	var protos []string
	err := fs.WalkDir(os.DirFS(dir), ".", func(p string, d fs.DirEntry, err error) error {
		if err == nil && strings.HasSuffix(p, ".proto") {
			protos = append(protos, p)
		}
		return err
	})
	if err != nil || len(protos) == 0 {
		t.Fatalf("no .proto files found: %v", err)
	}
	out := t.TempDir()
	args := append([]string{"-I", ".", "-I", "/usr/include", "--plugin=protoc-gen-go=" + plugin,
		"--go_out=" + out, "--go_opt=module=github.com/lbauthz/lbauthz/proto"}, protos...)
	cmd := exec.Command(protoc, args...)
	cmd.Dir = dir
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("protoc: %v\n%s", err, msg)
	}
	var stale []string
	for _, p := range protos {
		gen := strings.TrimSuffix(p, ".proto") + ".pb.go"
		want, err := os.ReadFile(filepath.Join(out, gen))
		if err != nil {
			t.Fatalf("protoc wrote no %s: %v", gen, err)
		}
		got, err := os.ReadFile(filepath.Join(dir, gen))
		if err != nil || !bytes.Equal(got, want) {
			stale = append(stale, gen)
		}
	}
	return stale
}
