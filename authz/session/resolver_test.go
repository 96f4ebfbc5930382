package session

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// docStore answers from a document the test changes: a stored session seen
// before and after its user logs in.
type docStore struct {
	doc     atomic.Pointer[map[string]any]
	lookups atomic.Int64
}

func (s *docStore) Lookup(context.Context, string) (Data, error) {
	s.lookups.Add(1)
	return Data{Doc: *s.doc.Load()}, nil
}

// express-session saves a session before the login (saveUninitialized), and
// an app may keep its id at the login: "no user yet" must not be remembered,
// or the user would get 401s (and stay anonymous) for the negative TTL.
func TestResolve_ASessionWithoutAUserYetIsNotRemembered(t *testing.T) {
	st := &docStore{}
	st.doc.Store(&map[string]any{"cookie": map[string]any{}})
	r := NewResolver(st, &Mapping{UserID: "user.id"}, CacheOptions{TTL: time.Minute, NegativeTTL: time.Minute, MaxEntries: 10})
	ctx := context.Background()
	if _, err := r.Resolve(ctx, "sid-1"); !IsInvalid(err) {
		t.Fatalf("before the login: %v, want invalid", err)
	}
	st.doc.Store(&map[string]any{"user": map[string]any{"id": "alice"}})
	id, err := r.Resolve(ctx, "sid-1")
	if err != nil || id.UserID != "alice" {
		t.Fatalf("after the login: %v %v, want alice", id, err)
	}
	if n := st.lookups.Load(); n != 2 {
		t.Fatalf("%d lookups, want 2", n)
	}
	// Other invalid results are still remembered: a bad session costs one
	// lookup per negative TTL.
	if _, ok := r.Cached("sid-1"); !ok {
		t.Fatal("a valid session is not cached")
	}
}

// With max_bytes, the cache keeps no more sessions than their bytes allow,
// even under max_entries; without it, max_entries alone bounds it.
func TestResolve_TheCacheStaysUnderItsByteBound(t *testing.T) {
	st := &docStore{}
	st.doc.Store(&map[string]any{"sub": "alice", "bio": strings.Repeat("b", 600)})
	mapping := &Mapping{UserID: "sub", UserInfo: map[string]string{"bio": "bio"}}
	for _, tc := range []struct {
		name     string
		maxBytes int64
		atMost   int
	}{
		{"bytes bound", 64 << 10, (64 << 10) / 700}, // each holds 600 bytes of userInfo and more
		{"entries bound", 0, 1000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := NewResolver(st, mapping, CacheOptions{TTL: time.Hour, MaxEntries: 1000, MaxBytes: tc.maxBytes})
			for i := range 3000 {
				if _, err := r.Resolve(context.Background(), fmt.Sprintf("sid-%d", i)); err != nil {
					t.Fatal(err)
				}
			}
			r.cache.CleanUp() // the evictions the writes left pending
			if n := r.CacheSize(); n > tc.atMost || n < tc.atMost/4 {
				t.Fatalf("%d sessions cached, want at most %d (and not far fewer)", n, tc.atMost)
			}
		})
	}
}
