package authztest

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

// AuthPath is the auth path of Config.
const AuthPath = "/api/liveblocks-auth"

// Case is one request a client sends to a front door, and what must come of
// it whichever door it goes through: Envoy's gRPC Check, the HTTP doors as
// nginx, forward-auth or Envoy's HTTP mode call them, or a real nginx or
// Caddy in front of the sidecar. A door is tested with RunCases.
type Case struct {
	Name string
	// The request as the client sends it.
	Method, Path string
	// Cookie is the Cookie header ("" for none), and MoreCookies further
	// Cookie header lines (Envoy joins them with ",").
	Cookie      string
	MoreCookies []string
	// Header holds the client's other headers (forged identity headers).
	Header map[string]string
	Body   string
	Want   Outcome
	// Via holds, for a real proxy in front of the sidecar ("nginx",
	// "caddy"), what its client gets when that differs from Want: the proxy
	// refused the request itself, or routed a spelling of a path
	// differently. See RunAttacks.
	Via map[string]Outcome
}

// Outcome is a door's answer reduced to what every door can show.
type Outcome struct {
	// Allowed is true when the request went on to the app.
	Allowed bool
	// Status is what the client got: the sidecar's status when it answered,
	// 200 (the app's) when the request was allowed.
	Status int
	// UserID is the user the answer is for: the identity header the app saw
	// when the request was allowed, the token's uid when the answer is a
	// token, "" otherwise.
	UserID string
	// Groups is the groups header the app saw when the request was
	// allowed. Only the cases about groups say it: Want without Groups
	// does not compare it (see Matches).
	Groups string
}

// Matches reports whether a door's answer is the one wanted; the groups
// are compared only when want says them.
func (got Outcome) Matches(want Outcome) bool {
	if want.Groups == "" {
		got.Groups = ""
	}
	return got == want
}

// SpoofedIdentity are identity headers a client forges.
var SpoofedIdentity = map[string]string{
	"X-User-Id":     "mallory",
	"X-User-Groups": "admins",
	"X-User-Info":   `{"name":"Mallory"}`,
}

// Cases returns the table every door must answer alike. The sessions are
// signed now, with HMACSecret, for the identity of Config (user alice).
func Cases() []Case {
	valid := "session=" + Session(Alice())
	expiredClaims := Alice()
	expiredClaims["exp"] = time.Now().Add(-time.Minute).Unix()
	expired := "session=" + Session(expiredClaims)
	parts := strings.Split(Session(Alice()), ".")
	// Alice's header and signature around mallory's claims.
	forged := strings.Split(Unsigned(map[string]any{}, map[string]any{"sub": "mallory", "exp": time.Now().Add(time.Hour).Unix()}), ".")[1]
	tampered := "session=" + parts[0] + "." + forged + "." + parts[2]
	room := `{"room":"r1"}`

	alice := Outcome{Allowed: true, Status: 200, UserID: "alice"}
	anonymous := Outcome{Allowed: true, Status: 200}
	token := Outcome{Status: 200, UserID: "alice"}
	unauthorized := Outcome{Status: 401}
	notAllowed := Outcome{Status: 405}

	return []Case{
		{Name: "PageWithValidSessionPassesWithIdentity", Method: "GET", Path: "/docs/1?q=2", Cookie: valid, Want: alice},
		{Name: "PageWithSessionAmongOtherCookiesPassesWithIdentity", Method: "GET", Path: "/", Cookie: "theme=dark; " + valid + "; lang=en", Want: alice},
		{Name: "PageWithoutSessionPassesAnonymous", Method: "GET", Path: "/", Want: anonymous},
		{Name: "PageWithExpiredSessionPassesAnonymous", Method: "GET", Path: "/", Cookie: expired, Want: anonymous},
		{Name: "PageWithTamperedSessionPassesAnonymous", Method: "GET", Path: "/", Cookie: tampered, Want: anonymous},
		{Name: "SpoofedIdentityWithoutSessionNeverReachesApp", Method: "GET", Path: "/", Header: SpoofedIdentity, Want: anonymous},
		{Name: "SpoofedIdentityWithExpiredSessionNeverReachesApp", Method: "GET", Path: "/", Cookie: expired, Header: SpoofedIdentity, Want: anonymous},
		{Name: "SpoofedIdentityWithSessionIsReplaced", Method: "GET", Path: "/", Cookie: valid, Header: SpoofedIdentity, Want: alice},
		{Name: "PostToOtherPathPassesWithIdentity", Method: "POST", Path: "/api/other", Cookie: valid, Body: "hello", Want: alice},
		{Name: "AuthPathWithTrailingSlashIsAnotherPath", Method: "POST", Path: AuthPath + "/", Cookie: valid, Body: room, Want: alice},
		{Name: "AuthPathWithValidSessionGetsToken", Method: "POST", Path: AuthPath, Cookie: valid, Body: room, Want: token},
		{Name: "AuthPathWithQueryStringIsTheAuthPath", Method: "POST", Path: AuthPath + "?v=1", Cookie: valid, Body: room, Want: token},
		{Name: "AuthPathWithEmptyObjectGetsToken", Method: "POST", Path: AuthPath, Cookie: valid, Body: `{}`, Want: token},
		{Name: "AuthPathWithSpoofedIdentityGetsTheSessionsToken", Method: "POST", Path: AuthPath, Cookie: valid, Header: SpoofedIdentity, Body: room, Want: token},
		{Name: "AuthPathWithoutSessionIs401", Method: "POST", Path: AuthPath, Body: room, Want: unauthorized},
		{Name: "AuthPathWithExpiredSessionIs401", Method: "POST", Path: AuthPath, Cookie: expired, Body: room, Want: unauthorized},
		{Name: "AuthPathWithTamperedSessionIs401", Method: "POST", Path: AuthPath, Cookie: tampered, Body: room, Want: unauthorized},
		{Name: "AuthPathWithSpoofedIdentityAndNoSessionIs401", Method: "POST", Path: AuthPath, Header: SpoofedIdentity, Body: room, Want: unauthorized},
		{Name: "AuthPathWithGETIs405", Method: "GET", Path: AuthPath, Cookie: valid, Want: notAllowed},
		{Name: "AuthPathWithPUTIs405", Method: "PUT", Path: AuthPath, Cookie: valid, Body: room, Want: notAllowed},
	}
}

// Door sends one case through a door and reduces the answer to an Outcome.
type Door func(t *testing.T, c Case) Outcome

// RunCases runs every case of Cases through door, each as a subtest.
func RunCases(t *testing.T, door Door) {
	t.Helper()
	for _, c := range Cases() {
		t.Run(c.Name, func(t *testing.T) {
			if got := door(t, c); !got.Matches(c.Want) {
				t.Errorf("%s %s: got %+v, want %+v", c.Method, c.Path, got, c.Want)
			}
		})
	}
}

// AnswerOutcome is the Outcome of an answer the sidecar gave itself (not
// allowed): its status, and the token's user for a 200 {"token": ...}.
func AnswerOutcome(t testing.TB, status int, body []byte) Outcome {
	t.Helper()
	o := Outcome{Status: status}
	if status == http.StatusOK {
		var tok struct{ Token string }
		if err := json.Unmarshal(body, &tok); err != nil || tok.Token == "" {
			t.Fatalf("a 200 answer that is not {\"token\": ...} (%d bytes)", len(body))
		}
		uid, _ := TokenClaims(t, tok.Token)["uid"].(string)
		o.UserID = uid
	}
	return o
}

// IsAuthPath reports whether a request path (with its query) goes to the
// token route of the deploy/ configs, which match the path exactly and
// ignore the query.
func IsAuthPath(path string) bool {
	p, _, _ := strings.Cut(path, "?")
	return p == AuthPath
}
