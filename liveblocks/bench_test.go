package liveblocks_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/lbauthz/lbauthz/internal/testenv"
	"github.com/lbauthz/lbauthz/liveblocks"
)

// BenchmarkIdentifyUser measures a token request end to end (validation,
// encoding, the HTTP round trip on a kept-alive loopback connection) against
// an in-process server that answers at once. The server's own allocations
// are part of the figures.
func BenchmarkIdentifyUser(b *testing.B) {
	token := []byte(`{"token":"eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJrIjoiaWQiLCJwaWQiOiJsb2NhbGRldiIsInVpZCI6ImFsaWNlIn0."}`)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		_, _ = w.Write(token)
	}))
	defer srv.Close()
	c := newClient(b, srv.URL, testenv.DevSecretKey)
	req := liveblocks.IdentifyUserRequest{
		UserID:   "user-42",
		GroupIDs: []string{"team-7", "staff"},
		UserInfo: map[string]any{"name": "Ada Lovelace", "avatar": "https://example.com/ada.png"},
	}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if resp := c.IdentifyUser(ctx, req); resp.Status != http.StatusOK {
			b.Fatalf("status %d", resp.Status)
		}
	}
}

func BenchmarkValidateIdentity(b *testing.B) {
	info := map[string]any{"name": "Ada Lovelace", "avatar": "https://example.com/ada.png"}
	b.ReportAllocs()
	for b.Loop() {
		if err := liveblocks.ValidateIdentity("user-42", info); err != nil {
			b.Fatal(err)
		}
	}
}
