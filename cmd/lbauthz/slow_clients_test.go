package main

import (
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// A slowloris attack on lbauthz serve's HTTP listener: connections that
// trickle their headers, or declare a body and send 5 of its 100 bytes, to
// the auth path, a check, /healthz and /readyz. With listen.http_timeouts
// the listener drops each within its read timeouts, keeps answering other
// clients meanwhile, and gives back the connections' file descriptors.
func TestServe_SlowClientsAreDroppedInTimeAndOthersServed(t *testing.T) {
	cfgPath, _, httpAddr := writeConfig(t, `liveblocks:
  timeout: 1s
`)
	setHTTPTimeouts(t, cfgPath, "{ read_header: 1s, read: 2s, write: 5s }")
	p := startServe(t, cfgPath, httpAddr)
	fds := func() int {
		ents, err := os.ReadDir("/proc/" + strconv.Itoa(p.Cmd.Process.Pid) + "/fd")
		if err != nil {
			t.Skipf("cannot count the server's descriptors: %v", err)
		}
		return len(ents)
	}
	fdsBefore := fds()

	starts := []string{
		"POST /api/liveblocks-auth HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"roo",
		"GET /api/liveblocks-auth HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nxxxxx",
		"GET /check/nginx HTTP/1.1\r\nHost: x\r\nX-Original-Method: GET\r\nX-Original-URI: /docs\r\nContent-Length: 100\r\n\r\nxxxxx",
		"GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nxxxxx",
		"POST /readyz HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nxxxxx",
		"POST /api/liveblocks-auth HTTP/1.1\r\nHost: x\r\nCookie: session=", // the headers never end
	}
	const n = 120
	conns := make([]net.Conn, 0, n)
	for i := range n {
		c, err := net.DialTimeout("tcp", httpAddr, 2*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		if _, err := io.WriteString(c, starts[i%len(starts)]); err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	attacked := time.Now()
	// Those that left a body unread are answered and closed at once; the
	// others (a third) stay open until their read timeout.
	for fds() < fdsBefore+n/4 {
		if time.Since(attacked) > 500*time.Millisecond {
			t.Fatalf("%d descriptors during the attack, %d before: the connections were not accepted", fds(), fdsBefore)
		}
		time.Sleep(20 * time.Millisecond)
	}

	// Others are served while the slow connections are open.
	client := &http.Client{Timeout: 2 * time.Second}
	for i := range 5 {
		start := time.Now()
		resp, err := client.Get("http://" + httpAddr + "/healthz")
		if err != nil {
			t.Fatalf("healthz %d during the attack: %v", i, err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 || time.Since(start) > time.Second {
			t.Fatalf("healthz %d during the attack: %d after %s", i, resp.StatusCode, time.Since(start))
		}
		time.Sleep(100 * time.Millisecond)
	}

	// Each slow connection ends (an answer and EOF, or EOF) within the read
	// timeout and a margin, never by the test's own deadline.
	deadline := attacked.Add(4 * time.Second)
	for i, c := range conns {
		_ = c.SetReadDeadline(deadline)
		_, err := io.Copy(io.Discard, c)
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			t.Fatalf("slow connection %d (%.30q) still open %s after it started", i, starts[i%len(starts)], time.Since(attacked))
		}
	}
	// The server closed them all: its descriptors come back.
	end := time.Now().Add(2 * time.Second)
	for fds() > fdsBefore+5 {
		if time.Now().After(end) {
			t.Fatalf("%d descriptors after the attack, %d before", fds(), fdsBefore)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// The gRPC listener has timeouts too: a connection that never sends the
// HTTP/2 preface is closed after listen.http_timeouts.read_header, while
// Checks on other connections are answered.
func TestServe_GRPCConnectionThatNeverSpeaksIsClosed(t *testing.T) {
	cfgPath, grpcAddr, httpAddr := writeConfig(t, "")
	setHTTPTimeouts(t, cfgPath, "{ read_header: 1s }")
	startServe(t, cfgPath, httpAddr)
	c, err := net.DialTimeout("tcp", grpcAddr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	start := time.Now()
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, err = io.Copy(io.Discard, c) // returns when the server closes it
	took := time.Since(start)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("a gRPC connection that sent nothing was still open after %s", took)
	}
	if took < 900*time.Millisecond || took > 5*time.Second {
		t.Errorf("the silent gRPC connection was closed after %s, want about read_header (1s)", took)
	}
}

// setHTTPTimeouts sets listen.http_timeouts in a config writeConfig wrote.
func setHTTPTimeouts(t *testing.T, cfgPath, timeouts string) {
	t.Helper()
	b, err := os.ReadFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	b = []byte(strings.Replace(string(b), "  shutdown_grace: 5s\n", "  shutdown_grace: 5s\n  http_timeouts: "+timeouts+"\n", 1))
	if err := os.WriteFile(cfgPath, b, 0o600); err != nil {
		t.Fatal(err)
	}
}
