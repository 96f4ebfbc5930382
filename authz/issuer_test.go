package authz_test

import (
	"context"
	"net/http"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/lbauthz/lbauthz/authz"
	"github.com/lbauthz/lbauthz/authz/session"
	"github.com/lbauthz/lbauthz/internal/authztest"
	"github.com/lbauthz/lbauthz/liveblocks"
)

// recordingIssuer is a test double of Liveblocks, not the real thing: it
// answers every token request with answer and records what it was asked.
// The engine's tests against the real dev server live beside this one (and
// in the doors' packages); this double is for the engine's own logic: which
// identity it asks a token for, and how it turns each status into a
// decision, including the outages the dev server cannot be made to show on
// demand.
type recordingIssuer struct {
	answer liveblocks.AuthResponse

	mu        sync.Mutex
	identify  []liveblocks.IdentifyUserRequest
	authorize []liveblocks.AuthorizeUserRequest
}

func (r *recordingIssuer) IdentifyUser(_ context.Context, req liveblocks.IdentifyUserRequest) liveblocks.AuthResponse {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.identify = append(r.identify, req)
	return r.answer
}

func (r *recordingIssuer) AuthorizeUser(_ context.Context, req liveblocks.AuthorizeUserRequest) liveblocks.AuthResponse {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.authorize = append(r.authorize, req)
	return r.answer
}

func (r *recordingIssuer) GetRoom(context.Context, string) (*liveblocks.Room, error) {
	return nil, &liveblocks.Error{Status: http.StatusNotFound}
}

func (r *recordingIssuer) calls() []liveblocks.IdentifyUserRequest {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]liveblocks.IdentifyUserRequest(nil), r.identify...)
}

// issuerEngine is an engine that reads HS256 session JWTs signed with
// authztest.HMACSecret and asks issuer for its tokens: no dev server.
func issuerEngine(t *testing.T, issuer authz.TokenIssuer) *authz.Engine {
	t.Helper()
	store, err := session.NewJWTStore(session.JWTOptions{Algorithms: []string{"HS256"}, HMACSecret: []byte(authztest.HMACSecret)})
	if err != nil {
		t.Fatal(err)
	}
	mapping := &session.Mapping{UserID: "sub", GroupIDs: "groups", UserInfo: map[string]string{"name": "name"}}
	e, err := authz.New(authz.Options{
		AuthPath: authztest.AuthPath, CookieName: "session", Liveblocks: issuer, MaxCookieBytes: 4096, LiveblocksTimeout: 2 * time.Second,
		Sessions: session.NewResolver(store, mapping, session.CacheOptions{TTL: time.Minute, MaxEntries: 10}),
		Headers:  authz.HeaderNames{UserID: "x-user-id"},
	})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func issuerTokenRequest(cookie string) *authz.Request {
	return &authz.Request{Door: "test", Method: http.MethodPost, Path: authztest.AuthPath, Cookie: cookie,
		Body: []byte(`{"room":"r1"}`), HasBody: true}
}

func TestDecide_AuthPathAsksTheIssuerForTheSessionsIdentity(t *testing.T) {
	issuer := &recordingIssuer{answer: liveblocks.AuthResponse{Status: http.StatusOK, Body: []byte(`{"token":"t"}`)}}
	e := issuerEngine(t, issuer)
	d := e.Decide(context.Background(), issuerTokenRequest("session="+authztest.Session(authztest.Alice())))
	if d.Outcome != authz.TokenIssued || d.Status != http.StatusOK || string(d.Body) != `{"token":"t"}` {
		t.Fatalf("decision %v %d %s, want token_issued 200 with the issuer's body", d.Outcome, d.Status, d.Body)
	}
	calls := issuer.calls()
	if len(calls) != 1 {
		t.Fatalf("identify-user calls: %d, want 1", len(calls))
	}
	want := liveblocks.IdentifyUserRequest{UserID: "alice", GroupIDs: []string{"team", "eng"}, UserInfo: map[string]any{"name": "Alice"}}
	if !reflect.DeepEqual(calls[0], want) {
		t.Fatalf("identify-user request %+v, want %+v", calls[0], want)
	}
}

func TestDecide_AuthPathMapsTheIssuersStatus(t *testing.T) {
	for _, tc := range []struct {
		name    string
		status  int
		outcome authz.Outcome
	}{
		{"UnavailableIs503", http.StatusServiceUnavailable, authz.Unavailable},
		{"ForbiddenIsRejected", http.StatusForbidden, authz.Rejected},
		{"TooManyRequestsIsRejected", http.StatusTooManyRequests, authz.Rejected},
	} {
		t.Run(tc.name, func(t *testing.T) {
			issuer := &recordingIssuer{answer: liveblocks.AuthResponse{Status: tc.status, Body: []byte("liveblocks says no")}}
			d := issuerEngine(t, issuer).Decide(context.Background(), issuerTokenRequest("session="+authztest.Session(authztest.Alice())))
			if d.Outcome != tc.outcome || d.Status != tc.status || d.Allow {
				t.Fatalf("decision %v %d allow=%v, want %v %d", d.Outcome, d.Status, d.Allow, tc.outcome, tc.status)
			}
		})
	}
}

func TestDecide_WithoutAValidSessionTheIssuerIsNeverAsked(t *testing.T) {
	expired := authztest.Alice()
	expired["exp"] = time.Now().Add(-time.Hour).Unix()
	forged := authztest.SignHS("another key, not the app's 0123456789", "HS256", authztest.Alice())
	for _, tc := range []struct {
		name, cookie string
	}{
		{"NoCookie", ""},
		{"ExpiredSession", "session=" + authztest.Session(expired)},
		{"ForgedSession", "session=" + forged},
	} {
		t.Run(tc.name, func(t *testing.T) {
			issuer := &recordingIssuer{answer: liveblocks.AuthResponse{Status: http.StatusOK, Body: []byte(`{"token":"t"}`)}}
			d := issuerEngine(t, issuer).Decide(context.Background(), issuerTokenRequest(tc.cookie))
			if d.Outcome != authz.Unauthorized || d.Status != http.StatusUnauthorized {
				t.Fatalf("decision %v %d, want unauthorized 401", d.Outcome, d.Status)
			}
			if n := len(issuer.calls()); n != 0 {
				t.Fatalf("the issuer was asked %d times without a valid session", n)
			}
		})
	}
}
