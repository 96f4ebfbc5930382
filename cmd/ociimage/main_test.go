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

// TestImage_IsTheStaticBinaryAsNonRootWithNoShell builds the image as `make
// image` does and reads it back: entrypoint, user, labels, the files of the
// layer, and the binary itself, run.
func TestImage_IsTheStaticBinaryAsNonRootWithNoShell(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "lbauthz-linux-amd64")
	build := exec.Command("go", "build", "-trimpath", "-o", bin,
		"-ldflags", "-s -w -X github.com/lbauthz/lbauthz/internal/buildinfo.version=v0.0.0-imagetest", "github.com/lbauthz/lbauthz/cmd/lbauthz")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	archive := filepath.Join(dir, "image.oci.tar")
	if err := run(bin, "v0.0.0-imagetest", "https://github.com/lbauthz/lbauthz", "abc123", "/etc/ssl/certs/ca-certificates.crt", archive, "amd64"); err != nil {
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

	// The layer: the binary and the CA bundle, nothing else (no shell).
	zr, err := gzip.NewReader(strings.NewReader(string(blob(t, files, man.Layers[0].Digest, nil))))
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(zr)
	var regular []string
	var binary []byte
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
		if h.Name == "lbauthz" {
			binary, _ = io.ReadAll(tr)
			if h.Mode&0o111 == 0 {
				t.Error("/lbauthz is not executable")
			}
		}
	}
	if !slices.Equal(regular, []string{"etc/ssl/certs/ca-certificates.crt", "lbauthz"}) {
		t.Errorf("layer files %v, want only the binary and the CA bundle", regular)
	}

	extracted := filepath.Join(dir, "extracted")
	if err := os.WriteFile(extracted, binary, 0o755); err != nil {
		t.Fatal(err)
	}
	ef, err := elf.Open(extracted)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range ef.Progs {
		if p.Type == elf.PT_INTERP {
			t.Error("the binary is dynamically linked: it cannot run on an empty root")
		}
	}
	ef.Close()
	out, err := exec.Command(extracted, "version").CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "lbauthz v0.0.0-imagetest" {
		t.Errorf("lbauthz version from the image: %v %q", err, out)
	}
}
