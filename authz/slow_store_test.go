package authz_test

import (
	"context"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/lbauthz/lbauthz/authz"
	"github.com/lbauthz/lbauthz/authz/session"
	"github.com/lbauthz/lbauthz/internal/authztest"
	"github.com/lbauthz/lbauthz/liveblocks"
)

// hangingStore never answers until its caller gives up: a store behind a
// network partition (packets dropped, not refused). A real Redis frozen with
// SIGSTOP shows the same in authz/session's tests; here the point is the
// engine's deadline, with nothing else in the way.
type hangingStore struct{}

func (hangingStore) Lookup(ctx context.Context, _ string) (session.Data, error) {
	<-ctx.Done()
	return session.Data{}, &session.UnavailableError{Err: ctx.Err()}
}

// A store that hangs must not make Envoy time out: the sidecar answers just
// before the Check's deadline, anonymous for a page (so the app stays up) and
// 503 for the token (which the client retries).
func TestCheck_AHangingStoreIsAnsweredBeforeEnvoysDeadline(t *testing.T) {
	lb, err := liveblocks.New(liveblocks.Options{BaseURL: "http://127.0.0.1:9", SecretKey: "sk_localdev"})
	if err != nil {
		t.Fatal(err)
	}
	e, err := authz.New(authz.Options{
		AuthPath: authztest.AuthPath, CookieName: "session", Liveblocks: lb, MaxCookieBytes: 4096, LiveblocksTimeout: 2 * time.Second,
		Sessions: session.NewResolver(hangingStore{}, &session.Mapping{UserID: "sub"}, session.CacheOptions{TTL: time.Minute, MaxEntries: 10}),
		Headers:  authz.HeaderNames{UserID: "x-user-id"},
	})
	if err != nil {
		t.Fatal(err)
	}
	c := authztest.GRPC(t, e)
	const envoyTimeout = 250 * time.Millisecond
	for _, tc := range []struct {
		name, method, path string
		allowed            bool
		status             int32
	}{
		{"page passes anonymous", "GET", "/docs/1", true, 0},
		{"token request gets 503", "POST", authztest.AuthPath, false, 503},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), envoyTimeout)
			defer cancel()
			start := time.Now()
			resp, err := c.Check(ctx, authztest.CheckRequest(tc.method, tc.path, map[string]string{"cookie": "session=some-session-id"}, "{}"))
			if err != nil {
				t.Fatalf("no answer within Envoy's %s: %v (after %s)", envoyTimeout, err, time.Since(start))
			}
			allowed := resp.GetStatus().GetCode() == int32(codes.OK)
			if allowed != tc.allowed || (!allowed && int32(resp.GetDeniedResponse().GetStatus().GetCode()) != tc.status) {
				t.Fatalf("allowed=%v status=%d, want allowed=%v status=%d", allowed, resp.GetDeniedResponse().GetStatus().GetCode(), tc.allowed, tc.status)
			}
			if tc.allowed && len(resp.GetOkResponse().GetHeaders()) != 0 {
				t.Fatal("identity headers set without a session")
			}
		})
	}
}
