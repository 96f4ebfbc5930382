package main

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/lbauthz/lbauthz/authz"
	"github.com/lbauthz/lbauthz/internal/authztest"
	"github.com/lbauthz/lbauthz/internal/testenv"
)

func runExplain(t *testing.T, env []string, stdin string, args ...string) (string, int) {
	t.Helper()
	var out strings.Builder
	cmd := exec.Command(binary, append([]string{"explain"}, args...)...)
	cmd.Env, cmd.Stdout, cmd.Stderr = env, &out, &out
	cmd.Stdin = strings.NewReader(stdin)
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return out.String(), code
}

func TestExplain_SaysWhatTheSidecarDecidesAndCallsLiveblocksOnlyWhenAsked(t *testing.T) {
	_, lb := authztest.DevServer(t)
	cfgPath, _, _ := writeConfig(t, `rooms:
  provision:
    - room: "team-{team}:*"
      default_accesses: []
      groups_accesses: { "{team}": ["*:write"] }
`)
	env := append(filterEnv(os.Environ(), "LIVEBLOCKS_"), "LIVEBLOCKS_SECRET_KEY="+testenv.DevSecretKey, "LIVEBLOCKS_BASE_URL="+lb.URL)
	session := authztest.Session(authztest.Alice())

	out, code := runExplain(t, env, "", "--config", cfgPath, "--cookie", "theme=dark; session="+session, "--room", "team-eng:doc-1")
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	for _, want := range []string{
		"POST /api/liveblocks-auth: the auth path",
		"Session     valid (store jwt)",
		"Identity    user alice",
		"groups team, eng",
		"Provision   a rule matches",
		"applies: groups eng (merged to the highest access) -> *:write",
		"POST /v2/identify-user (not sent)",
		`"userId":"alice"`,
		"Decision    token_issued, status 200",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if lb.Calls() != 0 {
		t.Fatalf("%d calls to Liveblocks without --call-liveblocks", lb.Calls())
	}
	if strings.Contains(out, session) {
		t.Fatal("the session appears in the output")
	}

	// The cookie's value alone, from standard input; JSON; Liveblocks called.
	out, code = runExplain(t, env, session+"\n", "--config", cfgPath, "--cookie", "-", "--room", "team-eng:doc-1", "--call-liveblocks", "--json")
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	var x authz.Explanation
	if err := json.Unmarshal([]byte(out), &x); err != nil {
		t.Fatalf("--json output: %v\n%s", err, out)
	}
	if x.Decision.Outcome != "token_issued" || x.Decision.Token["uid"] != "alice" || x.Provision.Outcome != "provisioned" ||
		x.RoomAccesses == nil || strings.Join(x.RoomAccesses.Effective, ",") != "*:write" {
		t.Fatalf("explanation %+v", x)
	}
	if lb.Calls() < 2 || jwtShaped.MatchString(out) {
		t.Fatalf("%d calls to Liveblocks (want the room and the token); token in the output: %v", lb.Calls(), jwtShaped.MatchString(out))
	}

	// A page: the headers the app gets.
	out, _ = runExplain(t, env, "", "--config", cfgPath, "--cookie", session, "--path", "/docs/1")
	if !strings.Contains(out, "To the app  x-user-id: alice") || !strings.Contains(out, "GET /docs/1") {
		t.Fatalf("pass-through explanation:\n%s", out)
	}
	// Without --config: usage.
	if _, code := runExplain(t, env, "", "--cookie", session); code != exitUsage {
		t.Fatalf("exit %d without --config, want %d", code, exitUsage)
	}
}

func TestExplain_ShowsTheOrganizationTheAccessSourceAndWhatItGave(t *testing.T) {
	pg := testenv.StartPostgres(t)
	_, lb := authztest.DevServer(t)
	conn, err := pgx.Connect(context.Background(), pg.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(context.Background(), `CREATE TABLE shares (document_id text, user_id text, role text);
		INSERT INTO shares VALUES ('1', 'alice', 'editor')`); err != nil {
		t.Fatal(err)
	}
	pw := filepath.Join(t.TempDir(), "pg-password")
	if err := os.WriteFile(pw, []byte(testenv.PostgresPassword), 0o600); err != nil {
		t.Fatal(err)
	}
	cfgPath, _, _ := writeConfig(t, `rooms:
  provision:
    - room: "doc-{id}"
      default_accesses: []
      access_source:
        sql:
          dsn: "`+pg.DSN()+`"
          password_file: "`+pw+`"
          query: |
            SELECT 'default', '', '' WHERE $2 <> ''
            UNION ALL SELECT 'user', user_id, CASE role WHEN 'editor' THEN '*:write' ELSE '*:read' END FROM shares WHERE document_id = $2
`)
	env := append(filterEnv(os.Environ(), "LIVEBLOCKS_"), "LIVEBLOCKS_SECRET_KEY="+testenv.DevSecretKey, "LIVEBLOCKS_BASE_URL="+lb.URL)
	out, code := runExplain(t, env, "", "--config", cfgPath, "--cookie", "session="+authztest.Session(authztest.Alice()), "--room", "doc-1")
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	for _, want := range []string{
		"organization (none: the project's default organization)",
		"Access      source postgres " + pg.Addr + "/" + testenv.PostgresDatabase + " of rooms.provision[0] doc-{id} (max_age 1m0s)",
		"user alice   *:write",
		"applies: user alice -> *:write",
		"sync: not run",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, testenv.PostgresPassword) || lb.Calls() != 0 {
		t.Fatalf("password in the output, or %d calls to Liveblocks:\n%s", lb.Calls(), out)
	}
}
