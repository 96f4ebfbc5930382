package liveblocks_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"sync"
	"testing"

	"github.com/lbauthz/lbauthz/internal/testenv"
	"github.com/lbauthz/lbauthz/liveblocks"
)

// recorder is an http.RoundTripper around the real transport that keeps a
// copy of each request's body and query as sent; the server answering is
// the real dev server.
type recorder struct {
	mu   sync.Mutex
	sent []sentRequest
}

type sentRequest struct {
	method, path, query, body string
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		var err error
		if body, err = io.ReadAll(req.Body); err != nil {
			return nil, err
		}
		req.Body.Close()
		req.Body = io.NopCloser(bytes.NewReader(body))
	}
	r.mu.Lock()
	r.sent = append(r.sent, sentRequest{req.Method, req.URL.Path, req.URL.RawQuery, string(body)})
	r.mu.Unlock()
	return http.DefaultTransport.RoundTrip(req)
}

func (r *recorder) last(t *testing.T) sentRequest {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.sent) == 0 {
		t.Fatal("no request was sent")
	}
	return r.sent[len(r.sent)-1]
}

// newRecordedDevClient returns a client of a fresh dev server whose
// requests are recorded.
func newRecordedDevClient(t *testing.T) (*liveblocks.Client, *recorder) {
	t.Helper()
	dev := testenv.StartLiveblocks(t)
	rec := &recorder{}
	c, err := liveblocks.New(liveblocks.Options{BaseURL: dev.URL, SecretKey: testenv.DevSecretKey, HTTPClient: &http.Client{Transport: rec}})
	if err != nil {
		t.Fatal(err)
	}
	return c, rec
}

func TestOrganization_TokenCallsSendOrganizationIDOnlyWhenSet(t *testing.T) {
	c, rec := newRecordedDevClient(t)
	ctx := context.Background()
	read := map[string]perms{"*": {liveblocks.Read}}
	tests := []struct {
		name     string
		call     func() liveblocks.AuthResponse
		wantBody string
	}{
		{"identify-user with an organization",
			func() liveblocks.AuthResponse {
				return c.IdentifyUser(ctx, liveblocks.IdentifyUserRequest{UserID: "alice", OrganizationID: "acme"})
			},
			`{"userId":"alice","organizationId":"acme"}`},
		{"identify-user without one leaves the field out",
			func() liveblocks.AuthResponse {
				return c.IdentifyUser(ctx, liveblocks.IdentifyUserRequest{UserID: "alice"})
			},
			`{"userId":"alice"}`},
		{"authorize-user with an organization",
			func() liveblocks.AuthResponse {
				return c.AuthorizeUser(ctx, liveblocks.AuthorizeUserRequest{UserID: "bob", Permissions: read, OrganizationID: "acme"})
			},
			`{"userId":"bob","permissions":{"*":["*:read"]},"organizationId":"acme"}`},
		{"authorize-user without one leaves the field out",
			func() liveblocks.AuthResponse {
				return c.AuthorizeUser(ctx, liveblocks.AuthorizeUserRequest{UserID: "bob", Permissions: read})
			},
			`{"userId":"bob","permissions":{"*":["*:read"]}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := tt.call()
			if resp.Status != http.StatusOK {
				t.Fatalf("status %d, body %q; want 200 from the dev server", resp.Status, resp.Body)
			}
			if got := rec.last(t).body; got != tt.wantBody {
				t.Errorf("body sent %s, want %s", got, tt.wantBody)
			}
		})
	}
}

func TestOrganization_RoomsAreCreatedInAndListedByTheirOrganization(t *testing.T) {
	c, rec := newRecordedDevClient(t)
	ctx := context.Background()

	room, err := c.CreateRoom(ctx, liveblocks.CreateRoomRequest{ID: "acme-doc", OrganizationID: "acme"})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := rec.last(t).body, `{"id":"acme-doc","defaultAccesses":[],"organizationId":"acme"}`; got != want {
		t.Errorf("create body sent %s, want %s", got, want)
	}
	if room.Organization() != "acme" {
		t.Errorf("created room's organization %q, want acme", room.Organization())
	}
	if _, err := c.CreateRoom(ctx, liveblocks.CreateRoomRequest{ID: "plain-doc"}); err != nil {
		t.Fatal(err)
	}
	if got := rec.last(t).body; bytes.Contains([]byte(got), []byte("organizationId")) {
		t.Errorf("create without an organization sent %s; want no organizationId (never null)", got)
	}

	got, err := c.GetRoom(ctx, "plain-doc")
	if err != nil {
		t.Fatal(err)
	}
	if got.Organization() != liveblocks.DefaultOrganization {
		t.Errorf("room created without an organization is in %q, want %q", got.Organization(), liveblocks.DefaultOrganization)
	}

	for _, tt := range []struct {
		org       string
		wantQuery string
		wantRooms []string
	}{
		{"acme", "organizationId=acme", []string{"acme-doc"}},
		{liveblocks.DefaultOrganization, "organizationId=default", []string{"plain-doc"}},
		{"nobody", "organizationId=nobody", nil},
	} {
		page, err := c.ListRooms(ctx, liveblocks.ListRoomsRequest{OrganizationID: tt.org})
		if err != nil {
			t.Fatal(err)
		}
		if q := rec.last(t).query; q != tt.wantQuery {
			t.Errorf("list %s: query sent %q, want %q", tt.org, q, tt.wantQuery)
		}
		var ids []string
		for _, r := range page.Rooms {
			ids = append(ids, r.ID)
		}
		if toJSON(t, ids) != toJSON(t, tt.wantRooms) {
			t.Errorf("rooms of %s: %v, want %v", tt.org, ids, tt.wantRooms)
		}
	}
}
