package main

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"github.com/golang-jwt/jwt/v5"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// hmacSecret signs the benchmark's sessions; the sidecar and the Express
// reference read it from a file.
const hmacSecret = "lbauthz-bench-session-key-0123456789abcdef"

// claims is a session as an app signs it.
func claims(sub, name string, groups []string) map[string]any {
	return map[string]any{
		"sub": sub, "name": name, "groups": groups,
		"picture": "https://avatars.example.test/" + sub + ".png",
		"iat":     time.Now().Unix(), "exp": time.Now().Add(2 * time.Hour).Unix(),
	}
}

// signJWT signs claims with hmacSecret (HS256).
func signJWT(c map[string]any) string {
	signed, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims(c)).SignedString([]byte(hmacSecret))
	return signed
}

// browserCookie is a Cookie header as a browser sends it to an app: the
// session among analytics, consent and preference cookies. An empty
// session leaves the session cookie out.
func browserCookie(session string) string {
	parts := []string{
		"_ga=GA1.1.1234567890.1700000000",
		"_ga_5QZ1X2Y3W4=GS1.1.1700000000.3.1.1700000123.0.0.0",
		"cookie_consent=necessary%2Canalytics",
		"theme=dark",
	}
	if session != "" {
		parts = append(parts, "session="+session)
	}
	parts = append(parts, "csrftoken=Yx8s0fTq3UHl7c2ZpQ9wR4vN1mK6bJ0a", "_gid=GA1.1.987654321.1700000000")
	return strings.Join(parts, "; ")
}

// checkRequest is the CheckRequest Envoy sends for a browser's request: the
// headers of a page load (lower-case, pseudo-headers included) and the
// addresses of both ends.
func checkRequest(method, path, cookie, body string) *authv3.CheckRequest {
	h := map[string]string{
		":authority": "app.example.test", ":method": method, ":path": path, ":scheme": "https",
		"accept":          "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
		"accept-encoding": "gzip, deflate, br, zstd",
		"accept-language": "en-US,en;q=0.9,fr;q=0.8",
		"user-agent":      "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
		"sec-fetch-dest":  "document", "sec-fetch-mode": "navigate", "sec-fetch-site": "same-origin",
		"sec-ch-ua":                      `"Chromium";v="131", "Not_A Brand";v="24"`,
		"x-forwarded-for":                "203.0.113.7",
		"x-forwarded-proto":              "https",
		"x-request-id":                   "2f6a4c1e-8d3b-4e7a-9c51-0b8e7d6f5a43",
		"x-envoy-expected-rq-timeout-ms": "15000",
	}
	if cookie != "" {
		h["cookie"] = cookie
	}
	hr := &authv3.AttributeContext_HttpRequest{
		Id: "1283749283749", Method: method, Path: path, Host: "app.example.test", Scheme: "https",
		Protocol: "HTTP/2", Headers: h,
	}
	if body != "" {
		h["content-type"] = "application/json"
		hr.Body, hr.Size = body, int64(len(body))
	}
	addr := func(ip string, port uint32) *authv3.AttributeContext_Peer {
		return &authv3.AttributeContext_Peer{Address: &corev3.Address{Address: &corev3.Address_SocketAddress{
			SocketAddress: &corev3.SocketAddress{Address: ip, PortSpecifier: &corev3.SocketAddress_PortValue{PortValue: port}}}}}
	}
	return &authv3.CheckRequest{Attributes: &authv3.AttributeContext{
		Source:      addr("10.0.0.7", 51234),
		Destination: addr("10.0.0.12", 8080),
		Request:     &authv3.AttributeContext_Request{Http: hr},
	}}
}

// grpcFrame is the request as sent on the wire: a length-prefixed message.
func grpcFrame(req *authv3.CheckRequest) []byte {
	b, err := proto.Marshal(req)
	if err != nil {
		panic(err)
	}
	out := make([]byte, 5+len(b))
	binary.BigEndian.PutUint32(out[1:5], uint32(len(b)))
	copy(out[5:], b)
	return out
}

func grpcJSON(req *authv3.CheckRequest) []byte {
	b, err := protojson.Marshal(req)
	if err != nil {
		panic(err)
	}
	return b
}

// checkClient calls Check on addr.
type checkClient struct {
	conn *grpc.ClientConn
	c    authv3.AuthorizationClient
}

func dialCheck(addr string) (*checkClient, error) {
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, err
	}
	return &checkClient{conn: conn, c: authv3.NewAuthorizationClient(conn)}, nil
}

func (c *checkClient) Close() { c.conn.Close() }

func (c *checkClient) check(req *authv3.CheckRequest) (*authv3.CheckResponse, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	return c.c.Check(ctx, req)
}

// expectation checks one answer of a case before it is measured, so that a
// figure is never one of a wrong answer given fast.
type expectation func(*authv3.CheckResponse) error

func allowsAs(user string) expectation {
	return func(r *authv3.CheckResponse) error {
		ok := r.GetOkResponse()
		if r.GetStatus().GetCode() != 0 || ok == nil {
			return fmt.Errorf("not allowed: %v", r.GetStatus())
		}
		for _, h := range ok.GetHeaders() {
			if h.GetHeader().GetKey() == "x-user-id" {
				if got := h.GetHeader().GetValue(); got != user {
					return fmt.Errorf("allowed as %q, want %q", got, user)
				}
				return nil
			}
		}
		return fmt.Errorf("allowed without x-user-id, want %q", user)
	}
}

func allowsAnonymous(r *authv3.CheckResponse) error {
	ok := r.GetOkResponse()
	if r.GetStatus().GetCode() != 0 || ok == nil {
		return fmt.Errorf("not allowed: %v", r.GetStatus())
	}
	if len(ok.GetHeaders()) > 0 {
		return fmt.Errorf("anonymous request allowed with headers %v", ok.GetHeaders())
	}
	return nil
}

func deniesWith(status int) expectation {
	return func(r *authv3.CheckResponse) error {
		d := r.GetDeniedResponse()
		if d == nil || int(d.GetStatus().GetCode()) != status {
			return fmt.Errorf("answer %v, want a denial with %d", r.GetStatus(), status)
		}
		return nil
	}
}

// httpCheck sends s once and checks the answer's status and, when want is
// set, that the body holds it.
func httpCheck(s httpSpec, status int, want string) error {
	req, err := http.NewRequest(s.Method, s.URL, strings.NewReader(s.Body))
	if err != nil {
		return err
	}
	if s.ContentType != "" {
		req.Header.Set("Content-Type", s.ContentType)
	}
	for _, h := range s.Header {
		req.Header.Set(h[0], h[1])
	}
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != status || !strings.Contains(string(b), want) {
		return fmt.Errorf("%s %s: %d %.200q, want %d with %q", s.Method, s.URL, resp.StatusCode, b, status, want)
	}
	return nil
}
