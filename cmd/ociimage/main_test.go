package main

import (
	"archive/tar"
	"compress/gzip"
	"debug/elf"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/lbauthz/lbauthz/internal/ociimage"
)

// readArchive returns the files of an oci-archive by name.
func readArchive(t *testing.T, path string) map[string][]byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	files := map[string][]byte{}
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return files
		}
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(tr)
		files[h.Name] = data
	}
}

func blob(t *testing.T, files map[string][]byte, digest string, v any) []byte {
	t.Helper()
	data, ok := files["blobs/sha256/"+strings.TrimPrefix(digest, "sha256:")]
	if !ok {
		t.Fatalf("blob %s missing", digest)
	}
	if v != nil {
		if err := json.Unmarshal(data, v); err != nil {
			t.Fatal(err)
		}
	}
	return data
}

// TestImage_IsTheStaticBinariesAsNonRootWithNoShell builds the image as
// `make image` does and reads it back: entrypoint, user, labels, the files of
// the layer, and the binaries themselves, run.
func TestImage_IsTheStaticBinariesAsNonRootWithNoShell(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binaries")
	}
	dir := t.TempDir()
	build := func(name string) string {
		bin := filepath.Join(dir, name+"-linux-amd64")
		cmd := exec.Command("go", "build", "-trimpath", "-o", bin,
			"-ldflags", "-s -w -X github.com/lbauthz/lbauthz/internal/buildinfo.version=v0.0.0-imagetest", "github.com/lbauthz/lbauthz/cmd/"+name)
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go build %s: %v\n%s", name, err, out)
		}
		return bin
	}
	bin, injector := build("lbauthz"), build("lbauthz-injector")
	archive := filepath.Join(dir, "image.oci.tar")
	if err := run(bin, injector, "v0.0.0-imagetest", "https://github.com/lbauthz/lbauthz", "abc123", "/etc/ssl/certs/ca-certificates.crt", archive, "amd64"); err != nil {
		t.Fatal(err)
	}

	files := readArchive(t, archive)
	if string(files["oci-layout"]) != `{"imageLayoutVersion":"1.0.0"}` {
		t.Errorf("oci-layout %q", files["oci-layout"])
	}
	var idx ociimage.Index
	if err := json.Unmarshal(files["index.json"], &idx); err != nil || len(idx.Manifests) != 1 {
		t.Fatalf("index.json: %v %s", err, files["index.json"])
	}
	var man ociimage.Manifest
	blob(t, files, idx.Manifests[0].Digest, &man)
	var cfg ociimage.Config
	blob(t, files, man.Config.Digest, &cfg)
	if !slices.Equal(cfg.Config.Entrypoint, []string{"/lbauthz"}) || cfg.Config.User != "65532:65532" {
		t.Errorf("entrypoint %v user %q", cfg.Config.Entrypoint, cfg.Config.User)
	}
	if l := cfg.Config.Labels; l["org.opencontainers.image.version"] != "v0.0.0-imagetest" ||
		l["org.opencontainers.image.source"] != "https://github.com/lbauthz/lbauthz" || l["org.opencontainers.image.revision"] != "abc123" {
		t.Errorf("labels %v", l)
	}
	if cfg.OS != "linux" || cfg.Architecture != "amd64" || len(man.Layers) != 1 {
		t.Errorf("platform %s/%s, %d layers", cfg.OS, cfg.Architecture, len(man.Layers))
	}

	// The layer: the binaries and the CA bundle, nothing else (no shell).
	zr, err := gzip.NewReader(strings.NewReader(string(blob(t, files, man.Layers[0].Digest, nil))))
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(zr)
	var regular []string
	binaries := map[string][]byte{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			regular = append(regular, h.Name)
		}
		if h.Name == "lbauthz" || h.Name == "lbauthz-injector" {
			binaries[h.Name], _ = io.ReadAll(tr)
			if h.Mode&0o111 == 0 {
				t.Errorf("/%s is not executable", h.Name)
			}
		}
	}
	if !slices.Equal(regular, []string{"etc/ssl/certs/ca-certificates.crt", "lbauthz", "lbauthz-injector"}) {
		t.Errorf("layer files %v, want only the binaries and the CA bundle", regular)
	}
	for _, name := range []string{"lbauthz", "lbauthz-injector"} {
		checkStaticBinary(t, filepath.Join(dir, "extracted-"+name), binaries[name], name+" v0.0.0-imagetest")
	}
}

// checkStaticBinary writes a binary taken from the image to path, checks
// that it needs no dynamic loader, and runs its version command.
func checkStaticBinary(t *testing.T, extracted string, binary []byte, version string) {
	t.Helper()
	if err := os.WriteFile(extracted, binary, 0o755); err != nil {
		t.Fatal(err)
	}
	ef, err := elf.Open(extracted)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range ef.Progs {
		if p.Type == elf.PT_INTERP {
			t.Errorf("%s is dynamically linked: it cannot run on an empty root", filepath.Base(extracted))
		}
	}
	ef.Close()
	out, err := exec.Command(extracted, "version").CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != version {
		t.Errorf("%s version from the image: %v %q, want %q", filepath.Base(extracted), err, out, version)
	}
}
