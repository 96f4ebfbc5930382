package httpdoor_test

import (
	"io"
	"net/http"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/lbauthz/lbauthz/authz"
	"github.com/lbauthz/lbauthz/authz/door/httpdoor"
	"github.com/lbauthz/lbauthz/internal/assemble"
	"github.com/lbauthz/lbauthz/internal/authztest"
)

// headerWriter is the least a ResponseWriter does: a header map, cleared
// for each request as net/http's is new for each.
type headerWriter struct {
	h      http.Header
	status int
}

func (w *headerWriter) Header() http.Header         { return w.h }
func (w *headerWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *headerWriter) WriteHeader(s int)           { w.status = s }

// checkRequests are the check requests of each HTTP door for a page request
// with a session, as nginx (deploy/nginx/nginx.conf), forward-auth and
// Envoy's HTTP mode send them.
func checkRequests(tb testing.TB, cookie string) map[string]*http.Request {
	tb.Helper()
	mk := func(target string, h map[string]string) *http.Request {
		r, err := http.NewRequest("GET", "http://127.0.0.1:8181"+target, nil)
		if err != nil {
			tb.Fatal(err)
		}
		r.RequestURI, r.RemoteAddr, r.Host = target, "127.0.0.1:41000", "app.example.test"
		r.Header.Set("Cookie", cookie)
		r.Header.Set("X-Forwarded-For", "203.0.113.7")
		r.Header.Set("X-Forwarded-Proto", "https")
		r.Header.Set("X-Forwarded-Host", "app.example.test")
		for k, v := range h {
			r.Header.Set(k, v)
		}
		return r
	}
	return map[string]*http.Request{
		"nginx":   mk("/check/nginx", map[string]string{"X-Original-URI": "/docs/42?tab=history", "X-Original-Method": "GET"}),
		"forward": mk("/check/forward", map[string]string{"X-Forwarded-Uri": "/docs/42?tab=history", "X-Forwarded-Method": "GET"}),
		"envoy":   mk("/check/envoy/docs/42?tab=history", nil),
	}
}

// BenchmarkHTTPCheck is each HTTP door's check of a page request with a
// cached JWT session, in-process (without net/http's own work).
func BenchmarkHTTPCheck(b *testing.B) {
	e := authztest.Engine(b, authztest.Config, "http://127.0.0.1:9", "sk_bench")
	h := httpdoor.New(authz.NewHolder(e), httpdoor.Options{})
	for _, door := range []string{"nginx", "forward", "envoy"} {
		r := checkRequests(b, "theme=dark; session="+authztest.Session(authztest.Alice()))[door]
		b.Run(door, func(b *testing.B) {
			w := &headerWriter{h: http.Header{}}
			b.ReportAllocs()
			for b.Loop() {
				clear(w.h)
				h.ServeHTTP(w, r)
				if w.status != http.StatusOK || w.h.Get("X-User-Id") != "alice" {
					b.Fatalf("answer %d %v", w.status, w.h)
				}
			}
		})
	}
}

// Each HTTP door's check of a page request, with a cached session or none,
// allocates nothing of its own (net/http's request and header map aside),
// with metrics and an info-level logger on, as lbauthz serve runs it.
func TestCheck_PassThroughDoesNotAllocate(t *testing.T) {
	logger := zap.New(zapcore.NewCore(zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig()), zapcore.AddSync(io.Discard), zapcore.InfoLevel))
	cfg, sec := authztest.ParseConfig(t, authztest.Config, "http://127.0.0.1:9", "sk_bench")
	e, err := assemble.Engine(cfg, sec, logger, assemble.WithMetrics(authz.NewMetrics(prometheus.NewRegistry(), "test")))
	if err != nil {
		t.Fatal(err)
	}
	h := httpdoor.New(authz.NewHolder(e), httpdoor.Options{})
	for _, c := range []struct{ name, cookie, user string }{
		{"cached session", "theme=dark; session=" + authztest.Session(authztest.Alice()), "alice"},
		{"no session", "theme=dark", ""},
	} {
		for door, r := range checkRequests(t, c.cookie) {
			t.Run(c.name+"/"+door, func(t *testing.T) {
				w := &headerWriter{h: http.Header{}}
				check := func() {
					clear(w.h)
					h.ServeHTTP(w, r)
				}
				check() // caches the session
				if w.status != http.StatusOK || w.h.Get("X-User-Id") != c.user {
					t.Fatalf("answer %d %v, want 200 as %q", w.status, w.h, c.user)
				}
				if n := testing.AllocsPerRun(200, check); n > 0 {
					t.Fatalf("the check allocates %v times", n)
				}
			})
		}
	}
}
