package authz

import (
	"net/http"
	"testing"
)

// BenchmarkDeny is the refusal the engine decides for a request without a
// valid session on the auth path (with its JSON body).
func BenchmarkDeny(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		d := deny(Unauthorized, http.StatusUnauthorized, "unauthorized", "invalid session")
		if len(d.Body) == 0 {
			b.Fatal("no body")
		}
	}
}
