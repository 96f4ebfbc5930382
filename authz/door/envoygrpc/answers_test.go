package envoygrpc_test

import (
	"context"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"

	"github.com/lbauthz/lbauthz/authz"
	"github.com/lbauthz/lbauthz/authz/door/envoygrpc"
	"github.com/lbauthz/lbauthz/internal/authztest"
)

// The prepared answer of a session belongs to the engine that prepared it:
// after a reload renames the identity headers, the same cached session gets
// the new names, and two sessions never get each other's answer.
func TestCheck_PreparedAnswersFollowTheEngineAndTheSession(t *testing.T) {
	old := authztest.Engine(t, authztest.Config, "http://127.0.0.1:9", "sk_test")
	renamed := authztest.Engine(t, strings.ReplaceAll(authztest.Config, `user_id: "x-user-id"`, `user_id: "x-uid"`),
		"http://127.0.0.1:9", "sk_test")
	holder := authz.NewHolder(old)
	srv := envoygrpc.NewServer(holder)
	bob := authztest.Alice()
	bob["sub"] = "bob"
	sessions := map[string]string{"alice": authztest.Session(authztest.Alice()), "bob": authztest.Session(bob)}
	userHeader := func(user, name string) string {
		t.Helper()
		req := authztest.CheckRequest("GET", "/docs", map[string]string{"cookie": "session=" + sessions[user]}, "")
		resp, err := srv.Check(context.Background(), req)
		if err != nil || resp.GetStatus().GetCode() != int32(codes.OK) {
			t.Fatalf("%s: not allowed (%v)", user, err)
		}
		for _, h := range resp.GetOkResponse().GetHeaders() {
			if h.GetHeader().GetKey() == name {
				return h.GetHeader().GetValue()
			}
		}
		return ""
	}
	for range 2 { // the second round is answered from the prepared answers
		if got := userHeader("alice", "x-user-id"); got != "alice" {
			t.Fatalf("alice: x-user-id %q", got)
		}
		if got := userHeader("bob", "x-user-id"); got != "bob" {
			t.Fatalf("bob: x-user-id %q", got)
		}
	}
	holder.Swap(renamed)
	if got := userHeader("alice", "x-uid"); got != "alice" {
		t.Fatalf("after the reload: x-uid %q, want alice", got)
	}
	if got := userHeader("alice", "x-user-id"); got != "" {
		t.Fatalf("after the reload: the old header name is still set (%q)", got)
	}
}
