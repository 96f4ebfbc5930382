package session

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestGroupRules_KeepRenameTemplate(t *testing.T) {
	cases := []struct {
		name     string
		keep     string
		rename   map[string]string
		template string
		in, want []string
	}{
		{"no rules keep everything", "", nil, "", []string{"a", "b"}, []string{"a", "b"}},
		{"prefix by template", "", nil, "org:{value}", []string{"eng", "design"}, []string{"org:eng", "org:design"}},
		{"template with a suffix", "", nil, "{value}@acme", []string{"eng"}, []string{"eng@acme"}},
		{"keep matches the whole id", "eng|design", nil, "", []string{"eng", "engineering", "design", "sales"}, []string{"eng", "design"}},
		{"keep a pattern", "team-.*", nil, "", []string{"team-a", "x-team-b", "team-"}, []string{"team-a", "team-"}},
		{"rename is final", "", map[string]string{"admins": "staff"}, "org:{value}", []string{"admins", "eng"}, []string{"staff", "org:eng"}},
		{"keep before rename", "admins", map[string]string{"admins": "staff", "eng": "x"}, "", []string{"admins", "eng"}, []string{"staff"}},
		{"duplicates after rename are dropped", "", map[string]string{"a": "b"}, "", []string{"a", "b", "b"}, []string{"b"}},
		{"rename to empty drops", "", map[string]string{"a": ""}, "", []string{"a", "c"}, []string{"c"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g, err := NewGroupRules(tc.keep, tc.rename, tc.template)
			if err != nil {
				t.Fatal(err)
			}
			in := slices.Clone(tc.in)
			got := g.Apply(in)
			if !slices.Equal(got, tc.want) {
				t.Fatalf("Apply(%v) = %v, want %v", tc.in, got, tc.want)
			}
			if !slices.Equal(in, tc.in) {
				t.Fatalf("Apply changed its argument: %v", in)
			}
		})
	}
	if _, err := NewGroupRules("(", nil, ""); err == nil {
		t.Fatal("a bad expression was accepted")
	}
	if _, err := NewGroupRules("", nil, "org:"); err == nil {
		t.Fatal(`a template without "{value}" was accepted`)
	}
}

func TestMapping_AppliesGroupRules(t *testing.T) {
	g, _ := NewGroupRules("eng|design|admins", map[string]string{"admins": "org:admin"}, "org:team:{value}")
	m := &Mapping{UserID: "sub", GroupIDs: "groups", Groups: g}
	id, err := m.Identity(map[string]any{"sub": "alice", "groups": []any{"eng", "admins", "sales"}})
	wantUser(t, id, err, "alice", "org:team:eng", "org:admin")
	if id.GroupsHeader != "org:team:eng,org:admin" {
		t.Fatalf("GroupsHeader = %q", id.GroupsHeader)
	}
}

// The groups header joins the ids with ",": an id it cannot carry as
// itself is dropped, for the app and Liveblocks alike.
func TestMapping_DropsGroupIDsTheHeaderCannotCarry(t *testing.T) {
	for _, tc := range []struct {
		name   string
		groups any
		want   []string
	}{
		{"CommaInsideAnID", []any{"eng,admin", "x"}, []string{"x"}},
		{"CommaInTheOnlyID", "eng,admin", []string{}},
		{"SpacesAtTheEnds", []any{" admin", "admin ", "design team"}, []string{"design team"}},
		{"ControlCharacters", []any{"eng\r\nx-user-id: mallory", "a\x00b", "ops"}, []string{"ops"}},
		{"OrdinaryIDsAreKept", []any{"org:eng", "team-é", "a;b"}, []string{"org:eng", "team-é", "a;b"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := &Mapping{UserID: "sub", GroupIDs: "groups"}
			id, err := m.Identity(map[string]any{"sub": "alice", "groups": tc.groups})
			if err != nil {
				t.Fatal(err)
			}
			if len(id.GroupIDs) != len(tc.want) || !slices.Equal(id.GroupIDs, tc.want) && len(tc.want) > 0 {
				t.Fatalf("GroupIDs = %q, want %q", id.GroupIDs, tc.want)
			}
			if h := strings.Join(tc.want, ","); id.GroupsHeader != h {
				t.Fatalf("GroupsHeader = %q, want %q", id.GroupsHeader, h)
			}
		})
	}
}

// countingStore answers every lookup with the same document and counts.
type countingStore struct{ n int }

func (s *countingStore) Lookup(context.Context, string) (Data, error) {
	s.n++
	return Data{Doc: map[string]any{"sub": "alice", "groups": []any{"eng"}}, Expires: time.Now().Add(time.Hour)}, nil
}

// BenchmarkResolve_CacheHit is the cost of a request whose session is
// cached: every request but the first of a session.
func BenchmarkResolve_CacheHit(b *testing.B) {
	r := NewResolver(&countingStore{}, subMapping(), CacheOptions{TTL: time.Hour, NegativeTTL: time.Second, MaxEntries: 1000})
	ctx := context.Background()
	const cookie = "s%3AuL4ZbTaGq2xQk3m0VvO1n8Bf5Jd7Hc9E.Xr2Pq4Zw6Yt8Vb0Nm1Lk3Jh5Gf7Ds9Aa1Qw3Er5Ty7U"
	if _, err := r.Resolve(ctx, cookie); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := r.Resolve(ctx, cookie); err != nil {
			b.Fatal(err)
		}
	}
}

func TestResolve_CacheHitDoesNotAllocateNorAskTheStore(t *testing.T) {
	st := &countingStore{}
	r := NewResolver(st, subMapping(), CacheOptions{TTL: time.Hour, NegativeTTL: time.Second, MaxEntries: 1000})
	ctx := context.Background()
	const cookie = "s%3AuL4ZbTaGq2xQk3m0VvO1n8Bf5Jd7Hc9E.Xr2Pq4Zw6Yt8Vb0Nm1Lk3Jh5Gf7Ds9Aa1Qw3Er5Ty7U"
	first, err := r.Resolve(ctx, cookie)
	if err != nil {
		t.Fatal(err)
	}
	allocs := testing.AllocsPerRun(1000, func() {
		id, err := r.Resolve(ctx, cookie)
		if err != nil || id != first {
			t.Fatalf("cache hit: %v", err)
		}
	})
	if allocs != 0 {
		t.Fatalf("a cache hit allocates %.1f times, want 0", allocs)
	}
	if st.n != 1 {
		t.Fatalf("the store was asked %d times, want 1", st.n)
	}
	if hits, misses := r.CacheStats(); misses != 1 || hits < 1000 {
		t.Fatalf("CacheStats = %d hits, %d misses", hits, misses)
	}
}
