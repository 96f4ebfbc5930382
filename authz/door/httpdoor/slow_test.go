package httpdoor_test

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lbauthz/lbauthz/authz"
	"github.com/lbauthz/lbauthz/authz/door/httpdoor"
	"github.com/lbauthz/lbauthz/internal/authztest"
	"github.com/lbauthz/lbauthz/internal/testenv"
)

// serveWithTimeouts serves the HTTP doors as lbauthz serve does, with the
// listener's read timeout and a /healthz behind them, and returns the
// address.
func serveWithTimeouts(t *testing.T, e *authz.Engine, read time.Duration) string {
	t.Helper()
	next := http.NewServeMux()
	next.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok\n") })
	srv := httptest.NewUnstartedServer(httpdoor.New(authz.NewHolder(e), httpdoor.Options{Next: next, ReadTimeout: read}))
	srv.Config.ReadHeaderTimeout, srv.Config.ReadTimeout = read, read
	srv.Config.WriteTimeout, srv.Config.IdleTimeout = 10*time.Second, 10*time.Second
	srv.Start()
	t.Cleanup(srv.Close)
	return srv.Listener.Addr().String()
}

// A request whose declared body is not all sent (5 of 100 bytes) gets its
// answer at once where the body is not read, or once the body's read
// deadline passes on the auth path, and the connection is closed after it:
// net/http would otherwise drain the rest of the body, without a deadline,
// before writing the answer. Every refusal closes the connection too; a
// token does not.
func TestHTTPDoors_UnreadBodiesAndRefusalsCloseTheConnection(t *testing.T) {
	_, lb := authztest.DevServer(t)
	e := authztest.Engine(t, authztest.Config, lb.URL, testenv.DevSecretKey)
	addr := serveWithTimeouts(t, e, time.Second)
	cookie := "Cookie: session=" + authztest.Session(authztest.Alice()) + "\r\n"
	partial := "Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"roo"
	whole := func(body string) string {
		return "Content-Type: application/json\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body
	}
	for _, tc := range []struct {
		name   string
		req    string
		status int
		within time.Duration
		closed bool
	}{
		{"AuthPathWithATrickledBodyIs400AfterTheReadDeadline", "POST " + authztest.AuthPath + " HTTP/1.1\r\nHost: x\r\n" + cookie + partial, 400, 3 * time.Second, true},
		{"AuthPathGETWithABodyIs405AtOnce", "GET " + authztest.AuthPath + " HTTP/1.1\r\nHost: x\r\n" + partial, 405, time.Second, true},
		{"CheckWithABodyIsAnsweredAtOnce", "GET /check/nginx HTTP/1.1\r\nHost: x\r\nX-Original-Method: GET\r\nX-Original-URI: /docs\r\n" + partial, 200, time.Second, true},
		{"HealthzWithABodyIsAnsweredAtOnce", "GET /healthz HTTP/1.1\r\nHost: x\r\n" + partial, 200, time.Second, true},
		{"UncleanPathWithABodyIs404AtOnce", "POST //x HTTP/1.1\r\nHost: x\r\n" + partial, 404, time.Second, true},
		{"AuthPathWithoutSessionIs401AndCloses", "POST " + authztest.AuthPath + " HTTP/1.1\r\nHost: x\r\n" + whole(`{"room":"r1"}`), 401, time.Second, true},
		{"AuthPathOverTheLimitIs413AndCloses", "POST " + authztest.AuthPath + " HTTP/1.1\r\nHost: x\r\n" + cookie + "Content-Type: application/json\r\nContent-Length: 5000\r\n\r\n{", 413, time.Second, true},
		{"TokenKeepsTheConnection", "POST " + authztest.AuthPath + " HTTP/1.1\r\nHost: x\r\n" + cookie + whole(`{"room":"r1"}`), 200, 3 * time.Second, false},
		{"CheckWithoutABodyKeepsTheConnection", "GET /check/nginx HTTP/1.1\r\nHost: x\r\nX-Original-Method: GET\r\nX-Original-URI: /docs\r\n\r\n", 200, time.Second, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conn, err := net.DialTimeout("tcp", addr, 2*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			start := time.Now()
			_ = conn.SetDeadline(start.Add(tc.within))
			if _, err := io.WriteString(conn, tc.req); err != nil {
				t.Fatal(err)
			}
			br := bufio.NewReader(conn)
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatalf("no answer within %s: %v", tc.within, err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.status)
			}
			// resp.Close is the answer's Connection: close.
			if resp.Close != tc.closed {
				t.Fatalf("Connection: close is %v, want %v", resp.Close, tc.closed)
			}
			// The server closes the connection (EOF) or keeps it open (the
			// read times out), without reading on.
			_ = conn.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
			_, err = br.ReadByte()
			var ne net.Error
			switch {
			case tc.closed && !errors.Is(err, io.EOF) && !isReset(err):
				t.Fatalf("the connection stayed open after the answer: %v", err)
			case !tc.closed && !(errors.As(err, &ne) && ne.Timeout()):
				t.Fatalf("the connection was closed after the answer: %v", err)
			}
		})
	}
}

func isReset(err error) bool {
	return err != nil && strings.Contains(err.Error(), "connection reset")
}
