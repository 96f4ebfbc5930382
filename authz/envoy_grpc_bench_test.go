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

// BenchmarkEnvoyResponse_Denied is the CheckResponse built from that
// refusal: a denied answer is built for each request, unlike an allowing
// one, which is built once per session.
func BenchmarkEnvoyResponse_Denied(b *testing.B) {
	e := &Engine{}
	d := deny(Unauthorized, http.StatusUnauthorized, "unauthorized", "invalid session")
	b.ReportAllocs()
	for b.Loop() {
		if r := e.envoyResponse(&d); r.GetDeniedResponse().GetStatus().GetCode() != http.StatusUnauthorized {
			b.Fatal("not a 401")
		}
	}
}

// BenchmarkEnvoyResponse_DeniedWithHeader adds a header of the decision's
// own (Allow: POST on a 405).
func BenchmarkEnvoyResponse_DeniedWithHeader(b *testing.B) {
	e := &Engine{}
	d := deny(BadRequest, http.StatusMethodNotAllowed, "method_not_allowed", "the auth path takes POST")
	d.Header = [][2]string{{"allow", "POST"}}
	b.ReportAllocs()
	for b.Loop() {
		if r := e.envoyResponse(&d); len(r.GetDeniedResponse().GetHeaders()) != 3 {
			b.Fatal("headers missing")
		}
	}
}
