// Package ociimage writes a container image as an OCI image layout in a tar
// file (an "oci-archive", as podman, skopeo and buildah read it), with no
// daemon and no base image: one layer of the given files on an empty root,
// like a Dockerfile's `FROM scratch` stage.
//
// It is what `make image` uses (see cmd/ociimage); it is not a general
// image builder: no base images, no RUN, one platform.
package ociimage

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"path"
	"sort"
	"time"
)

// Media types of the OCI image specification.
const (
	MediaTypeIndex    = "application/vnd.oci.image.index.v1+json"
	MediaTypeManifest = "application/vnd.oci.image.manifest.v1+json"
	MediaTypeConfig   = "application/vnd.oci.image.config.v1+json"
	MediaTypeLayer    = "application/vnd.oci.image.layer.v1.tar+gzip"
)

// File is one file of the image's only layer.
type File struct {
	// Path is absolute, like "/lbauthz".
	Path string
	Mode int64
	Data []byte
}

// Image is what goes into the archive.
type Image struct {
	// Ref names the image in the index (org.opencontainers.image.ref.name),
	// like "lbauthz:v1.2.3".
	Ref        string
	Files      []File
	Entrypoint []string
	// User is "uid:gid".
	User   string
	Labels map[string]string
	// Created is the creation time written in the config and on every file
	// (a fixed time makes the archive reproducible).
	Created time.Time
	// Architecture and OS of the binary, like "amd64" and "linux".
	Architecture, OS string
}

// Descriptor points at a blob.
type Descriptor struct {
	MediaType   string            `json:"mediaType"`
	Digest      string            `json:"digest"`
	Size        int64             `json:"size"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

// Manifest is an OCI image manifest.
type Manifest struct {
	SchemaVersion int               `json:"schemaVersion"`
	MediaType     string            `json:"mediaType"`
	Config        Descriptor        `json:"config"`
	Layers        []Descriptor      `json:"layers"`
	Annotations   map[string]string `json:"annotations,omitempty"`
}

// Index is the image layout's index.json.
type Index struct {
	SchemaVersion int          `json:"schemaVersion"`
	MediaType     string       `json:"mediaType"`
	Manifests     []Descriptor `json:"manifests"`
}

// Config is the image configuration (the part of it this package writes).
type Config struct {
	Created      time.Time `json:"created"`
	Architecture string    `json:"architecture"`
	OS           string    `json:"os"`
	Config       struct {
		User       string            `json:"User,omitempty"`
		Entrypoint []string          `json:"Entrypoint,omitempty"`
		Labels     map[string]string `json:"Labels,omitempty"`
	} `json:"config"`
	RootFS struct {
		Type    string   `json:"type"`
		DiffIDs []string `json:"diff_ids"`
	} `json:"rootfs"`
	History []struct {
		Created   time.Time `json:"created"`
		CreatedBy string    `json:"created_by"`
	} `json:"history,omitempty"`
}

// Write writes img as an oci-archive to w.
func Write(w io.Writer, img Image) error {
	layerTar, err := layer(img)
	if err != nil {
		return err
	}
	var gz bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&gz, gzip.BestCompression)
	if _, err := zw.Write(layerTar); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}

	var cfg Config
	cfg.Created, cfg.Architecture, cfg.OS = img.Created.UTC(), img.Architecture, img.OS
	cfg.Config.User, cfg.Config.Entrypoint, cfg.Config.Labels = img.User, img.Entrypoint, img.Labels
	cfg.RootFS.Type = "layers"
	cfg.RootFS.DiffIDs = []string{digest(layerTar)}
	cfg.History = append(cfg.History, struct {
		Created   time.Time `json:"created"`
		CreatedBy string    `json:"created_by"`
	}{img.Created.UTC(), "ociimage: files on an empty root (FROM scratch)"})
	cfgJSON, err := json.Marshal(cfg)
	if err != nil {
		return err
	}
	man := Manifest{
		SchemaVersion: 2, MediaType: MediaTypeManifest,
		Config:      Descriptor{MediaType: MediaTypeConfig, Digest: digest(cfgJSON), Size: int64(len(cfgJSON))},
		Layers:      []Descriptor{{MediaType: MediaTypeLayer, Digest: digest(gz.Bytes()), Size: int64(gz.Len())}},
		Annotations: img.Labels,
	}
	manJSON, err := json.Marshal(man)
	if err != nil {
		return err
	}
	idx := Index{SchemaVersion: 2, MediaType: MediaTypeIndex, Manifests: []Descriptor{{
		MediaType: MediaTypeManifest, Digest: digest(manJSON), Size: int64(len(manJSON)),
		Annotations: map[string]string{"org.opencontainers.image.ref.name": img.Ref},
	}}}
	idxJSON, err := json.Marshal(idx)
	if err != nil {
		return err
	}

	tw := tar.NewWriter(w)
	put := func(name string, data []byte) error {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(data)), ModTime: img.Created, Typeflag: tar.TypeReg, Format: tar.FormatPAX}); err != nil {
			return err
		}
		_, err := tw.Write(data)
		return err
	}
	if err := tw.WriteHeader(&tar.Header{Name: "blobs/", Mode: 0o755, ModTime: img.Created, Typeflag: tar.TypeDir, Format: tar.FormatPAX}); err != nil {
		return err
	}
	if err := tw.WriteHeader(&tar.Header{Name: "blobs/sha256/", Mode: 0o755, ModTime: img.Created, Typeflag: tar.TypeDir, Format: tar.FormatPAX}); err != nil {
		return err
	}
	for _, f := range []struct {
		name string
		data []byte
	}{
		{"oci-layout", []byte(`{"imageLayoutVersion":"1.0.0"}`)},
		{"index.json", idxJSON},
		{blobPath(manJSON), manJSON},
		{blobPath(cfgJSON), cfgJSON},
		{blobPath(gz.Bytes()), gz.Bytes()},
	} {
		if err := put(f.name, f.data); err != nil {
			return err
		}
	}
	return tw.Close()
}

// layer is the uncompressed tar of the files, with their parent folders.
func layer(img Image) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	dirs := map[string]bool{}
	files := append([]File(nil), img.Files...)
	sort.Slice(files, func(i, j int) bool { return files[i].Path < files[j].Path })
	for _, f := range files {
		if !path.IsAbs(f.Path) || path.Clean(f.Path) != f.Path {
			return nil, fmt.Errorf("file path %q: want a clean absolute path", f.Path)
		}
		var parents []string
		for d := path.Dir(f.Path); d != "/"; d = path.Dir(d) {
			parents = append([]string{d}, parents...)
		}
		for _, d := range parents {
			if dirs[d] {
				continue
			}
			dirs[d] = true
			if err := tw.WriteHeader(&tar.Header{Name: d[1:] + "/", Mode: 0o755, ModTime: img.Created, Typeflag: tar.TypeDir, Format: tar.FormatPAX}); err != nil {
				return nil, err
			}
		}
		if err := tw.WriteHeader(&tar.Header{Name: f.Path[1:], Mode: f.Mode, Size: int64(len(f.Data)), ModTime: img.Created, Typeflag: tar.TypeReg, Format: tar.FormatPAX}); err != nil {
			return nil, err
		}
		if _, err := tw.Write(f.Data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func digest(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

func blobPath(b []byte) string {
	sum := sha256.Sum256(b)
	return "blobs/sha256/" + hex.EncodeToString(sum[:])
}
