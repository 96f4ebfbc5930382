package authztest

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// HTTPClient never follows a redirect: a door must never answer one.
var HTTPClient = &http.Client{
	Timeout: 5 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	},
}

// Send sends one request and returns the answer, body read. A redirect
// fails the test: a door must never answer one.
func Send(t testing.TB, method, url string, h http.Header, body string) (int, http.Header, []byte) {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, r)
	if err != nil {
		t.Fatal(err)
	}
	for k, vs := range h {
		req.Header[k] = vs
	}
	resp, err := HTTPClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode >= 300 && resp.StatusCode < 400 {
		t.Fatalf("%s %s answered %d: a door must never redirect", method, url, resp.StatusCode)
	}
	return resp.StatusCode, resp.Header, b
}
