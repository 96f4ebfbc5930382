// Package storetest is the conformance suite of the session stores: every
// session.Store (JWT, Redis, PostgreSQL, MySQL, introspection) runs Run, so
// each keeps session.Store's contract the same way: a session found gives
// its document, a missing, ended or malformed one is an *InvalidError, a
// store that cannot be asked is an *UnavailableError, and no error ever holds
// the value looked up.
//
// It is for the tests of authz/session, not for lbauthz itself.
package storetest

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/lbauthz/lbauthz/authz/session"
)

// Harness is one store under test, with the means to put sessions in it. The
// tests of a store make it with the real backend running (internal/testenv).
type Harness struct {
	// Store is the store under test.
	Store session.Store
	// UserIDPath is the dotted path of the user id in the store's
	// documents ("sub", "user.id").
	UserIDPath string
	// Put writes the session of userID, ending at expires, and returns the
	// value that names it (what the cookie holds).
	Put func(t *testing.T, userID string, expires time.Time) string
	// NoEnd says the store cannot hold a session that has ended (the app
	// behind introspection forgets it): the case is skipped.
	NoEnd bool
	// Missing is a well-formed value that names no session.
	Missing string
	// Down makes the backend unreachable (stops the server); nil for a
	// store without one (JWT), whose case is then skipped.
	Down func(t *testing.T)
}

// Malformed are values no session library makes: empty, too long, with
// bytes a cookie or a key must not hold, or shaped to cross into another
// key or file. Each is an invalid session to every store.
var Malformed = []string{
	"",
	strings.Repeat("a", 5000),
	"a b",
	"../../../../etc/passwd",
	"sess:*",
	"{id}",
	"x\x00y",
	"\xff\xfe",
	"' OR '1'='1",
	"a;b=c",
}

// Run runs the suite against the store of h. The store's backend is down
// after it (the last case stops it).
func Run(t *testing.T, h Harness) {
	t.Run("FoundSessionGivesItsDocument", func(t *testing.T) {
		ends := time.Now().Add(time.Hour)
		v := h.Put(t, "alice", ends)
		d, err := lookup(h.Store, v)
		if err != nil {
			t.Fatalf("lookup of a stored session: %v", err)
		}
		if got := at(d.Doc, h.UserIDPath); got != "alice" {
			t.Fatalf("user id at %q: %v, want alice", h.UserIDPath, got)
		}
		if !d.Expires.IsZero() && (d.Expires.Before(time.Now()) || d.Expires.After(ends.Add(time.Minute))) {
			t.Fatalf("the session ends in %s, want about an hour", time.Until(d.Expires))
		}
	})
	t.Run("EachSessionGivesItsOwnDocument", func(t *testing.T) {
		ends := time.Now().Add(time.Hour)
		a, b := h.Put(t, "carol", ends), h.Put(t, "dave", ends)
		for v, want := range map[string]string{a: "carol", b: "dave"} {
			d, err := lookup(h.Store, v)
			if err != nil || at(d.Doc, h.UserIDPath) != want {
				t.Fatalf("user id %v (%v), want %s", at(d.Doc, h.UserIDPath), err, want)
			}
		}
	})
	t.Run("MissingSessionIsInvalid", func(t *testing.T) {
		_, err := lookup(h.Store, h.Missing)
		wantInvalid(t, err, h.Missing)
	})
	t.Run("EndedSessionIsInvalid", func(t *testing.T) {
		if h.NoEnd {
			t.Skip("this store cannot hold a session that has ended")
		}
		v := h.Put(t, "bob", time.Now().Add(-time.Hour))
		_, err := lookup(h.Store, v)
		wantInvalid(t, err, v)
	})
	t.Run("MalformedValuesAreInvalid", func(t *testing.T) {
		for _, v := range Malformed {
			_, err := lookup(h.Store, v)
			if !session.IsInvalid(err) {
				t.Errorf("lookup of %q: %v, want an invalid session", v, err)
				continue
			}
			if len(v) > 3 && strings.Contains(err.Error(), v) {
				t.Errorf("the error of %q holds the value", v)
			}
		}
	})
	t.Run("BackendDownIsUnavailableInTime", func(t *testing.T) {
		if h.Down == nil {
			t.Skip("this store has no backend")
		}
		v := h.Put(t, "erin", time.Now().Add(time.Hour))
		h.Down(t)
		start := time.Now()
		_, err := lookup(h.Store, v)
		if !session.IsUnavailable(err) {
			t.Fatalf("lookup with the backend down: %v, want the store unavailable", err)
		}
		if strings.Contains(err.Error(), v) {
			t.Fatal("the error holds the value")
		}
		if d := time.Since(start); d > 3*time.Second {
			t.Fatalf("the store took %s to say it is unavailable", d)
		}
	})
}

// lookup asks the store with a request's deadline.
func lookup(s session.Store, v string) (session.Data, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return s.Lookup(ctx, v)
}

func wantInvalid(t *testing.T, err error, value string) {
	t.Helper()
	if !session.IsInvalid(err) {
		t.Fatalf("want an invalid session, got %v", err)
	}
	if value != "" && strings.Contains(err.Error(), value) {
		t.Fatal("the error holds the value")
	}
}

// at returns the value at a dotted path of doc (nil when absent).
func at(doc map[string]any, path string) any {
	var v any = doc
	for _, k := range strings.Split(path, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}
