package authz_test

import (
	"context"
	"fmt"
	"runtime"
	"testing"
	"time"

	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"google.golang.org/grpc/codes"

	"github.com/lbauthz/lbauthz/authz"
	"github.com/lbauthz/lbauthz/authz/door/envoygrpc"
	"github.com/lbauthz/lbauthz/authz/session"
	"github.com/lbauthz/lbauthz/internal/authztest"
)

// browserCookie is a Cookie header as a browser sends it: the session among
// analytics and preference cookies.
func browserCookie(session string) string {
	return "_ga=GA1.1.1234567890.1700000000; theme=dark; session=" + session +
		"; csrftoken=Yx8s0fTq3UHl7c2Z; _gid=GA1.1.987654321.1700000000"
}

// benchEngine never calls Liveblocks: the pass-through path does not.
func benchEngine(tb testing.TB) *authz.Engine {
	return authztest.Engine(tb, authztest.Config, "http://127.0.0.1:9", "sk_bench")
}

func BenchmarkCheck_PassThroughJWTSession(b *testing.B) {
	srv := envoygrpc.NewServer(authz.NewHolder(benchEngine(b)))
	req := authztest.CheckRequest("GET", "/docs/42?tab=history", map[string]string{"cookie": browserCookie(authztest.Session(authztest.Alice()))}, "")
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		resp, _ := srv.Check(ctx, req)
		if resp.GetStatus().GetCode() != int32(codes.OK) {
			b.Fatal("not allowed")
		}
	}
}

func BenchmarkCheck_PassThroughAnonymous(b *testing.B) {
	srv := envoygrpc.NewServer(authz.NewHolder(benchEngine(b)))
	req := authztest.CheckRequest("GET", "/", map[string]string{"cookie": "_ga=GA1.1.1; theme=dark"}, "")
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		_, _ = srv.Check(ctx, req)
	}
}

func BenchmarkCheck_AuthPathInvalidSession(b *testing.B) {
	srv := envoygrpc.NewServer(authz.NewHolder(benchEngine(b)))
	req := authztest.CheckRequest("POST", "/api/liveblocks-auth", map[string]string{"cookie": browserCookie("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.bad")}, `{"room":"r"}`)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		_, _ = srv.Check(ctx, req)
	}
}

func BenchmarkDecide_PassThroughJWTSession(b *testing.B) {
	e := benchEngine(b)
	r := &authz.Request{Door: "bench", Method: "GET", Path: "/docs/42", Cookies: []string{browserCookie(authztest.Session(authztest.Alice()))}}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if d := e.Decide(ctx, r); !d.Allow || d.Identity == nil {
			b.Fatal("not allowed with identity")
		}
	}
}

// BenchmarkJWTVerify is the cost the cache saves: one signature check and
// claims decoding per request.
func BenchmarkJWTVerify(b *testing.B) {
	store, err := session.NewJWTStore(session.JWTOptions{Algorithms: []string{"HS256"}, HMACSecret: []byte(authztest.HMACSecret)})
	if err != nil {
		b.Fatal(err)
	}
	tok := authztest.Session(authztest.Alice())
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := store.Lookup(ctx, tok); err != nil {
			b.Fatal(err)
		}
	}
}

// A pass-through Check with a cached session returns a response built once
// per session: it must not allocate at all. This fails if it starts to.
func TestCheck_PassThroughWithCachedSessionDoesNotAllocate(t *testing.T) {
	srv := envoygrpc.NewServer(authz.NewHolder(benchEngine(t)))
	req := authztest.CheckRequest("GET", "/docs/42", map[string]string{"cookie": browserCookie(authztest.Session(authztest.Alice()))}, "")
	ctx := context.Background()
	if _, err := srv.Check(ctx, req); err != nil { // fills the cache
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(200, func() { _, _ = srv.Check(ctx, req) }); n > 0 {
		t.Fatalf("a pass-through Check with a cached session allocates %v times", n)
	}
}

// BenchmarkCache_BytesPerSession is the heap a cached session holds, all
// told: the session cache's entry and identity, and what the gRPC door keeps
// for it. It caches 20,000 distinct JWT sessions (like the benchmark's
// memory figure, with a user id, two groups and a name and avatar) through
// the gRPC door's Check, then reports the live heap they added per session
// (B/session).
func BenchmarkCache_BytesPerSession(b *testing.B) {
	const n = 20_000
	reqs := make([]*authv3.CheckRequest, n)
	for i := range reqs {
		u := fmt.Sprintf("user-%06d", i)
		c := map[string]any{"sub": u, "groups": []any{"team-" + u[5:8], "all"}, "name": "User " + u[5:],
			"picture": "https://avatars.example.test/" + u + ".png", "exp": time.Now().Add(time.Hour).Unix()}
		reqs[i] = authztest.CheckRequest("GET", "/docs/42", map[string]string{"cookie": browserCookie(authztest.Session(c))}, "")
	}
	ctx := context.Background()
	var perSession float64
	for b.Loop() {
		srv := envoygrpc.NewServer(authz.NewHolder(benchEngine(b)))
		before := liveHeap()
		for i, req := range reqs {
			resp, err := srv.Check(ctx, req)
			if err != nil || resp.GetStatus().GetCode() != int32(codes.OK) {
				b.Fatalf("session %d not allowed", i)
			}
		}
		perSession = float64(liveHeap()-before) / n
		runtime.KeepAlive(srv)
	}
	b.ReportMetric(perSession, "B/session")
}

// liveHeap is the heap in use after a full collection.
func liveHeap() int64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}
