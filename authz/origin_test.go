package authz_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/lbauthz/lbauthz/authz"
	"github.com/lbauthz/lbauthz/authz/door/httpdoor"
	"github.com/lbauthz/lbauthz/internal/authztest"
	"github.com/lbauthz/lbauthz/internal/testenv"
)

// answer is what a client got from a door: the status (0 when the request
// went on to the app) and the answer's headers.
type answer struct {
	status int
	header http.Header
	body   string
}

// tokenDoor sends a request to the auth path (or path) through one door;
// headers are the client's, with SAME_HOST standing for the host the door
// sees the request sent to.
type tokenDoor struct {
	name string
	host string
	send func(t *testing.T, method, path string, headers map[string]string, body string) answer
}

// tokenDoors are the gRPC door (as Envoy calls it) and the HTTP direct door
// (as a browser or a proxy reaches it), over engines of the same config.
func tokenDoors(t *testing.T, yaml, devURL string) []tokenDoor {
	grpcClient := authztest.GRPC(t, authztest.Engine(t, yaml, devURL, testenv.DevSecretKey))
	srv := httptest.NewServer(httpdoor.New(authz.NewHolder(authztest.Engine(t, yaml, devURL, testenv.DevSecretKey)), httpdoor.Options{}))
	t.Cleanup(srv.Close)
	return []tokenDoor{
		{name: "gRPC", host: "app.example.test", send: func(t *testing.T, method, path string, headers map[string]string, body string) answer {
			t.Helper()
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			resp, err := grpcClient.Check(ctx, authztest.CheckRequest(method, path, headers, body))
			if err != nil {
				t.Fatal(err)
			}
			if resp.GetStatus().GetCode() == int32(codes.OK) {
				return answer{}
			}
			a := answer{status: int(resp.GetDeniedResponse().GetStatus().GetCode()), header: http.Header{}, body: resp.GetDeniedResponse().GetBody()}
			for _, h := range resp.GetDeniedResponse().GetHeaders() {
				a.header.Add(h.GetHeader().GetKey(), h.GetHeader().GetValue())
			}
			return a
		}},
		{name: "HTTPDirect", host: strings.TrimPrefix(srv.URL, "http://"), send: func(t *testing.T, method, path string, headers map[string]string, body string) answer {
			t.Helper()
			req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range headers {
				req.Header.Set(k, v)
			}
			resp, err := authztest.HTTPClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			return answer{status: resp.StatusCode, header: resp.Header, body: string(b)}
		}},
	}
}

const originConfig = authztest.Config + `
auth_limits:
  origins:
    allowed: ["https://App.Partner.test"]
`

func TestOrigin_TokenRequestsFromOtherSitesAreRefusedOnEveryDoor(t *testing.T) {
	dev := testenv.StartLiveblocks(t)
	session := "session=" + authztest.Session(authztest.Alice())
	const partner = "https://app.partner.test"
	for _, door := range tokenDoors(t, originConfig, dev.URL) {
		for _, tc := range []struct {
			name    string
			method  string
			headers map[string]string
			status  int
			cors    bool
		}{
			{"WithoutOriginOrFetchSiteIsAProgramAndIsServed", "POST", nil, 200, false},
			{"SameOriginFetchIsServed", "POST", map[string]string{"Origin": "https://SAME_HOST", "Sec-Fetch-Site": "same-origin"}, 200, false},
			{"OriginOfTheSameHostWithoutFetchSiteIsServed", "POST", map[string]string{"Origin": "https://SAME_HOST"}, 200, false},
			// The Origin fallback compares the scheme too: another scheme on
			// the same host and port is another origin.
			{"FtpOriginOfTheSameHostWithoutFetchSiteIsRefused", "POST", map[string]string{"Origin": "ftp://SAME_HOST"}, 403, false},
			{"ExtensionOriginOfTheSameHostWithoutFetchSiteIsRefused", "POST", map[string]string{"Origin": "chrome-extension://SAME_HOST"}, 403, false},
			{"CrossSiteFetchIsRefused", "POST", map[string]string{"Origin": "https://evil.test", "Sec-Fetch-Site": "cross-site"}, 403, false},
			{"SameSiteSubdomainIsRefused", "POST", map[string]string{"Origin": "https://other.example.test", "Sec-Fetch-Site": "same-site"}, 403, false},
			{"OtherOriginWithoutFetchSiteIsRefused", "POST", map[string]string{"Origin": "https://evil.test"}, 403, false},
			{"NullOriginIsRefused", "POST", map[string]string{"Origin": "null"}, 403, false},
			{"SameOriginClaimWithOtherOriginIsTrustedOnFetchSite", "POST", map[string]string{"Origin": "https://SAME_HOST", "Sec-Fetch-Site": "cross-site"}, 403, false},
			{"AllowedOriginIsServedWithCORS", "POST", map[string]string{"Origin": partner, "Sec-Fetch-Site": "cross-site"}, 200, true},
			{"PreflightFromAllowedOriginIs204WithCORS", "OPTIONS", map[string]string{"Origin": partner, "Access-Control-Request-Method": "POST"}, 204, true},
			{"PreflightFromOtherOriginIs403", "OPTIONS", map[string]string{"Origin": "https://evil.test", "Access-Control-Request-Method": "POST"}, 403, false},
			{"OptionsWithoutOriginIs405", "OPTIONS", nil, 405, false},
		} {
			t.Run(door.name+"/"+tc.name, func(t *testing.T) {
				h := map[string]string{"Cookie": session}
				for k, v := range tc.headers {
					h[k] = strings.ReplaceAll(v, "SAME_HOST", door.host)
				}
				body := ""
				if tc.method == "POST" {
					body = `{"room":"origin-room"}`
				}
				a := door.send(t, tc.method, authztest.AuthPath, h, body)
				if a.status != tc.status {
					t.Fatalf("status %d (%s), want %d", a.status, a.body, tc.status)
				}
				if tc.status == 403 && !strings.Contains(a.body, `"cross_origin"`) {
					t.Fatalf("403 body %s does not say cross_origin", a.body)
				}
				acao := a.header.Get("Access-Control-Allow-Origin")
				if tc.cors {
					if acao != partner || a.header.Get("Access-Control-Allow-Credentials") != "true" || a.header.Get("Vary") != "Origin" {
						t.Fatalf("CORS headers: %v", a.header)
					}
					if tc.method == "OPTIONS" && a.header.Get("Access-Control-Allow-Methods") != "POST" {
						t.Fatalf("preflight without Access-Control-Allow-Methods: %v", a.header)
					}
				} else if acao != "" {
					t.Fatalf("Access-Control-Allow-Origin %q on an answer to a request that is not from an allowed origin", acao)
				}
			})
		}
	}
}

func TestOrigin_PassThroughRequestsAreNotChecked(t *testing.T) {
	c := authztest.GRPC(t, authztest.Engine(t, originConfig, "http://127.0.0.1:9", testenv.DevSecretKey))
	h := map[string]string{"cookie": "session=" + authztest.Session(authztest.Alice()), "origin": "https://evil.test", "sec-fetch-site": "cross-site"}
	if st := ask(t, c, "POST", "/api/documents", h, "{}"); st != 0 {
		t.Fatalf("a cross-site POST to the app got %d from the sidecar: the app's own requests are the app's business", st)
	}
}

func TestOrigin_RefuseWithoutOriginRefusesPrograms(t *testing.T) {
	dev := testenv.StartLiveblocks(t)
	yaml := authztest.Config + `
auth_limits:
  origins: { refuse_without_origin: true }
`
	for _, door := range tokenDoors(t, yaml, dev.URL) {
		t.Run(door.name, func(t *testing.T) {
			h := map[string]string{"Cookie": "session=" + authztest.Session(authztest.Alice())}
			if a := door.send(t, "POST", authztest.AuthPath, h, "{}"); a.status != 403 || !strings.Contains(a.body, "refuse_without_origin") {
				t.Fatalf("no Origin: %d %s, want 403 naming refuse_without_origin", a.status, a.body)
			}
			h["Sec-Fetch-Site"] = "same-origin"
			if a := door.send(t, "POST", authztest.AuthPath, h, "{}"); a.status != 200 {
				t.Fatalf("same-origin: %d %s", a.status, a.body)
			}
		})
	}
}

func TestOrigin_DisabledCheckStillAnswersCORSForAllowedOrigins(t *testing.T) {
	dev := testenv.StartLiveblocks(t)
	yaml := authztest.Config + `
auth_limits:
  origins: { disabled: true, allowed: ["https://app.partner.test"] }
`
	door := tokenDoors(t, yaml, dev.URL)[0]
	session := "session=" + authztest.Session(authztest.Alice())
	if a := door.send(t, "POST", authztest.AuthPath, map[string]string{"Cookie": session, "Origin": "https://evil.test", "Sec-Fetch-Site": "cross-site"}, "{}"); a.status != 200 || a.header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("disabled check: %d %v", a.status, a.header)
	}
	if a := door.send(t, "POST", authztest.AuthPath, map[string]string{"Cookie": session, "Origin": "https://app.partner.test", "Sec-Fetch-Site": "cross-site"}, "{}"); a.status != 200 || a.header.Get("Access-Control-Allow-Origin") != "https://app.partner.test" {
		t.Fatalf("allowed origin with the check disabled: %d %v", a.status, a.header)
	}
}
