package admin_test

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/lbauthz/lbauthz/authz/shared"
	"github.com/lbauthz/lbauthz/internal/admin"
	"github.com/lbauthz/lbauthz/internal/testenv"
)

const token = "0123456789abcdef0123456789abcdef-admin"

func post(t *testing.T, c *http.Client, url, auth, method, body string) (int, map[string]string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var out map[string]string
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("%s %s: answer is not JSON: %q", method, url, b)
	}
	return resp.StatusCode, out
}

func TestHandler_AnswersEveryRequestWithTheRightStatus(t *testing.T) {
	rd := testenv.StartRedis(t)
	r, err := shared.Open(shared.Options{Addrs: []string{rd.Addr}, Timeout: 2 * time.Second}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	// A Redis that refuses connections: the real failure a revocation meets.
	down, err := shared.Open(shared.Options{Addrs: []string{testenv.FreeAddr(t)}}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { down.Close() })

	core, logs := observer.New(zap.DebugLevel)
	serve := func(rev admin.Revoker) string {
		h, err := admin.New(admin.Options{Revoker: rev, DefaultTTL: time.Hour, Token: []byte(token), Log: zap.New(core)})
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(h)
		t.Cleanup(srv.Close)
		return srv.URL
	}
	withRedis, withoutRedis, redisDown := serve(r), serve(nil), serve(down)
	hash := shared.SessionHash("s:a-session.sig")
	bearer := "Bearer " + token

	for _, tc := range []struct {
		name, url, auth, method, path, body string
		want                                int
		says                                string
	}{
		{"a user is revoked for the default duration", withRedis, bearer, "POST", admin.RevocationsPath, `{"user":"user-7"}`, 200, "user user-7"},
		{"a session is revoked by its hash for a while", withRedis, "bearer " + token, "POST", admin.RevocationsPath, `{"session_cookie_hash":"` + hash + `","for":"10m"}`, 200, "session " + hash},
		{"no token is unauthorized", withRedis, "", "POST", admin.RevocationsPath, `{"user":"u"}`, 401, "bearer token"},
		{"a wrong token is unauthorized", withRedis, "Bearer " + strings.Repeat("x", len(token)), "POST", admin.RevocationsPath, `{"user":"u"}`, 401, "bearer token"},
		{"a token prefix is unauthorized", withRedis, "Bearer " + token[:10], "POST", admin.RevocationsPath, `{"user":"u"}`, 401, "bearer token"},
		{"basic authentication is unauthorized", withRedis, "Basic " + token, "POST", admin.RevocationsPath, `{"user":"u"}`, 401, "bearer token"},
		{"an unknown path without a token is unauthorized", withRedis, "", "GET", "/admin/v1/other", "", 401, "bearer token"},
		{"an unknown path is not found", withRedis, bearer, "GET", "/admin/v1/other", "", 404, admin.RevocationsPath},
		{"GET is not allowed", withRedis, bearer, "GET", admin.RevocationsPath, "", 405, "POST"},
		{"a body that is not JSON is bad", withRedis, bearer, "POST", admin.RevocationsPath, `user=u`, 400, "JSON object"},
		{"an unknown field is bad", withRedis, bearer, "POST", admin.RevocationsPath, `{"user":"u","cookie":"s:x"}`, 400, "JSON object"},
		{"two objects are bad", withRedis, bearer, "POST", admin.RevocationsPath, `{"user":"u"}{"user":"v"}`, 400, "one JSON object"},
		{"both a user and a session are bad", withRedis, bearer, "POST", admin.RevocationsPath, `{"user":"u","session_cookie_hash":"` + hash + `"}`, 400, "exactly one"},
		{"neither is bad", withRedis, bearer, "POST", admin.RevocationsPath, `{}`, 400, "exactly one"},
		{"a cookie instead of its hash is bad", withRedis, bearer, "POST", admin.RevocationsPath, `{"session_cookie_hash":"s:the-cookie-itself"}`, 400, "not a cookie"},
		{"a duration that is not one is bad", withRedis, bearer, "POST", admin.RevocationsPath, `{"user":"u","for":"tomorrow"}`, 400, `"for"`},
		{"a negative duration is bad", withRedis, bearer, "POST", admin.RevocationsPath, `{"user":"u","for":"-1h"}`, 400, "positive"},
		{"a body too large is bad", withRedis, bearer, "POST", admin.RevocationsPath, `{"user":"` + strings.Repeat("u", 5000) + `"}`, 400, "larger than"},
		{"without a shared Redis it is a conflict", withoutRedis, bearer, "POST", admin.RevocationsPath, `{"user":"u"}`, 409, "no shared.redis"},
		{"a Redis that does not answer is unavailable", redisDown, bearer, "POST", admin.RevocationsPath, `{"user":"u"}`, 503, "try again"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, out := post(t, http.DefaultClient, tc.url+tc.path, tc.auth, tc.method, tc.body)
			if status != tc.want {
				t.Fatalf("status %d %v, want %d", status, out, tc.want)
			}
			got := out["error"] + out["revoked"]
			if !strings.Contains(got, tc.says) {
				t.Fatalf("answer %v does not say %q", out, tc.says)
			}
			if strings.Contains(got, "the-cookie-itself") {
				t.Fatalf("the answer repeats the value: %v", out)
			}
		})
	}

	revs := r.NewRevocations(nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go revs.Run(ctx)
	<-revs.Subscribed()
	if !revs.UserRevoked("user-7") || !revs.SessionRevoked("s:a-session.sig") {
		t.Fatal("the revocations answered 200 are not in the shared Redis")
	}
	for _, e := range logs.All() {
		line := e.Message + toString(e.ContextMap())
		if strings.Contains(line, token[:16]) || strings.Contains(line, "the-cookie-itself") {
			t.Fatalf("a log line holds the token or the cookie: %s", line)
		}
	}
}

func toString(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func TestNew_RefusesNoTokenWithoutARequiredClientCertificate(t *testing.T) {
	if _, err := admin.New(admin.Options{}); err == nil {
		t.Fatal("an admin API without a token nor a required client certificate was made")
	}
	h, err := admin.New(admin.Options{Token: []byte(token)})
	if err != nil {
		t.Fatal(err)
	}
	if err := h.SetToken(nil); err == nil {
		t.Fatal("a reload removed the only authentication")
	}
}

func TestHandler_ClientCertificateAloneAuthenticates(t *testing.T) {
	ca := testenv.NewCA(t, "admin CA")
	h, err := admin.New(admin.Options{ClientCertRequired: true, DefaultTTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	c, k := ca.Issue(t, 2, false, "127.0.0.1")
	pair, err := tls.X509KeyPair(c, k)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(h)
	srv.TLS = &tls.Config{ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: ca.Pool(), Certificates: []tls.Certificate{pair}}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.Pool(),
		Certificates: []tls.Certificate{ca.ClientCert(t, "spiffe://cluster.local/ns/ops/sa/revoker")}}}}
	// No shared Redis here: a 409 shows the request got past authentication.
	if status, out := post(t, client, srv.URL+admin.RevocationsPath, "", "POST", `{"user":"u"}`); status != 409 {
		t.Fatalf("with a verified client certificate and no token: %d %v, want 409", status, out)
	}
}
