package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// writeFile writes content to dir/name, making its folders.
func writeFile(t *testing.T, dir, name, content string, mode os.FileMode) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestGuardNamesThePackageOfWhatIsMissing runs the guard against a manifest
// and a repository folder where exactly one requirement is missing, and
// checks that it fails naming that requirement's package, and only it.
func TestGuardNamesThePackageOfWhatIsMissing(t *testing.T) {
	bin := t.TempDir()
	writeFile(t, bin, "lbauthz-present-tool", "#!/bin/sh\n", 0o755)
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	root := t.TempDir()
	writeFile(t, root, "node_modules/present/package.json", "{}", 0o644)

	present := "program lbauthz-present-tool apt:lbauthz-present\n" +
		"file node_modules/present/package.json npm:present\n"
	tests := []struct {
		name     string
		line     string
		wantText string
	}{
		{"a Debian program", "program lbauthz-no-such-server apt:lbauthz-server-pkg",
			"MISSING program lbauthz-no-such-server: install the Debian package lbauthz-server-pkg (apt-get install lbauthz-server-pkg"},
		{"an absolute file", "file /nonexistent/lbauthz/bin/initdb apt:postgresql-99",
			"MISSING file /nonexistent/lbauthz/bin/initdb: install the Debian package postgresql-99 "},
		{"an npm file", "file node_modules/absent/package.json npm:absent",
			"MISSING file node_modules/absent/package.json: install the npm package absent (npm ci"},
		{"a Go program", "program lbauthz-no-such-gotool go:example.com/gotool/cmd/gotool@v1.2.3",
			"install the Go program example.com/gotool/cmd/gotool@v1.2.3 (go install example.com/gotool/cmd/gotool@v1.2.3"},
		{"a machine program", "program lbauthz-no-such-runtime machine:Node.js 20",
			"MISSING program lbauthz-no-such-runtime: install the Node.js 20, which the machine must provide"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			manifest := writeFile(t, t.TempDir(), "manifest.txt", "# a test manifest\n"+present+tc.line+"\n", 0o644)
			var out, errOut bytes.Buffer
			code := run([]string{"-manifest", manifest, "-root", root}, &out, &errOut)
			if code != 1 {
				t.Fatalf("exit %d, want 1; stdout:\n%s\nstderr:\n%s", code, out.String(), errOut.String())
			}
			lines := strings.Split(strings.TrimSpace(out.String()), "\n")
			if len(lines) != 2 || !strings.Contains(lines[0], tc.wantText) {
				t.Fatalf("output:\n%s\nwant one MISSING line containing %q, then the count", out.String(), tc.wantText)
			}
			if !strings.Contains(lines[1], "1 of 3 requirements") {
				t.Errorf("last line %q does not count 1 of 3", lines[1])
			}
		})
	}
}

// TestGuardPassesWhenAllIsPresent: the same present requirements alone pass.
func TestGuardPassesWhenAllIsPresent(t *testing.T) {
	bin := t.TempDir()
	writeFile(t, bin, "lbauthz-present-tool", "#!/bin/sh\n", 0o755)
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	root := t.TempDir()
	writeFile(t, root, "node_modules/present/package.json", "{}", 0o644)
	manifest := writeFile(t, t.TempDir(), "manifest.txt",
		"program lbauthz-present-tool apt:lbauthz-present\nfile node_modules/present/package.json npm:present\n", 0o644)
	var out, errOut bytes.Buffer
	if code := run([]string{"-manifest", manifest, "-root", root}, &out, &errOut); code != 0 {
		t.Fatalf("exit %d, want 0:\n%s%s", code, out.String(), errOut.String())
	}
	if !strings.Contains(out.String(), "all 2 requirements") {
		t.Errorf("output %q does not say all 2 requirements are present", out.String())
	}
}

// TestGuardFindsTheWellKnownTypesBesideProtoc: with a protoc whose
// installation has no include folder, the guard names libprotobuf-dev
// unless the system folders have the types; with include/ beside bin/, as
// an upstream protoc release unpacks, it finds them there.
func TestGuardFindsTheWellKnownTypesBesideProtoc(t *testing.T) {
	release := t.TempDir()
	writeFile(t, release, "bin/protoc", "#!/bin/sh\n", 0o755)
	t.Setenv("PATH", filepath.Join(release, "bin")+string(os.PathListSeparator)+os.Getenv("PATH"))
	manifest := writeFile(t, t.TempDir(), "manifest.txt",
		"proto-include google/protobuf/duration.proto apt:libprotobuf-dev\n", 0o644)
	check := func() (int, string) {
		var out, errOut bytes.Buffer
		code := run([]string{"-manifest", manifest, "-root", t.TempDir()}, &out, &errOut)
		return code, out.String() + errOut.String()
	}

	if _, err := os.Stat("/usr/include/google/protobuf/descriptor.proto"); err != nil {
		code, out := check()
		if code != 1 || !strings.Contains(out, "install the Debian package libprotobuf-dev") {
			t.Errorf("without include/: exit %d, output:\n%s\nwant a failure naming libprotobuf-dev", code, out)
		}
	}

	inc := filepath.Join(release, "include")
	writeFile(t, inc, "google/protobuf/descriptor.proto", "syntax = \"proto3\";\n", 0o644)
	writeFile(t, inc, "google/protobuf/duration.proto", "syntax = \"proto3\";\n", 0o644)
	if code, out := check(); code != 0 {
		t.Errorf("with include/ beside bin/: exit %d, output:\n%s", code, out)
	}
	var out, errOut bytes.Buffer
	if code := run([]string{"-protoc-include"}, &out, &errOut); code != 0 || strings.TrimSpace(out.String()) != inc {
		t.Errorf("-protoc-include: exit %d, printed %q, want %q (%s)", code, out.String(), inc, errOut.String())
	}
}

// TestGuardChecksTheVersionOfGoPrograms: a Go program of another version
// than the pinned one is reported with both versions; the pinned one passes.
func TestGuardChecksTheVersionOfGoPrograms(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is needed to stamp a version")
	}
	// A module at the tag v1.2.3: go build stamps that version, as go
	// install MODULE@v1.2.3 does.
	mod := t.TempDir()
	writeFile(t, mod, "go.mod", "module example.com/gotool\n\ngo 1.22\n", 0o644)
	writeFile(t, mod, "main.go", "package main\n\nfunc main() {}\n", 0o644)
	for _, args := range [][]string{{"init", "-q"}, {"add", "."},
		{"-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q", "-m", "gotool"}, {"tag", "v1.2.3"}} {
		if out, err := exec.Command("git", append([]string{"-C", mod}, args...)...).CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	bin := t.TempDir()
	build := exec.Command("go", "build", "-o", filepath.Join(bin, "lbauthz-gotool"), ".")
	build.Dir = mod
	build.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-buildvcs=true")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	tests := []struct {
		pinned string
		code   int
		want   string
	}{
		{"example.com/gotool@v1.2.3", 0, "all 1 requirements"},
		{"example.com/gotool@v1.2.4", 1, "is example.com/gotool v1.2.3, not v1.2.4"},
	}
	for _, tc := range tests {
		manifest := writeFile(t, t.TempDir(), "manifest.txt", "program lbauthz-gotool go:"+tc.pinned+"\n", 0o644)
		var out, errOut bytes.Buffer
		code := run([]string{"-manifest", manifest}, &out, &errOut)
		if code != tc.code || !strings.Contains(out.String(), tc.want) {
			t.Errorf("pinned %s: exit %d, output:\n%s%s\nwant exit %d and %q", tc.pinned, code, out.String(), errOut.String(), tc.code, tc.want)
		}
	}
}

// TestMalformedManifestIsRefused: a bad line is an error naming its line,
// not a requirement silently skipped.
func TestMalformedManifestIsRefused(t *testing.T) {
	tests := []struct {
		name, manifest, want string
	}{
		{"two fields", "program nginx\n", "line 1: want KIND WHAT PROVIDER"},
		{"unknown kind", "# c\nbinary nginx apt:nginx\n", "line 2: unknown kind"},
		{"unknown provider", "program nginx pip:nginx\n", "line 1: provider"},
		{"go without version", "program caddy go:github.com/caddyserver/caddy/v2/cmd/caddy\n", "no @version"},
		{"empty", "# nothing\n", "no requirement"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			manifest := writeFile(t, t.TempDir(), "manifest.txt", tc.manifest, 0o644)
			var out, errOut bytes.Buffer
			if code := run([]string{"-manifest", manifest}, &out, &errOut); code != 2 || !strings.Contains(errOut.String(), tc.want) {
				t.Errorf("exit %d, stderr %q, want exit 2 and %q", code, errOut.String(), tc.want)
			}
		})
	}
}

// TestRepositoryManifest: the committed manifest parses, and every Debian
// package in it provides at least one requirement, so that removing any
// one of them makes the guard fail naming it.
func TestRepositoryManifest(t *testing.T) {
	f, err := os.Open("manifest.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	reqs, err := ParseManifest(f)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"libprotobuf-dev", "protobuf-compiler", "nginx", "redis-server", "postgresql-15", "mariadb-server-core", "chromium"} {
		found := false
		for _, p := range Providers(reqs, "apt") {
			found = found || p == want
		}
		if !found {
			t.Errorf("the manifest has no requirement provided by the Debian package %s", want)
		}
	}
}

// TestListMissingLeavesOutWhatIsThere: -list apt -missing names the package
// of a missing program and not that of a program already there, whatever
// installed it (make deps-apt installs only those).
func TestListMissingLeavesOutWhatIsThere(t *testing.T) {
	bin := t.TempDir()
	writeFile(t, bin, "lbauthz-present-tool", "#!/bin/sh\n", 0o755)
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	manifest := writeFile(t, t.TempDir(), "manifest.txt",
		"program lbauthz-present-tool apt:lbauthz-present\nprogram lbauthz-absent-tool apt:lbauthz-absent\n", 0o644)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-list", "apt"}, "lbauthz-absent\nlbauthz-present\n"},
		{[]string{"-list", "apt", "-missing"}, "lbauthz-absent\n"},
	} {
		var out, errOut bytes.Buffer
		if code := run(append(tc.args, "-manifest", manifest), &out, &errOut); code != 0 {
			t.Fatalf("%v: exit %d: %s", tc.args, code, errOut.String())
		}
		if out.String() != tc.want {
			t.Errorf("%v printed %q, want %q", tc.args, out.String(), tc.want)
		}
	}
}
