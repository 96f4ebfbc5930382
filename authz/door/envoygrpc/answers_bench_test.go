package envoygrpc

import (
	"net/http"
	"testing"

	"github.com/lbauthz/lbauthz/authz"
)

// BenchmarkDenied is the CheckResponse built from a refusal: a denied answer
// is built for each request, unlike an allowing one, which is built once per
// session.
func BenchmarkDenied(b *testing.B) {
	d := authz.Decision{Outcome: authz.Unauthorized, Status: http.StatusUnauthorized,
		ContentType: "application/json", Body: []byte(`{"error":"unauthorized","reason":"invalid session"}`)}
	b.ReportAllocs()
	for b.Loop() {
		if r := denied(&d); r.GetDeniedResponse().GetStatus().GetCode() != http.StatusUnauthorized {
			b.Fatal("not a 401")
		}
	}
}

// BenchmarkDenied_WithHeader adds a header of the decision's own (Allow:
// POST on a 405).
func BenchmarkDenied_WithHeader(b *testing.B) {
	d := authz.Decision{Outcome: authz.BadRequest, Status: http.StatusMethodNotAllowed,
		ContentType: "application/json", Body: []byte(`{"error":"method_not_allowed"}`),
		Header: [][2]string{{"allow", "POST"}}}
	b.ReportAllocs()
	for b.Loop() {
		if r := denied(&d); len(r.GetDeniedResponse().GetHeaders()) != 3 {
			b.Fatal("headers missing")
		}
	}
}
