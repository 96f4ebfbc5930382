package testenv

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// RoomClientOptions says which room the real Liveblocks client
// (@liveblocks/client, run by Node) enters, through which auth endpoint.
type RoomClientOptions struct {
	// AuthEndpoint is the absolute URL the client POSTs {"room": RoomID} to,
	// given to createClient as the string form of authEndpoint.
	AuthEndpoint string
	// BaseURL is the Liveblocks server the client opens its WebSocket to,
	// usually DevServer.URL.
	BaseURL string
	// Cookie is the Cookie header value sent with requests to the auth
	// endpoint's origin (and nowhere else), as a browser sends its cookies to a
	// same-origin endpoint. Empty sends no cookie. It is never logged.
	Cookie string
	// Bearer, when set, makes authEndpoint a callback that sends
	// "Authorization: Bearer <Bearer>" (and no cookie), as mobile apps and
	// API clients do. It is never logged.
	Bearer string
	// RoomID is the room to enter.
	RoomID string
	// WriteStorage makes the client, once connected, read the number stored
	// at StorageKey (0 when absent) and write it back plus one.
	WriteStorage bool
	// StorageKey is the storage root key WriteStorage uses; "counter" when empty.
	StorageKey string
	// Timeout is how long the client may take before it reports whatever state
	// the room is in (RoomClientResult.TimedOut). Default 8s.
	Timeout time.Duration
}

// RoomClientResult is what the client saw. The zero value of a field means the
// thing did not happen (no close, no error, no auth answer).
type RoomClientResult struct {
	// Status is the room's status when the result was taken: "connected",
	// "disconnected" (a final failure: the library stopped retrying),
	// "connecting" or "reconnecting" (still trying, see TimedOut), "initial".
	Status string
	// TimedOut is true when Timeout passed before the room was connected (and
	// the requested actions done) or disconnected.
	TimedOut bool

	// Self is known once connected: who the server says we are.
	ConnectionID int
	SelfID       string         // the token's userId
	SelfInfo     map[string]any // the token's userInfo
	CanWrite     bool           // storage write access in this room
	CanComment   bool
	Presence     map[string]any

	// CloseCode is the code of the last WebSocket close before the result was
	// taken (4001 = no access to the room).
	CloseCode int
	// ErrorCode and ErrorMessage come from the room's "error" event, fired
	// when the library gives up: ErrorCode is the close code, or -1 when no
	// socket was involved (the auth endpoint answered 400/401/403/...).
	ErrorCode    int
	ErrorMessage string

	// AuthStatus is the HTTP status of the auth endpoint's last answer.
	AuthStatus int
	// AuthCalls counts the client's requests to the auth endpoint.
	AuthCalls int
	// AuthCookieSent reports whether the last auth request carried a cookie.
	AuthCookieSent bool
	// AuthToken holds the claims of the last token the endpoint returned (nil
	// when none). The token itself never leaves the client.
	AuthToken *TokenClaims
	// AuthFailure is the library's last log line about a retryable auth
	// failure (a 5xx, a 2xx without a token, ...); it fires no error event.
	AuthFailure string

	// StorageWrite is "" when WriteStorage was not asked, "ok" when the server
	// acknowledged the write, "unconfirmed" when it did not in time,
	// "refused:<message>" when the library refused it (a read-only user), or
	// "failed:<message>" when storage could not be loaded.
	StorageWrite string
	// StorageValue is the value at StorageKey after the write (or as found,
	// when the write was refused); JSON numbers are float64.
	StorageValue any

	// Elapsed is the client's own time from start to result, without Node's
	// start-up.
	Elapsed time.Duration
}

// TokenClaims are the claims of a Liveblocks token worth asserting on.
type TokenClaims struct {
	Kind        string              `json:"k"` // "id" or "acc"
	ProjectID   string              `json:"pid"`
	UserID      string              `json:"uid"`
	GroupIDs    []string            `json:"gids"`
	Permissions map[string][]string `json:"perms"`
	UserInfo    map[string]any      `json:"ui"`
	Malformed   bool                `json:"malformed"`
}

// String shows the claims in a test message.
func (c *TokenClaims) String() string {
	if c == nil {
		return "<no token>"
	}
	return fmt.Sprintf("{k:%s uid:%s gids:%v perms:%v ui:%v}", c.Kind, c.UserID, c.GroupIDs, c.Permissions, c.UserInfo)
}

// Connected reports whether the client got into the room.
func (r RoomClientResult) Connected() bool { return r.Status == "connected" }

// StorageRefused reports whether the library refused the storage write.
func (r RoomClientResult) StorageRefused() bool {
	return strings.HasPrefix(r.StorageWrite, "refused:")
}

const defaultRoomClientTimeout = 8 * time.Second

// roomClientStartup is added to Timeout for Node's start-up and the library's
// import before the process is killed; the script itself always answers by
// Timeout.
const roomClientStartup = 10 * time.Second

// RunRoomClient runs the real @liveblocks/client in Node against opts and
// returns what it saw. A room that refuses the client is a result, not an
// error: the test fails only when the client cannot be run or says nothing.
// Without node or node_modules the test is skipped (see Missing).
func RunRoomClient(t testing.TB, opts RoomClientOptions) RoomClientResult {
	t.Helper()
	node, ok := LookPath("node")
	if !ok {
		Missing(t, "node (Node 20)")
	}
	rootDir := RepoRoot()
	for _, pkg := range []string{"@liveblocks/client", "ws"} {
		if _, err := os.Stat(filepath.Join(rootDir, "node_modules", pkg, "package.json")); err != nil {
			Missing(t, "node_modules/%s (run npm ci)", pkg)
		}
	}
	if opts.Timeout <= 0 {
		opts.Timeout = defaultRoomClientTimeout
	}

	type action struct {
		Type string `json:"type"`
		Key  string `json:"key,omitempty"`
	}
	input := struct {
		AuthEndpoint string   `json:"authEndpoint"`
		BaseURL      string   `json:"baseUrl"`
		RoomID       string   `json:"roomId"`
		Actions      []action `json:"actions"`
		TimeoutMs    int64    `json:"timeoutMs"`
	}{opts.AuthEndpoint, opts.BaseURL, opts.RoomID, []action{}, opts.Timeout.Milliseconds()}
	if opts.WriteStorage {
		input.Actions = append(input.Actions, action{Type: "storage.increment", Key: opts.StorageKey})
	}
	arg, err := json.Marshal(input)
	if err != nil {
		t.Fatalf("encoding room client input: %v", err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), opts.Timeout+roomClientStartup)
	defer cancel()
	script := filepath.Join(rootDir, "internal", "testenv", "js", "room-client.mjs")
	cmd := exec.CommandContext(ctx, node, script, string(arg))
	// The script's ES module imports resolve from its own folder upwards, to
	// rootDir/node_modules; NODE_PATH only serves require() calls.
	cmd.Dir = rootDir
	// The cookie goes through the environment, not the command line, so it
	// shows up neither in ps nor in an error that quotes the command.
	cmd.Env = append(os.Environ(),
		"NODE_PATH="+filepath.Join(rootDir, "node_modules"),
		"LB_ROOM_CLIENT_COOKIE="+opts.Cookie,
	)
	if opts.Bearer != "" {
		cmd.Env = append(cmd.Env, "LB_ROOM_CLIENT_BEARER="+opts.Bearer)
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 2 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr

	runErr := cmd.Run()
	clean := func(s string) string { return tail(redactSecrets(redactSecrets(s, opts.Cookie), opts.Bearer), 4000) }
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		t.Fatalf("room client for room %q did not answer within %s (killed)\nstderr:\n%s",
			opts.RoomID, opts.Timeout+roomClientStartup, clean(stderr.String()))
	}
	line := lastLine(stdout.String())
	var out roomClientOutput
	if err := json.Unmarshal([]byte(line), &out); runErr != nil || err != nil || out.Status == "" {
		t.Fatalf("room client for room %q gave no result (exit: %v, parse: %v)\nstdout:\n%s\nstderr:\n%s",
			opts.RoomID, runErr, err, clean(stdout.String()), clean(stderr.String()))
	}
	if s := stderr.String(); s != "" {
		t.Cleanup(func() {
			if t.Failed() {
				t.Logf("--- room client (room %q) stderr ---\n%s", opts.RoomID, clean(s))
			}
		})
	}
	return out.result()
}

// roomClientOutput is the JSON line room-client.mjs prints.
type roomClientOutput struct {
	Status   string `json:"status"`
	TimedOut bool   `json:"timedOut"`
	Self     *struct {
		ConnectionID int            `json:"connectionId"`
		ID           string         `json:"id"`
		Info         map[string]any `json:"info"`
		CanWrite     bool           `json:"canWrite"`
		CanComment   bool           `json:"canComment"`
		Presence     map[string]any `json:"presence"`
	} `json:"self"`
	CloseCode *int `json:"closeCode"`
	Error     *struct {
		Code    *int   `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
	AuthStatus     *int         `json:"authStatus"`
	AuthCalls      int          `json:"authCalls"`
	AuthCookieSent bool         `json:"authCookieSent"`
	AuthToken      *TokenClaims `json:"authToken"`
	AuthFailure    *string      `json:"authFailure"`
	StorageWrite   *string      `json:"storageWrite"`
	StorageValue   any          `json:"storageValue"`
	ElapsedMs      int64        `json:"elapsedMs"`
}

func (o roomClientOutput) result() RoomClientResult {
	r := RoomClientResult{
		Status:         o.Status,
		TimedOut:       o.TimedOut,
		AuthCalls:      o.AuthCalls,
		AuthCookieSent: o.AuthCookieSent,
		AuthToken:      o.AuthToken,
		StorageValue:   o.StorageValue,
		Elapsed:        time.Duration(o.ElapsedMs) * time.Millisecond,
	}
	if s := o.Self; s != nil {
		r.ConnectionID, r.SelfID, r.SelfInfo = s.ConnectionID, s.ID, s.Info
		r.CanWrite, r.CanComment, r.Presence = s.CanWrite, s.CanComment, s.Presence
	}
	if o.CloseCode != nil {
		r.CloseCode = *o.CloseCode
	}
	if e := o.Error; e != nil {
		r.ErrorMessage = e.Message
		if e.Code != nil {
			r.ErrorCode = *e.Code
		}
	}
	if o.AuthStatus != nil {
		r.AuthStatus = *o.AuthStatus
	}
	if o.AuthFailure != nil {
		r.AuthFailure = *o.AuthFailure
	}
	if o.StorageWrite != nil {
		r.StorageWrite = *o.StorageWrite
	}
	return r
}

var jwtPattern = regexp.MustCompile(`eyJ[\w-]*\.[\w-]*\.[\w-]*`)

// redactSecrets masks the cookie value and anything shaped like a JWT, in
// case a library message quoted one.
func redactSecrets(s, cookie string) string {
	if cookie != "" {
		s = strings.ReplaceAll(s, cookie, "<cookie>")
	}
	return jwtPattern.ReplaceAllString(s, "<jwt>")
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}
