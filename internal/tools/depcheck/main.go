// Command depcheck checks that every program and file the tests start or
// read is installed, and names the package that provides each missing one.
// `make test` runs it first, right after `make deps`, so that a missing
// install step fails at once with its package instead of deep inside a test.
//
// Usage:
//
//	go run ./internal/tools/depcheck [-manifest FILE] [-root DIR]
//	go run ./internal/tools/depcheck -list apt|go|npm [-missing] [-manifest FILE]
//	go run ./internal/tools/depcheck -protoc-include
//
// The manifest (manifest.txt beside this file by default) has one line per
// requirement: KIND WHAT PROVIDER, described at its top. Programs are found
// as the tests find them (testenv.LookPath), files relative to -root (the
// repository). With every requirement met it prints one line and exits 0;
// otherwise it prints one line per missing requirement, naming its
// package and how to install it, and exits 1. A malformed manifest exits 2.
//
// -list prints the providers of one kind, one a line; with -missing only
// those of a requirement that is missing (`make deps` installs those);
// -protoc-include prints the folder of protobuf's well-known types
// that `make proto` passes to protoc.
package main

import (
	"bufio"
	"debug/buildinfo"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/lbauthz/lbauthz/internal/testenv"
)

// Requirement is one line of the manifest.
type Requirement struct {
	Line     int    // line number in the manifest
	Kind     string // program, file or proto-include
	What     string // a program name, a path, or a path under the include folder
	Provider string // apt:PKG, go:MODULE@VERSION, npm:PKG, make:TARGET or machine:TEXT
}

// ProviderKind returns "apt", "go", "npm", "make" or "machine".
func (r Requirement) ProviderKind() string { k, _, _ := strings.Cut(r.Provider, ":"); return k }

// ProviderName returns the package, module@version or text after the colon.
func (r Requirement) ProviderName() string { _, n, _ := strings.Cut(r.Provider, ":"); return n }

// Install says how to install the provider, for the failure message.
func (r Requirement) Install() string {
	n := r.ProviderName()
	switch r.ProviderKind() {
	case "apt":
		return fmt.Sprintf("Debian package %s (apt-get install %s; make deps-apt)", n, n)
	case "go":
		return fmt.Sprintf("Go program %s (go install %s; make deps-go)", n, n)
	case "npm":
		return fmt.Sprintf("npm package %s (npm ci; make deps-npm)", n)
	case "make":
		return fmt.Sprintf("program the Makefile builds (make %s)", n)
	default:
		return fmt.Sprintf("%s, which the machine must provide", n)
	}
}

var kinds = map[string]bool{"program": true, "file": true, "proto-include": true}
var providerKinds = map[string]bool{"apt": true, "go": true, "npm": true, "make": true, "machine": true}

// ParseManifest reads requirements, one per line; blank lines and lines
// starting with # are skipped. The provider may hold spaces (machine:...).
func ParseManifest(r io.Reader) ([]Requirement, error) {
	var reqs []Requirement
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		if len(f) < 3 {
			return nil, fmt.Errorf("line %d: want KIND WHAT PROVIDER, got %q", n, line)
		}
		req := Requirement{Line: n, Kind: f[0], What: f[1], Provider: strings.Join(f[2:], " ")}
		if !kinds[req.Kind] {
			return nil, fmt.Errorf("line %d: unknown kind %q (program, file, proto-include)", n, req.Kind)
		}
		if !providerKinds[req.ProviderKind()] || req.ProviderName() == "" {
			return nil, fmt.Errorf("line %d: provider %q is not apt:, go:, npm:, make: or machine: with a name", n, req.Provider)
		}
		if req.ProviderKind() == "go" && !strings.Contains(req.ProviderName(), "@v") {
			return nil, fmt.Errorf("line %d: go provider %q has no @version", n, req.Provider)
		}
		if req.ProviderKind() == "go" && req.Kind != "program" {
			return nil, fmt.Errorf("line %d: a go provider installs a program, not a %s", n, req.Kind)
		}
		reqs = append(reqs, req)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(reqs) == 0 {
		return nil, errors.New("no requirement in the manifest")
	}
	return reqs, nil
}

// Check returns why req is not met, or "" when it is. Relative file paths
// are taken from root.
func Check(req Requirement, root string) string {
	switch req.Kind {
	case "program":
		p, ok := testenv.LookPath(req.What)
		if !ok {
			return "not found on PATH nor in /usr/sbin, /sbin, /usr/local/sbin, /usr/local/bin, ~/go/bin"
		}
		if req.ProviderKind() == "go" {
			return checkGoVersion(p, req.ProviderName())
		}
		return ""
	case "file":
		p := req.What
		if !filepath.IsAbs(p) {
			p = filepath.Join(root, p)
		}
		if st, err := os.Stat(p); err != nil || st.IsDir() {
			return fmt.Sprintf("no file %s", p)
		}
		return ""
	case "proto-include":
		protoc, ok := testenv.LookPath("protoc")
		if !ok {
			return "no protoc to look beside (see the protoc line)"
		}
		dir, ok := testenv.ProtocInclude(protoc)
		if !ok {
			return fmt.Sprintf("protoc %s has no %s in %s", protoc, testenv.ProtocWellKnownMarker,
				strings.Join(testenv.ProtocIncludeCandidates(protoc), ", "))
		}
		if _, err := os.Stat(filepath.Join(dir, req.What)); err != nil {
			return fmt.Sprintf("no %s in %s", req.What, dir)
		}
		return ""
	}
	return "unknown kind " + req.Kind
}

// checkGoVersion compares the module version a Go binary was built from
// with the pinned MODULE@VERSION.
func checkGoVersion(path, pinned string) string {
	_, want, _ := strings.Cut(pinned, "@")
	info, err := buildinfo.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("%s is not a Go program with build information: %v", path, err)
	}
	if info.Main.Version != want {
		return fmt.Sprintf("%s is %s %s, not %s", path, info.Main.Path, info.Main.Version, want)
	}
	return ""
}

// Providers returns the distinct providers of one kind, sorted (for -list).
func Providers(reqs []Requirement, kind string) []string {
	seen := map[string]bool{}
	var out []string
	for _, r := range reqs {
		if r.ProviderKind() == kind && !seen[r.ProviderName()] {
			seen[r.ProviderName()] = true
			if kind == "go" {
				out = append(out, r.What+"="+r.ProviderName())
			} else {
				out = append(out, r.ProviderName())
			}
		}
	}
	sort.Strings(out)
	return out
}

func defaultManifest(root string) string {
	return filepath.Join(root, "internal", "tools", "depcheck", "manifest.txt")
}

func run(args []string, stdout, stderr io.Writer) int {
	fl := flag.NewFlagSet("depcheck", flag.ContinueOnError)
	fl.SetOutput(stderr)
	root := fl.String("root", testenv.RepoRoot(), "the repository, for relative file paths")
	manifest := fl.String("manifest", "", "the manifest (default ROOT/internal/tools/depcheck/manifest.txt)")
	list := fl.String("list", "", "print the providers of this kind (apt, go, npm) and exit")
	missingOnly := fl.Bool("missing", false, "with -list: only the providers of a requirement that is missing (what make deps installs)")
	protocInclude := fl.Bool("protoc-include", false, "print the folder of protobuf's well-known types and exit")
	if err := fl.Parse(args); err != nil {
		return 2
	}
	if *protocInclude {
		protoc, ok := testenv.LookPath("protoc")
		if !ok {
			fmt.Fprintln(stderr, "depcheck: protoc not found: install the Debian package protobuf-compiler (make deps)")
			return 1
		}
		dir, ok := testenv.ProtocInclude(protoc)
		if !ok {
			fmt.Fprintf(stderr, "depcheck: no %s beside %s nor in the system folders: install the Debian package libprotobuf-dev (make deps)\n",
				testenv.ProtocWellKnownMarker, protoc)
			return 1
		}
		fmt.Fprintln(stdout, dir)
		return 0
	}
	if *manifest == "" {
		*manifest = defaultManifest(*root)
	}
	f, err := os.Open(*manifest)
	if err != nil {
		fmt.Fprintf(stderr, "depcheck: %v\n", err)
		return 2
	}
	reqs, err := ParseManifest(f)
	f.Close()
	if err != nil {
		fmt.Fprintf(stderr, "depcheck: %s: %v\n", *manifest, err)
		return 2
	}
	if *list != "" {
		if !providerKinds[*list] {
			fmt.Fprintf(stderr, "depcheck: -list %q: want apt, go, npm or machine\n", *list)
			return 2
		}
		sel := reqs
		if *missingOnly {
			// A program already there is not installed again, whatever
			// package put it there (a kubectl of another package would
			// make Debian's refuse to install over it).
			sel = nil
			for _, r := range reqs {
				if Check(r, *root) != "" {
					sel = append(sel, r)
				}
			}
		}
		for _, p := range Providers(sel, *list) {
			fmt.Fprintln(stdout, p)
		}
		return 0
	}
	missing := 0
	for _, r := range reqs {
		if why := Check(r, *root); why != "" {
			missing++
			fmt.Fprintf(stdout, "MISSING %s %s: install the %s: %s\n", r.Kind, r.What, r.Install(), why)
		}
	}
	if missing > 0 {
		fmt.Fprintf(stdout, "depcheck: %d of %d requirements of %s are missing (make deps installs all but the machine's)\n",
			missing, len(reqs), *manifest)
		return 1
	}
	fmt.Fprintf(stdout, "depcheck: all %d requirements of %s are present\n", len(reqs), *manifest)
	return 0
}

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }
