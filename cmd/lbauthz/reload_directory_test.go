package main

import (
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lbauthz/lbauthz/internal/authztest"
	"github.com/lbauthz/lbauthz/internal/testenv"
)

// TestServe_ReloadPutsANewDirectoryInUse changes the directory's file and
// path in the config of a running sidecar: the directory of the new config
// answers, at its new path, and one removed answers no more.
func TestServe_ReloadPutsANewDirectoryInUse(t *testing.T) {
	dir := t.TempDir()
	for name, bob := range map[string]string{"a.json": "Bob", "b.json": "Robert"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(`{"users": {"bob": {"name": "`+bob+`"}}}`), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	section := func(file, path string) string {
		return "directory:\n  file: \"" + filepath.Join(dir, file) + "\"\n  users_path: \"" + path + "\"\n"
	}
	cfgPath, _, httpAddr := writeConfig(t, section("a.json", "/api/liveblocks-users"))
	orig, err := os.ReadFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	base := strings.TrimSuffix(string(orig), section("a.json", "/api/liveblocks-users"))
	cmd := exec.Command(binary, "serve", "--config", cfgPath)
	cmd.Env = append(filterEnv(os.Environ(), "LIVEBLOCKS_"), "LIVEBLOCKS_SECRET_KEY=sk_localdev", "LIVEBLOCKS_BASE_URL=http://127.0.0.1:9")
	p := testenv.Start(t, "lbauthz serve", cmd)
	testenv.WaitHTTP(t, p, "http://"+httpAddr+"/readyz", 10*time.Second)

	session := "session=" + authztest.Session(authztest.Alice())
	get := func(path string) (int, string) {
		req, _ := http.NewRequest(http.MethodGet, "http://"+httpAddr+path+"?userIds=bob", nil)
		req.Header.Set("Cookie", session)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if status, body := get("/api/liveblocks-users"); status != 200 || body != `[{"name":"Bob"}]` {
		t.Fatalf("before the reload: %d %s", status, body)
	}

	writeAtomically(t, cfgPath, base+section("b.json", "/api/people"))
	waitFor(t, "the new directory to answer", func() bool {
		status, body := get("/api/people")
		return status == 200 && body == `[{"name":"Robert"}]`
	})
	if status, _ := get("/api/liveblocks-users"); status != http.StatusNotFound {
		t.Fatalf("the old path answers %d after the reload, want 404", status)
	}

	writeAtomically(t, cfgPath, base)
	waitFor(t, "the directory to be gone", func() bool {
		status, _ := get("/api/people")
		return status == http.StatusNotFound
	})
}
