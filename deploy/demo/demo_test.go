package demo_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lbauthz/lbauthz/internal/testenv"
)

// report is what browser-test.mjs saw.
type report struct {
	Failure     string              `json:"failure"`
	Step        string              `json:"step"`
	Screenshots []string            `json:"screenshots"`
	Console     map[string][]string `json:"console"`
	Visitor     struct {
		LandedOn          string `json:"landedOn"`
		BadPasswordStatus int    `json:"badPasswordStatus"`
		BadPasswordError  string `json:"badPasswordError"`
	} `json:"visitor"`
	Alice struct {
		SignedInAs  string   `json:"signedInAs"`
		People      []person `json:"people"`
		Counter     int      `json:"counter"`
		CursorsSeen []string `json:"cursorsSeen"`
	} `json:"alice"`
	Bob struct {
		SignedInAs  string   `json:"signedInAs"`
		SawCursorOf string   `json:"sawCursorOf"`
		People      []person `json:"people"`
	} `json:"bob"`
	Counter struct {
		Start int   `json:"start"`
		Trail []int `json:"trail"`
		Alice int   `json:"alice"`
		Bob   int   `json:"bob"`
	} `json:"counter"`
	Carol struct {
		Status            string   `json:"status"`
		Counter           int      `json:"counter"`
		IncrementDisabled bool     `json:"incrementDisabled"`
		DecrementDisabled bool     `json:"decrementDisabled"`
		ReadOnlyNote      string   `json:"readOnlyNote"`
		CounterAfterAlice int      `json:"counterAfterAlice"`
		People            []person `json:"people"`
	} `json:"carol"`
	Dave struct {
		Status      string `json:"status"`
		RefusalCode string `json:"refusalCode"`
		Refusal     string `json:"refusal"`
		BoardHidden bool   `json:"boardHidden"`
	} `json:"dave"`
	// Mentions is what alice's Composer offered after "@b" and after "@",
	// and the directory requests her page's resolvers sent until then.
	Mentions struct {
		B        []suggestion      `json:"b"`
		All      []suggestion      `json:"all"`
		Requests []directoryAnswer `json:"requests"`
	} `json:"mentions"`
	// Asked are directory requests the test sent from the pages itself.
	Asked struct {
		AliceUsers     answer `json:"aliceUsers"`
		AliceMentionsD answer `json:"aliceMentionsD"`
		AliceGroups    answer `json:"aliceGroups"`
		AliceRooms     answer `json:"aliceRooms"`
		DaveMentions   answer `json:"daveMentions"`
		VisitorUsers   answer `json:"visitorUsers"`
	} `json:"asked"`
}

// suggestion is one item of the Composer's "@" picker.
type suggestion struct {
	Name         string `json:"name"`
	Description  string `json:"description"`
	Avatar       string `json:"avatar"`
	AvatarLoaded bool   `json:"avatarLoaded"`
}

// directoryAnswer is a request of a page to a directory endpoint
// (/api/liveblocks-users and the others) and lbauthz's answer.
type directoryAnswer struct {
	Path   string              `json:"path"`
	Query  map[string][]string `json:"query"`
	Status int                 `json:"status"`
	Body   json.RawMessage     `json:"body"`
}

type answer struct {
	Status int             `json:"status"`
	Body   json.RawMessage `json:"body"`
}

type person struct {
	ID           string `json:"id"`
	Name         string `json:"name"`
	Access       string `json:"access"`
	AvatarLoaded bool   `json:"avatarLoaded"`
}

// TestDemo_InABrowser runs the quick start as `make run` does (run.sh, on
// free ports) and has four people use it in Chromium: alice and bob (group
// team) see each other, each other's cursor and one counter; carol (group
// viewers) sees it change but cannot change it; dave is refused, and the page
// says so. Then Ctrl-C must stop every part run.sh started. Screenshots of
// each view are saved in the test's artifact folder (go test -artifacts).
// Alice's comment Composer asks lbauthz, through the page's resolvers, for
// the names, avatars and "@" suggestions: Bob is offered, Dave never.
func TestDemo_InABrowser(t *testing.T) {
	testenv.SkipShort(t, "the demo in Chromium") // before building lbauthz-demo
	chromium, ok := testenv.LookPath("chromium")
	if !ok {
		testenv.Missing(t, "chromium (apt-get install chromium)")
	}
	node, ok := testenv.LookPath("node")
	if !ok {
		testenv.Missing(t, "node (Node 20)")
	}
	if _, ok := testenv.LookPath("nginx"); !ok {
		testenv.Missing(t, "nginx (apt-get install nginx-light)")
	}
	root := testenv.RepoRoot()
	for _, pkg := range []string{"playwright-core", "esbuild", "express", "@liveblocks/client", "@liveblocks/react",
		"@liveblocks/react-ui", "react", "react-dom", "emojibase-data", "liveblocks", "bun"} {
		if _, err := os.Stat(filepath.Join(root, "node_modules", pkg, "package.json")); err != nil {
			testenv.Missing(t, "node_modules/%s (run npm ci)", pkg)
		}
	}

	bin := testenv.GoBuild(t, "./deploy/demo/cmd/lbauthz-demo")

	ports := map[string]string{}
	for _, name := range []string{"DEMO_PORT", "APP_PORT", "LB_PORT", "LBAUTHZ_HTTP_PORT", "LBAUTHZ_GRPC_PORT"} {
		_, port, _ := net.SplitHostPort(testenv.FreeAddr(t))
		ports[name] = port
	}
	cmd := exec.Command("bash", filepath.Join(root, "deploy", "demo", "run.sh"))
	cmd.Env = append(os.Environ(), "LBAUTHZ_DEMO_BIN="+bin)
	for k, v := range ports {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	run := testenv.Start(t, "deploy/demo/run.sh", cmd)
	url := "http://127.0.0.1:" + ports["DEMO_PORT"]
	waitOutput(t, run, "Press Ctrl-C to stop.", 60*time.Second)
	if !strings.Contains(run.Output(), "Open "+url+"/") {
		t.Errorf("run.sh does not print the URL %s/:\n%s", url, run.Output())
	}
	workDir := ""
	if m := regexp.MustCompile(`Logs: (\S+)/logs/`).FindStringSubmatch(run.Output()); m != nil {
		workDir = m[1]
	}

	shots := t.ArtifactDir()
	r := runBrowser(t, node, chromium, url, shots)
	t.Logf("screenshots: %s", shots)
	if r.Failure != "" {
		t.Fatalf("the browser run stopped at %q: %s\nscreenshots: %s\nconsole: %v", r.Step, r.Failure, shots, r.Console)
	}

	t.Run("VisitorIsSentToTheLoginForm", func(t *testing.T) {
		if r.Visitor.LandedOn != "/login" {
			t.Errorf("a visitor without a session landed on %q, want /login", r.Visitor.LandedOn)
		}
		if r.Visitor.BadPasswordStatus != 401 || r.Visitor.BadPasswordError == "" {
			t.Errorf("a wrong password got %d %q, want 401 with a message", r.Visitor.BadPasswordStatus, r.Visitor.BadPasswordError)
		}
	})

	t.Run("WritersSeeEachOtherWithNamesAndAvatars", func(t *testing.T) {
		if r.Alice.SignedInAs != "Alice Martin" || r.Bob.SignedInAs != "Bob Chen" {
			t.Errorf("signed in as %q and %q", r.Alice.SignedInAs, r.Bob.SignedInAs)
		}
		wantPeople(t, "alice", r.Alice.People, map[string]string{
			"alice": "Alice Martin (you)/can edit", "bob": "Bob Chen/can edit", "carol": "Carol Diaz/read-only",
		})
		wantPeople(t, "bob", r.Bob.People, map[string]string{
			"bob": "Bob Chen (you)/can edit", "alice": "Alice Martin/can edit", "carol": "Carol Diaz/read-only",
		})
	})

	t.Run("WritersShareOneCounter", func(t *testing.T) {
		c := r.Counter
		if want := []int{c.Start, c.Start + 1, c.Start + 3}; !slices.Equal(c.Trail, want) || c.Alice != c.Bob {
			t.Errorf("counter trail %v (alice %d, bob %d), want %v and both the same", c.Trail, c.Alice, c.Bob, want)
		}
		if r.Alice.Counter != c.Start+4 {
			t.Errorf("alice's counter ends at %d, want %d", r.Alice.Counter, c.Start+4)
		}
	})

	t.Run("LiveCursors", func(t *testing.T) {
		if r.Bob.SawCursorOf != "Alice Martin" {
			t.Errorf("bob saw the cursor of %q, want Alice Martin", r.Bob.SawCursorOf)
		}
		if !slices.Equal(r.Alice.CursorsSeen, []string{"bob", "carol"}) {
			t.Errorf("alice saw the cursors of %v, want bob and carol", r.Alice.CursorsSeen)
		}
	})

	t.Run("ReadOnlyUserSeesButCannotEdit", func(t *testing.T) {
		c := r.Carol
		if c.Status != "connected" || c.Counter != r.Counter.Start+3 || c.CounterAfterAlice != r.Counter.Start+4 {
			t.Errorf("carol: status %q, counter %d then %d; want connected, %d then %d",
				c.Status, c.Counter, c.CounterAfterAlice, r.Counter.Start+3, r.Counter.Start+4)
		}
		if !c.IncrementDisabled || !c.DecrementDisabled || !strings.Contains(c.ReadOnlyNote, "read-only") {
			t.Errorf("carol's buttons disabled: %v/%v, note %q; want both disabled and a read-only note",
				c.IncrementDisabled, c.DecrementDisabled, c.ReadOnlyNote)
		}
		wantPeople(t, "carol", c.People, map[string]string{
			"carol": "Carol Diaz (you)/read-only", "alice": "Alice Martin/can edit", "bob": "Bob Chen/can edit",
		})
	})

	t.Run("UserWithoutAccessSeesTheRefusal", func(t *testing.T) {
		d := r.Dave
		if d.Status != "refused" || d.RefusalCode != "4001" || !d.BoardHidden ||
			!strings.Contains(d.Refusal, "You cannot enter this room") || !strings.Contains(d.Refusal, "4001") {
			t.Errorf("dave: status %q, code %q, board hidden %v, text %q; want the 4001 refusal shown instead of the board",
				d.Status, d.RefusalCode, d.BoardHidden, d.Refusal)
		}
	})

	t.Run("ComposerOffersRoomMembersWithNamesAndAvatarsFromLbauthz", func(t *testing.T) {
		checkComposerMentions(t, r)
	})

	t.Run("DirectoryEndpointsAnswerOnlyWhatTheCallerMaySee", func(t *testing.T) {
		checkDirectoryAnswers(t, r)
	})

	t.Run("ScreenshotsOfEachView", func(t *testing.T) {
		for _, name := range []string{"login", "alice", "bob", "carol", "dave", "alice-mention"} {
			st, err := os.Stat(filepath.Join(shots, name+".png"))
			if err != nil || st.Size() < 1000 {
				t.Errorf("screenshot %s.png: %v", name, err)
			}
		}
	})

	t.Run("CtrlCStopsEverythingItStarted", func(t *testing.T) {
		// A terminal's Ctrl-C signals the whole foreground process group.
		if err := syscall.Kill(-run.Cmd.Process.Pid, syscall.SIGINT); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- run.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("run.sh exited with %v after Ctrl-C, want 0", err)
			}
		case <-time.After(20 * time.Second):
			t.Fatal("run.sh did not stop within 20s of Ctrl-C")
		}
		if !strings.Contains(run.Output(), "stopped.") {
			t.Errorf("run.sh did not say it stopped:\n%s", run.Output())
		}
		for name, port := range ports {
			if c, err := net.DialTimeout("tcp", "127.0.0.1:"+port, time.Second); err == nil {
				c.Close()
				t.Errorf("%s %s still accepts connections after Ctrl-C", name, port)
			}
		}
		if workDir == "" {
			t.Errorf("run.sh did not print its log folder")
		} else if _, err := os.Stat(workDir); !os.IsNotExist(err) {
			t.Errorf("run.sh left %s behind (stat: %v)", workDir, err)
		}
	})
}

// runBrowser runs browser-test.mjs against the demo at url.
func runBrowser(t *testing.T, node, chromium, url, outDir string) report {
	t.Helper()
	input, _ := json.Marshal(map[string]string{"url": url, "outDir": outDir, "chromium": chromium})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	root := testenv.RepoRoot()
	cmd := exec.CommandContext(ctx, node, filepath.Join(root, "deploy", "demo", "browser-test.mjs"), string(input))
	cmd.Dir = root
	// playwright-core never downloads a browser; this says so to any part of
	// it that would look.
	cmd.Env = append(os.Environ(), "PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 2 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	var r report
	if jerr := json.Unmarshal([]byte(lines[len(lines)-1]), &r); err != nil || jerr != nil {
		t.Fatalf("browser-test.mjs gave no report (exit: %v, parse: %v)\nstdout:\n%s\nstderr:\n%s", err, jerr, stdout.String(), stderr.String())
	}
	return r
}

// waitOutput waits until p has printed want.
func waitOutput(t *testing.T, p *testenv.Process, want string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !strings.Contains(p.Output(), want) {
		if p.Exited() {
			t.Fatalf("%s exited before printing %q:\n%s", p.Name, want, p.Output())
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not print %q within %s:\n%s", p.Name, want, timeout, p.Output())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// wantPeople checks who a page lists in the room: id -> "name/access", each
// with its avatar loaded.
func wantPeople(t *testing.T, who string, got []person, want map[string]string) {
	t.Helper()
	seen := map[string]string{}
	for _, p := range got {
		seen[p.ID] = p.Name + "/" + p.Access
		if !p.AvatarLoaded {
			t.Errorf("%s's page: the avatar of %s did not load", who, p.ID)
		}
	}
	if len(got) != len(want) {
		t.Errorf("%s's page lists %v, want %v", who, seen, want)
	}
	for id, w := range want {
		if seen[id] != w {
			t.Errorf("%s's page lists %s as %q, want %q", who, id, seen[id], w)
		}
	}
}

// checkComposerMentions checks what alice's Composer offered after "@b" and
// "@": Bob, with the name and avatar lbauthz answered to the page's
// resolveUsers (the app behind nginx has no such route), and never Dave,
// whom the directory knows but who has no access to the room.
func checkComposerMentions(t *testing.T, r report) {
	t.Helper()
	served := map[string]map[string]any{} // user id -> info, from /api/liveblocks-users answers
	mentionAsked := false
	for _, a := range r.Mentions.Requests {
		if a.Status != 200 {
			t.Errorf("the resolvers' %s %v got %d, want 200", a.Path, a.Query, a.Status)
			continue
		}
		switch a.Path {
		case "/api/liveblocks-users":
			var infos []map[string]any
			if err := json.Unmarshal(a.Body, &infos); err != nil || len(infos) != len(a.Query["userIds"]) {
				t.Errorf("%s %v answered %s (%v), want one entry per id", a.Path, a.Query, a.Body, err)
				continue
			}
			for i, id := range a.Query["userIds"] {
				served[id] = infos[i]
			}
		case "/api/liveblocks-mentions":
			if slices.Equal(a.Query["roomId"], []string{"demo-board"}) && slices.Equal(a.Query["text"], []string{"b"}) {
				mentionAsked = true
				if string(compact(a.Body)) != `[{"id":"bob","kind":"user"}]` {
					t.Errorf("mentions for %q answered %s, want bob alone", "b", a.Body)
				}
			}
		}
	}
	if !mentionAsked {
		t.Errorf("resolveMentionSuggestions never asked lbauthz for roomId=demo-board&text=b; requests: %+v", r.Mentions.Requests)
	}
	bob := served["bob"]
	avatar, _ := bob["avatar"].(string)
	if bob["name"] != "Bob Chen" || !strings.HasPrefix(avatar, "data:image/svg+xml,") {
		t.Fatalf("resolveUsers got %v for bob from lbauthz, want Bob Chen with the directory's data: avatar", bob)
	}
	if len(r.Mentions.B) != 1 || r.Mentions.B[0].Name != "Bob Chen" {
		t.Fatalf(`"@b" offers %+v, want Bob Chen alone`, r.Mentions.B)
	}
	if b := r.Mentions.B[0]; b.Avatar != avatar || !b.AvatarLoaded {
		t.Errorf("Bob's avatar in the picker is %.60q (loaded %v), want the one lbauthz served, %.60q",
			b.Avatar, b.AvatarLoaded, avatar)
	}

	// "@" alone matches everyone: Dave and his group are left out because
	// they have no access to the room. Groups come with the name and
	// description resolveGroupsInfo got from lbauthz.
	var got []string
	for _, s := range r.Mentions.All {
		got = append(got, strings.TrimSpace(s.Name+" "+s.Description))
	}
	if want := []string{"Alice Martin", "Bob Chen", "Carol Diaz", "Team Alice and Bob", "Viewers Carol"}; !slices.Equal(got, want) {
		t.Errorf(`"@" offers %q, want %q`, got, want)
	}
}

// checkDirectoryAnswers checks the directory endpoints asked from the pages
// themselves: Dave is in the directory but not offered for the room, Dave
// may not ask about a room he cannot enter, and a visitor gets 401.
func checkDirectoryAnswers(t *testing.T, r report) {
	t.Helper()
	a := r.Asked
	for _, c := range []struct {
		name   string
		got    answer
		status int
		body   *regexp.Regexp
	}{
		{"alice asks for dave and an unknown id", a.AliceUsers, 200, regexp.MustCompile(`^\[\{"avatar":"data:image/svg\+xml,[^"]+","name":"Dave Okafor"\},null\]$`)},
		{"alice asks for mentions starting with d", a.AliceMentionsD, 200, regexp.MustCompile(`^\[\]$`)},
		{"alice asks for the group team and an unknown one", a.AliceGroups, 200, regexp.MustCompile(`^\[\{"description":"Alice and Bob","name":"Team"\},null\]$`)},
		{"alice asks for the room", a.AliceRooms, 200, regexp.MustCompile(`^\[\{"name":"Shared board","url":"/"\}\]$`)},
		{"dave asks for mentions in the room he cannot enter", a.DaveMentions, 403, regexp.MustCompile(`"error"`)},
		{"a visitor without a session asks for a user", a.VisitorUsers, 401, nil},
	} {
		if c.got.Status != c.status || (c.body != nil && !c.body.Match(compact(c.got.Body))) {
			t.Errorf("%s: %d %s, want %d matching %v", c.name, c.got.Status, c.got.Body, c.status, c.body)
		}
	}
}

// compact returns a JSON document without insignificant spaces and with
// object keys sorted, as encoding/json writes it.
func compact(raw json.RawMessage) []byte {
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return raw
	}
	b, _ := json.Marshal(v)
	return b
}
