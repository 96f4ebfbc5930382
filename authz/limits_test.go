package authz_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lbauthz/lbauthz/authz"
	"github.com/lbauthz/lbauthz/authz/door/httpdoor"
	"github.com/lbauthz/lbauthz/internal/authztest"
	"github.com/lbauthz/lbauthz/internal/testenv"
	"github.com/lbauthz/lbauthz/liveblocks"
)

func TestAuthLimits_UserOverBudgetGets429WithRetryAfterOnEveryDoor(t *testing.T) {
	dev := testenv.StartLiveblocks(t)
	yaml := authztest.Config + `
auth_limits:
  per_user: { per_minute: 2, burst: 2 }
`
	for _, door := range tokenDoors(t, yaml, dev.URL) {
		t.Run(door.name, func(t *testing.T) {
			alice := map[string]string{"Cookie": "session=" + authztest.Session(authztest.Alice())}
			for i := range 2 {
				if a := door.send(t, "POST", authztest.AuthPath, alice, "{}"); a.status != 200 {
					t.Fatalf("token %d within the budget: %d %s", i+1, a.status, a.body)
				}
			}
			a := door.send(t, "POST", authztest.AuthPath, alice, "{}")
			if a.status != 429 || !strings.Contains(a.body, `"rate_limited"`) {
				t.Fatalf("over the budget: %d %s, want 429 rate_limited", a.status, a.body)
			}
			// 2 per minute: the next request is allowed in 30 s at most.
			if secs, err := strconv.Atoi(a.header.Get("Retry-After")); err != nil || secs < 1 || secs > 30 {
				t.Fatalf("Retry-After %q, want 1..30 seconds", a.header.Get("Retry-After"))
			}
			// Another user has a budget of their own.
			bob := authztest.Alice()
			bob["sub"] = "bob"
			if a := door.send(t, "POST", authztest.AuthPath, map[string]string{"Cookie": "session=" + authztest.Session(bob)}, "{}"); a.status != 200 {
				t.Fatalf("another user: %d %s", a.status, a.body)
			}
		})
	}
}

// The address limit counts only requests without a valid session, so users
// behind one address do not share a budget, until made-up cookies from that
// address spend it.
func TestAuthLimits_AddressBudgetIsSpentOnlyByRequestsWithoutASession(t *testing.T) {
	dev := testenv.StartLiveblocks(t)
	c := authztest.GRPC(t, authztest.Engine(t, authztest.Config+`
auth_limits:
  per_address: { per_minute: 1, burst: 3 }
`, dev.URL, testenv.DevSecretKey))
	var sessions []string
	for i := range 5 { // more than the address's budget, all from 10.0.0.7
		u := authztest.Alice()
		u["sub"] = "user-" + strconv.Itoa(i)
		sessions = append(sessions, authztest.Session(u))
		if st := ask(t, c, "POST", authztest.AuthPath, map[string]string{"cookie": "session=" + sessions[i]}, "{}"); st != 200 {
			t.Fatalf("user %d with a session: %d", i, st)
		}
	}
	for i := range 3 {
		if st := ask(t, c, "POST", authztest.AuthPath, map[string]string{"cookie": "session=made-up-" + strconv.Itoa(i)}, "{}"); st != 401 {
			t.Fatalf("made-up cookie %d within the budget: %d, want 401", i, st)
		}
	}
	if st := ask(t, c, "POST", authztest.AuthPath, map[string]string{"cookie": "session=made-up-4"}, "{}"); st != 429 {
		t.Fatalf("made-up cookie over the budget: %d, want 429", st)
	}
	// The address is now refused before the store is asked about sessions
	// it has not seen...
	if st := ask(t, c, "POST", authztest.AuthPath, map[string]string{"cookie": "session=" + authztest.Session(authztest.Alice())}, "{}"); st != 429 {
		t.Fatalf("a session not yet known, from the spent address: %d, want 429", st)
	}
	// ...but the users already known to be signed in from it (an office
	// behind one NAT address) keep getting tokens: someone spending the
	// address's budget cannot lock them out.
	for i, s := range sessions {
		if st := ask(t, c, "POST", authztest.AuthPath, map[string]string{"cookie": "session=" + s}, "{}"); st != 200 {
			t.Fatalf("user %d, signed in earlier, from the spent address: %d, want 200", i, st)
		}
	}
	// Pass-through requests are never limited.
	if st := ask(t, c, "GET", "/", map[string]string{"cookie": "session=made-up-5"}, ""); st != 0 {
		t.Fatalf("a page from the spent address: %d", st)
	}
}

// Behind a trusted proxy the HTTP direct door limits the address the proxy
// names in X-Forwarded-For, and never the proxy's own address.
func TestAuthLimits_HTTPDirectLimitsTheForwardedClient(t *testing.T) {
	dev := testenv.StartLiveblocks(t)
	e := authztest.Engine(t, authztest.Config+`
auth_limits:
  per_address: { per_minute: 1, burst: 1 }
`, dev.URL, testenv.DevSecretKey)
	srv := httptest.NewServer(httpdoor.New(authz.NewHolder(e), httpdoor.Options{}))
	t.Cleanup(srv.Close)
	post := func(xff string) int {
		h := http.Header{"Cookie": {"session=made-up"}}
		if xff != "" {
			h.Set("X-Forwarded-For", xff)
		}
		status, _, _ := authztest.Send(t, "POST", srv.URL+authztest.AuthPath, h, "{}")
		return status
	}
	for i, tc := range []struct {
		xff  string
		want int
	}{
		{"203.0.113.5", 401},
		{"203.0.113.5", 429},
		// What the client sent before the proxy's entry is not believed.
		{"198.51.100.1, 203.0.113.5", 429},
		{"203.0.113.6", 401},
		// The peer (loopback, a trusted proxy) itself is never limited.
		{"", 401},
		{"", 401},
		{"127.0.0.1", 401},
	} {
		if got := post(tc.xff); got != tc.want {
			t.Fatalf("request %d (X-Forwarded-For %q): %d, want %d", i, tc.xff, got, tc.want)
		}
	}
}

// The client address is the X-Forwarded-For entry http_doors.trusted_hops
// places from the end, whatever it holds: entries before it, which the
// client wrote, never choose the address whose budget is spent. Here the
// entry in place is a node's address inside a wide trusted_peers range,
// which a walk that skips trusted addresses would pass over to the
// client's claim: a flood naming a victim's address would then lock the
// victim out, and rotating the claim would escape the limit.
func TestAuthLimits_ForgedForwardedForEntriesDoNotChooseTheAddress(t *testing.T) {
	dev := testenv.StartLiveblocks(t)
	e := authztest.Engine(t, authztest.Config+`
auth_limits:
  per_address: { per_minute: 1, burst: 2 }
`, dev.URL, testenv.DevSecretKey)
	srv := httptest.NewServer(httpdoor.New(authz.NewHolder(e), httpdoor.Options{}))
	t.Cleanup(srv.Close)
	post := func(xff string) int {
		status, _, _ := authztest.Send(t, "POST", srv.URL+authztest.AuthPath, http.Header{"Cookie": {"session=made-up"}, "X-Forwarded-For": {xff}}, "{}")
		return status
	}
	const victim, node = "203.0.113.5", "127.0.0.9"
	for i := range 5 {
		if got := post(victim + ", " + node); got != 401 {
			t.Fatalf("flood %d naming the victim before the node's entry: %d, want 401 (the node's address, a trusted proxy's, is never limited)", i, got)
		}
	}
	if got := post(victim); got != 401 {
		t.Fatalf("the victim after the flood: %d, want 401: its budget was spent by requests that only named it", got)
	}
	for i, want := range []int{401, 401, 429} {
		if got := post("198.51.100." + strconv.Itoa(i) + ", 203.0.113.6"); got != want {
			t.Fatalf("rotated claim %d before the same client entry: %d, want %d", i, got, want)
		}
	}
}

func TestAuthLimits_DisabledLimitsLimitNothing(t *testing.T) {
	dev := testenv.StartLiveblocks(t)
	c := authztest.GRPC(t, authztest.Engine(t, authztest.Config+`
auth_limits:
  per_user: { burst: 1, disabled: true }
  per_address: { burst: 1, disabled: true }
`, dev.URL, testenv.DevSecretKey))
	for i := range 4 {
		if st := ask(t, c, "POST", authztest.AuthPath, map[string]string{"cookie": "session=" + authztest.Session(authztest.Alice())}, "{}"); st != 200 {
			t.Fatalf("token %d: %d", i, st)
		}
		if st := ask(t, c, "POST", authztest.AuthPath, map[string]string{"cookie": "session=made-up"}, "{}"); st != 401 {
			t.Fatalf("made-up %d: %d", i, st)
		}
	}
}

// TestRoomClient_RetriesA429AndGetsIn runs the real @liveblocks/client
// against a user whose budget is spent: the client takes the 429 as a
// temporary failure, retries with its back-off, and enters the room once
// the budget has refilled. The budget refills slowly (one request per 10 s)
// so that it is still spent when the client starts, however loaded the
// machine is; the client's back-off (up to 8 s between tries) reaches it.
func TestRoomClient_RetriesA429AndGetsIn(t *testing.T) {
	dev := testenv.StartLiveblocks(t)
	e := authztest.Engine(t, authztest.Config+`
auth_limits:
  per_user: { per_minute: 6, burst: 1 }
`, dev.URL, testenv.DevSecretKey)
	c := authztest.GRPC(t, e)
	shim := authztest.StartEnvoyShim(t, c, authztest.AuthPath)
	lb, err := liveblocks.New(liveblocks.Options{BaseURL: dev.URL, SecretKey: testenv.DevSecretKey})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lb.CreateRoom(context.Background(), liveblocks.CreateRoomRequest{
		ID: "limited", DefaultAccesses: []liveblocks.Permission{liveblocks.Write},
	}); err != nil {
		t.Fatal(err)
	}
	cookie := "session=" + authztest.Session(authztest.Alice())
	// Spend alice's budget of one; it refills in ten seconds.
	if st := ask(t, c, "POST", authztest.AuthPath, map[string]string{"cookie": cookie}, "{}"); st != 200 {
		t.Fatalf("spending the budget: %d", st)
	}
	res := testenv.RunRoomClient(t, testenv.RoomClientOptions{
		AuthEndpoint: shim.AuthURL, BaseURL: dev.URL, Cookie: cookie, RoomID: "limited", Timeout: 40 * time.Second,
	})
	if !res.Connected() {
		t.Fatalf("the client did not get in: status %s, auth %d after %d calls, error %d %q",
			res.Status, res.AuthStatus, res.AuthCalls, res.ErrorCode, res.ErrorMessage)
	}
	if res.AuthCalls < 2 || res.AuthStatus != 200 || res.SelfID != "alice" {
		t.Fatalf("auth calls %d (last status %d, self %q): want a 429 first, then a retry that got the token",
			res.AuthCalls, res.AuthStatus, res.SelfID)
	}
}
