package httpdoor_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/lbauthz/lbauthz/authz"
	"github.com/lbauthz/lbauthz/authz/door/httpdoor"
	"github.com/lbauthz/lbauthz/internal/authztest"
	"github.com/lbauthz/lbauthz/internal/testenv"
)

// FuzzHTTPDoors sends arbitrary request targets, methods, cookies, forwarded
// method and URI headers and bodies to the HTTP doors, from a trusted peer
// and from an untrusted one. Whatever the input: no panic, never a 1xx, 3xx
// or 500, a refusal is typed and not cached, an identity only for a session
// really signed with the test key, and nothing allowed from an untrusted
// peer. Liveblocks is an address where nothing listens, so a token request
// with a valid session is a quick 503.
func FuzzHTTPDoors(f *testing.F) {
	valid := "session=" + authztest.Session(authztest.Alice())
	for _, s := range []struct {
		method, target, cookie, origMethod, origURI, body string
	}{
		{"GET", "/check/nginx", valid, "GET", "/docs?x=1", ""},
		{"GET", "/check/nginx", valid, "POST", authztest.AuthPath, ""},
		{"GET", "/check/forward", valid + "; session=x", "GET", "//api/liveblocks-auth", ""},
		{"POST", "/check/envoy/api/liveblocks-auth%2f..", valid, "", "", ""},
		{"POST", authztest.AuthPath + "?x=1", valid, "", "", `{"room":"r1"}`},
		{"POST", authztest.AuthPath, `session="` + authztest.Session(authztest.Alice()) + `"`, "", "", `{"room":1}`},
		{"POST", "//api/liveblocks-auth", valid, "", "", `{}`},
		{"GE T", "/check/nginx", "session=é", "G\x00T", "http://evil.test/", ""},
		{"GET", "*", "", "", "", ""},
		{"GET", "/healthz/..", "", "", "", ""},
	} {
		f.Add(s.method, s.target, s.cookie, s.origMethod, s.origURI, []byte(s.body), false)
	}
	e := authztest.Engine(f, authztest.Config, "http://"+unusedAddr(f), testenv.DevSecretKey)
	h := httpdoor.New(authz.NewHolder(e), httpdoor.Options{})
	f.Fuzz(func(t *testing.T, method, target, cookie, origMethod, origURI string, body []byte, untrusted bool) {
		if method == "" || target == "" {
			return
		}
		r := &http.Request{
			Method: method, RequestURI: target, URL: &url.URL{Path: target}, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
			Header: http.Header{}, Host: "sidecar", RemoteAddr: "127.0.0.1:40000",
			Body: http.NoBody, ContentLength: int64(len(body)),
		}
		if u, err := url.ParseRequestURI(target); err == nil {
			r.URL = u
		}
		if len(body) > 0 {
			r.Body = httpBody(body)
		}
		if untrusted {
			r.RemoteAddr = "192.0.2.7:40000"
		}
		if cookie != "" {
			r.Header["Cookie"] = []string{cookie}
		}
		for _, k := range []string{"X-Original-Method", "X-Forwarded-Method"} {
			r.Header[k] = []string{origMethod}
		}
		for _, k := range []string{"X-Original-Uri", "X-Forwarded-Uri"} {
			r.Header[k] = []string{origURI}
		}
		r.Header["X-User-Id"] = []string{"mallory"}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		status := w.Code
		if status < 200 || (status >= 300 && status < 400) || status == 500 || status > 599 {
			t.Fatalf("%q %q answered %d", method, target, status)
		}
		if user := w.Header().Get("X-User-Id"); user != "" && user != "alice" {
			t.Fatalf("answered with the identity %q", user)
		}
		if untrusted && strings.HasPrefix(target, "/check/") && status == 200 {
			t.Fatalf("an untrusted peer's check %q was allowed", target)
		}
		// JSON, or Liveblocks' own text when Liveblocks answered or could
		// not be reached (as @liveblocks/node hands it on).
		if status >= 400 && (w.Header().Get("Content-Type") == "" || w.Header().Get("Cache-Control") != "no-store") {
			t.Fatalf("refusal %d is %q, %q", status, w.Header().Get("Content-Type"), w.Header().Get("Cache-Control"))
		}
	})
}

// unusedAddr is a loopback address where nothing listens.
func unusedAddr(f *testing.F) string { return testenv.FreeAddr(f) }

type readCloser struct{ *bytes.Reader }

func (readCloser) Close() error { return nil }

func httpBody(b []byte) readCloser { return readCloser{bytes.NewReader(b)} }
