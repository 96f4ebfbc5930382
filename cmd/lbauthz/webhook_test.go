package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lbauthz/lbauthz/internal/testenv"
)

// The sidecar does not link the injector's Kubernetes API types: they cost
// every pod idle memory (see docs/performance.md).
func TestBinary_LinksNoKubernetesPackage(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	for _, p := range strings.Fields(string(out)) {
		if strings.HasPrefix(p, "k8s.io/") || strings.HasPrefix(p, "sigs.k8s.io/") || strings.HasSuffix(p, "/internal/inject") {
			t.Errorf("lbauthz links %s", p)
		}
	}
}

// The binary is built without gRPC's golang.org/x/net/trace (tag
// grpcnotrace), in the Makefile and in the Dockerfile alike: it imports
// html/template, whose calls of methods by name make the linker keep every
// exported method of every type (a third of the binary and of its idle
// memory), and with the tag nothing else links a template package.
func TestBuild_LeavesOutTheTemplatePackagesThatDefeatDeadCodeElimination(t *testing.T) {
	for _, f := range []struct{ file, line string }{
		{"../../Makefile", "GO_BUILD := CGO_ENABLED=0 $(GO) build -trimpath -tags grpcnotrace"},
		{"../../Dockerfile", "CGO_ENABLED=0 go build -trimpath -tags grpcnotrace"},
	} {
		b, err := os.ReadFile(f.file)
		if err != nil {
			t.Fatal(err)
		}
		if n := strings.Count(string(b), f.line); n == 0 {
			t.Errorf("%s does not build with %q", f.file, f.line)
		}
	}
	b, _ := os.ReadFile("../../Dockerfile")
	if n, m := strings.Count(string(b), "go build"), strings.Count(string(b), "-tags grpcnotrace"); n != m {
		t.Errorf("the Dockerfile has %d go builds, %d with the tag", n, m)
	}
	out, err := exec.Command("go", "list", "-tags", "grpcnotrace", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	for _, p := range strings.Fields(string(out)) {
		if p == "text/template" || p == "html/template" || p == "golang.org/x/net/trace" {
			t.Errorf("lbauthz links %s", p)
		}
	}
}

// `lbauthz webhook` runs lbauthz-injector when it is installed beside
// lbauthz, as in the image, and says where the injector went when it is not.
func TestWebhook_RunsTheInjectorBesideOrSaysWhereItWent(t *testing.T) {
	needBinary(t)
	beside := t.TempDir()
	alone := t.TempDir()
	for _, dir := range []string{beside, alone} {
		b, err := os.ReadFile(binary)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "lbauthz"), b, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	injector := testenv.GoBuild(t, "./cmd/lbauthz-injector")
	b, err := os.ReadFile(injector)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(beside, injectorBinary), b, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		dir      string
		exit     int
		stdout   string
		stderrIn string
	}{
		{"InjectorBesideRunsWithTheSameArguments", beside, exitOK, "lbauthz-injector ", "now the lbauthz-injector binary"},
		{"NoInjectorBesideIsAUsageError", alone, exitUsage, "", "lbauthz-injector is not installed beside"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr strings.Builder
			cmd := exec.Command(filepath.Join(tc.dir, "lbauthz"), "webhook", "version")
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			code := 0
			if ee, ok := err.(*exec.ExitError); ok {
				code = ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if code != tc.exit || !strings.HasPrefix(stdout.String(), tc.stdout) || !strings.Contains(stderr.String(), tc.stderrIn) {
				t.Errorf("lbauthz webhook version: exit %d, stdout %q, stderr %q; want exit %d, stdout %q..., stderr with %q",
					code, stdout.String(), stderr.String(), tc.exit, tc.stdout, tc.stderrIn)
			}
		})
	}
}
