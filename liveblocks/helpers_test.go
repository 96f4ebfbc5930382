package liveblocks_test

import (
	"encoding/base64"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/lbauthz/lbauthz/internal/testenv"
	"github.com/lbauthz/lbauthz/liveblocks"
)

// newDevClient starts a Liveblocks dev server for the test and returns a
// client of it.
func newDevClient(t *testing.T) *liveblocks.Client {
	t.Helper()
	dev := testenv.StartLiveblocks(t)
	return newClient(t, dev.URL, testenv.DevSecretKey)
}

func newClient(t testing.TB, baseURL, secret string) *liveblocks.Client {
	t.Helper()
	c, err := liveblocks.New(liveblocks.Options{BaseURL: baseURL, SecretKey: secret})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}

// tokenPayload decodes the payload of the JWT in a {"token": ...} body.
func tokenPayload(t *testing.T, body []byte) map[string]any {
	t.Helper()
	var resp struct {
		Token string `json:"token"`
	}
	if err := json.Unmarshal(body, &resp); err != nil || resp.Token == "" {
		t.Fatalf("body is not {\"token\": ...}: %q (%v)", body, err)
	}
	parts := strings.Split(resp.Token, ".")
	if len(parts) != 3 {
		t.Fatalf("token has %d parts, want 3", len(parts))
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatalf("decoding token payload: %v", err)
	}
	var payload map[string]any
	if err := json.Unmarshal(raw, &payload); err != nil {
		t.Fatalf("token payload is not JSON: %q", raw)
	}
	return payload
}

// tripwire is a server that must not be called: it stands for Liveblocks in
// tests of requests that are refused before anything is sent.
func tripwire(t *testing.T) (*liveblocks.Client, *atomic.Int32) {
	t.Helper()
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		http.Error(w, "should not have been called", http.StatusTeapot)
	}))
	t.Cleanup(srv.Close)
	return newClient(t, srv.URL, testenv.DevSecretKey), &hits
}

// closedAddr returns a loopback address nothing listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// toJSON is v encoded, for comparing values of different Go types that mean
// the same JSON.
func toJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
