// Command ociimage writes lbauthz's container image as an OCI archive, with
// no daemon and no registry: the last stage of the Dockerfile (FROM scratch,
// the static binaries of the sidecar and of the injector, CA certificates, uid
// 65532) assembled from files built on this machine. `make image` runs it.
//
//	ociimage -binary bin/lbauthz-linux-amd64 -injector bin/lbauthz-injector-linux-amd64 \
//	  -version v1.2.3 -out bin/lbauthz-v1.2.3.oci.tar
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/lbauthz/lbauthz/internal/ociimage"
)

func main() {
	binary := flag.String("binary", "", "static lbauthz binary (CGO_ENABLED=0)")
	injector := flag.String("injector", "", "static lbauthz-injector binary (CGO_ENABLED=0), the Kubernetes sidecar injector")
	version := flag.String("version", "dev", "version of the image (tag and label)")
	source := flag.String("source", "https://github.com/lbauthz/lbauthz", "source repository (label)")
	revision := flag.String("revision", "", "commit of the source (label)")
	caCerts := flag.String("ca-certs", "/etc/ssl/certs/ca-certificates.crt", "CA bundle for TLS to Liveblocks")
	out := flag.String("out", "", "archive to write")
	arch := flag.String("arch", "amd64", "architecture of the binary")
	flag.Parse()
	if *binary == "" || *injector == "" || *out == "" {
		fmt.Fprintln(os.Stderr, "ociimage: -binary, -injector and -out are required")
		os.Exit(2)
	}
	if err := run(*binary, *injector, *version, *source, *revision, *caCerts, *out, *arch); err != nil {
		fmt.Fprintf(os.Stderr, "ociimage: %v\n", err)
		os.Exit(1)
	}
}

func run(binary, injector, version, source, revision, caCerts, out, arch string) error {
	bin, err := readELF(binary)
	if err != nil {
		return err
	}
	inj, err := readELF(injector)
	if err != nil {
		return err
	}
	ca, err := os.ReadFile(caCerts)
	if err != nil {
		return fmt.Errorf("CA certificates (Debian's ca-certificates): %w", err)
	}
	// SOURCE_DATE_EPOCH (the commit's time in `make image`) makes the
	// archive the same bytes for the same inputs.
	created := time.Unix(0, 0).UTC()
	if s := os.Getenv("SOURCE_DATE_EPOCH"); s != "" {
		sec, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return fmt.Errorf("SOURCE_DATE_EPOCH %q: %w", s, err)
		}
		created = time.Unix(sec, 0).UTC()
	}
	labels := map[string]string{
		"org.opencontainers.image.title":       "lbauthz",
		"org.opencontainers.image.description": "Liveblocks authentication in front of an unchanged app",
		"org.opencontainers.image.version":     version,
		"org.opencontainers.image.source":      source,
		"org.opencontainers.image.created":     created.Format(time.RFC3339),
	}
	if revision != "" {
		labels["org.opencontainers.image.revision"] = revision
	}
	f, err := os.Create(out + ".tmp")
	if err != nil {
		return err
	}
	err = ociimage.Write(f, ociimage.Image{
		Ref: version,
		Files: []ociimage.File{
			{Path: "/lbauthz", Mode: 0o755, Data: bin},
			{Path: "/lbauthz-injector", Mode: 0o755, Data: inj},
			{Path: "/etc/ssl/certs/ca-certificates.crt", Mode: 0o644, Data: ca},
		},
		Entrypoint:   []string{"/lbauthz"},
		User:         "65532:65532",
		Labels:       labels,
		Created:      created,
		Architecture: arch,
		OS:           "linux",
	})
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(out + ".tmp")
		return err
	}
	return os.Rename(out+".tmp", out)
}

// readELF reads a binary and checks that it is one.
func readELF(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if !bytes.HasPrefix(b, []byte("\x7fELF")) {
		return nil, fmt.Errorf("%s is not an ELF binary", path)
	}
	return b, nil
}
