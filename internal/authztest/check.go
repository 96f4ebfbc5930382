package authztest

import (
	"context"
	"testing"
	"time"

	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"google.golang.org/grpc/codes"
)

// CheckResult is a CheckResponse read as Envoy reads it.
type CheckResult struct {
	Allowed   bool
	Status    int // HTTP status of a denied response (Envoy's default 403 when unset)
	Headers   map[string]string
	Set       map[string]string // ok_response headers
	Removed   []string          // ok_response headers_to_remove
	Body      string
	GRPCCode  codes.Code
	GRPCError error
}

// Check sends one check to the gRPC door and reads the answer as Envoy
// does, after validating it as Envoy would.
func Check(t testing.TB, c authv3.AuthorizationClient, req *authv3.CheckRequest, timeout time.Duration) CheckResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	resp, err := c.Check(ctx, req)
	if err != nil {
		return CheckResult{GRPCError: err}
	}
	if err := resp.ValidateAll(); err != nil {
		t.Fatalf("CheckResponse does not validate: %v", err)
	}
	r := CheckResult{GRPCCode: codes.Code(resp.GetStatus().GetCode()), Headers: map[string]string{}, Set: map[string]string{}}
	if r.GRPCCode == codes.OK { // an unset status is OK too
		r.Allowed = true
		for _, h := range resp.GetOkResponse().GetHeaders() {
			r.Set[h.GetHeader().GetKey()] = h.GetHeader().GetValue()
		}
		r.Removed = resp.GetOkResponse().GetHeadersToRemove()
		return r
	}
	d := resp.GetDeniedResponse()
	r.Status = 403
	if c := d.GetStatus().GetCode(); c != 0 {
		r.Status = int(c)
	}
	for _, h := range d.GetHeaders() {
		r.Headers[h.GetHeader().GetKey()] = h.GetHeader().GetValue()
	}
	r.Body = d.GetBody()
	return r
}
