package liveblocks_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/lbauthz/lbauthz/internal/testenv"
	"github.com/lbauthz/lbauthz/liveblocks"
)

func TestIdentifyUser_ReturnsIDTokenForTheIdentity(t *testing.T) {
	c := newDevClient(t)
	tests := []struct {
		name     string
		req      liveblocks.IdentifyUserRequest
		wantGIDs any // nil: absent from the token
		wantUI   any // nil: absent from the token
	}{
		{
			name: "user only",
			req:  liveblocks.IdentifyUserRequest{UserID: "alice"},
		},
		{
			name:     "groups and user info",
			req:      liveblocks.IdentifyUserRequest{UserID: "bob", GroupIDs: []string{"eng", "ops"}, UserInfo: map[string]any{"name": "Bob", "avatar": "https://example.com/bob.png", "color": "#f00"}},
			wantGIDs: []string{"eng", "ops"},
			wantUI:   map[string]any{"name": "Bob", "avatar": "https://example.com/bob.png", "color": "#f00"},
		},
		{
			// Liveblocks answers 422 to "groupIds": null; empty ones are left out.
			name: "empty groups and user info are left out",
			req:  liveblocks.IdentifyUserRequest{UserID: "carol", GroupIDs: []string{}, UserInfo: map[string]any{}},
		},
		{
			name: "organization",
			req:  liveblocks.IdentifyUserRequest{UserID: "dave", OrganizationID: "acme"},
		},
		{
			name: "userId of exactly 128 characters",
			req:  liveblocks.IdentifyUserRequest{UserID: strings.Repeat("x", 128)},
		},
		{
			// {"bio":"..."} is 10 characters; "<" is 1 character in
			// JSON.stringify, though Go's default encoding makes it 6.
			name:   "userInfo of exactly 1024 characters",
			req:    liveblocks.IdentifyUserRequest{UserID: "erin", UserInfo: map[string]any{"bio": strings.Repeat("<", 1014)}},
			wantUI: map[string]any{"bio": strings.Repeat("<", 1014)},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := c.IdentifyUserErr(context.Background(), tt.req)
			if err != nil {
				t.Fatalf("IdentifyUserErr: %v", err)
			}
			if resp.Status != http.StatusOK || resp.LiveblocksStatus != http.StatusOK {
				t.Fatalf("status %d (Liveblocks %d), body %q; want 200", resp.Status, resp.LiveblocksStatus, resp.Body)
			}
			if !strings.HasPrefix(resp.ContentType, "application/json") {
				t.Errorf("ContentType = %q, want application/json", resp.ContentType)
			}
			p := tokenPayload(t, resp.Body)
			if p["k"] != "id" {
				t.Errorf("k = %v, want \"id\" (an ID token)", p["k"])
			}
			if p["uid"] != tt.req.UserID {
				t.Errorf("uid = %v, want %q", p["uid"], tt.req.UserID)
			}
			for key, want := range map[string]any{"gids": tt.wantGIDs, "ui": tt.wantUI} {
				got, present := p[key]
				switch {
				case want == nil && present:
					t.Errorf("%s = %v, want it absent", key, got)
				case want != nil && toJSON(t, got) != toJSON(t, want):
					t.Errorf("%s = %s, want %s", key, toJSON(t, got), toJSON(t, want))
				}
			}
			if exp, iat := p["exp"].(float64), p["iat"].(float64); exp-iat != 3600 {
				t.Errorf("token lifetime %v s, want 3600", exp-iat)
			}
		})
	}
}

func TestIdentifyUser_WrongSecretPassesLiveblocks403Through(t *testing.T) {
	dev := testenv.StartLiveblocks(t)
	c := newClient(t, dev.URL, "sk_not_the_dev_key")

	resp := c.IdentifyUser(context.Background(), liveblocks.IdentifyUserRequest{UserID: "alice"})

	// What Liveblocks itself answers to the same request.
	req, _ := http.NewRequest(http.MethodPost, dev.URL+"/v2/identify-user", strings.NewReader(`{"userId":"alice"}`))
	req.Header.Set("Authorization", "Bearer sk_not_the_dev_key")
	req.Header.Set("Content-Type", "application/json")
	direct, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer direct.Body.Close()
	want, _ := io.ReadAll(direct.Body)

	if resp.Status != http.StatusForbidden {
		t.Fatalf("status %d, want 403 passed through; body %q", resp.Status, resp.Body)
	}
	if !bytes.Equal(resp.Body, want) {
		t.Errorf("body %q, want Liveblocks' body verbatim %q", resp.Body, want)
	}
	if resp.ContentType != direct.Header.Get("Content-Type") {
		t.Errorf("ContentType %q, want Liveblocks' %q", resp.ContentType, direct.Header.Get("Content-Type"))
	}
}

func TestIdentifyUser_InvalidIdentityIsNotSent(t *testing.T) {
	c, hits := tripwire(t)
	tests := []struct {
		name      string
		req       liveblocks.IdentifyUserRequest
		wantField string
	}{
		{"empty userId", liveblocks.IdentifyUserRequest{}, "userId"},
		{"userId of 129 characters", liveblocks.IdentifyUserRequest{UserID: strings.Repeat("x", 129)}, "userId"},
		// 65 emoji are 130 UTF-16 code units, the unit Liveblocks counts in.
		{"userId of 65 emoji", liveblocks.IdentifyUserRequest{UserID: strings.Repeat("🙂", 65)}, "userId"},
		{"userInfo of 1025 characters", liveblocks.IdentifyUserRequest{UserID: "a", UserInfo: map[string]any{"bio": strings.Repeat("x", 1015)}}, "userInfo"},
		{"userInfo over 1024 characters in emoji", liveblocks.IdentifyUserRequest{UserID: "a", UserInfo: map[string]any{"bio": strings.Repeat("🙂", 508)}}, "userInfo"},
		{"name not a string", liveblocks.IdentifyUserRequest{UserID: "a", UserInfo: map[string]any{"name": 42}}, "userInfo.name"},
		{"avatar null", liveblocks.IdentifyUserRequest{UserID: "a", UserInfo: map[string]any{"avatar": nil}}, "userInfo.avatar"},
		{"userInfo not encodable", liveblocks.IdentifyUserRequest{UserID: "a", UserInfo: map[string]any{"score": math.NaN()}}, "userInfo"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := c.IdentifyUserErr(context.Background(), tt.req)
			var verr *liveblocks.ValidationError
			if !errors.As(err, &verr) {
				t.Fatalf("err = %v, want a *ValidationError", err)
			}
			if verr.Field != tt.wantField {
				t.Errorf("Field = %q, want %q (%v)", verr.Field, tt.wantField, err)
			}
			if resp.Status != 0 {
				t.Errorf("IdentifyUserErr status %d, want 0 (not sent)", resp.Status)
			}
			if err := liveblocks.ValidateIdentity(tt.req.UserID, tt.req.UserInfo); err == nil {
				t.Errorf("ValidateIdentity accepted what IdentifyUser refused")
			}

			plain := c.IdentifyUser(context.Background(), tt.req)
			if plain.Status != http.StatusUnprocessableEntity || plain.ContentType != "text/plain; charset=utf-8" {
				t.Errorf("IdentifyUser gave %d %q, want 422 text/plain", plain.Status, plain.ContentType)
			}
			if !bytes.HasPrefix(plain.Body, []byte("Invalid "+tt.wantField+": ")) {
				t.Errorf("IdentifyUser body %q, want it to name %s", plain.Body, tt.wantField)
			}
		})
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("Liveblocks was called %d times, want 0", n)
	}
}

func TestValidateIdentity_AcceptsWhatLiveblocksAccepts(t *testing.T) {
	tests := []struct {
		name     string
		userID   string
		userInfo map[string]any
	}{
		{"no userInfo", "alice", nil},
		{"128 characters of BMP text", strings.Repeat("é", 128), nil},
		{"64 emoji", strings.Repeat("🙂", 64), nil},
		{"name and avatar strings", "a", map[string]any{"name": "A", "avatar": "https://example.com/a.png"}},
		{"nested userInfo", "a", map[string]any{"team": map[string]any{"id": 7, "tags": []string{"x"}}}},
		// "\u2028" is one character in JSON.stringify but six in Go's
		// output: {"bio":"..."} is 10, plus 1014.
		{"1024 characters with line separators", "a", map[string]any{"bio": strings.Repeat("\u2028", 1014)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := liveblocks.ValidateIdentity(tt.userID, tt.userInfo); err != nil {
				t.Errorf("ValidateIdentity: %v", err)
			}
		})
	}
}

// Liveblocks (and its dev server) cannot be made to answer 5xx, hang or
// send HTML, so these use an httptest server in its place.
func TestIdentifyUser_MapsStatusesAsTheNodeSDK(t *testing.T) {
	tests := []struct {
		liveblocks  int
		body        string
		contentType string
		want        int
	}{
		{200, `{"token":"t"}`, "application/json; charset=utf-8", 200},
		{201, `{"token":"t"}`, "application/json", 200},
		{400, `{"error":"Bad Request"}`, "application/json", 400},
		{401, `{"error":"Unauthorized","message":"Missing secret key"}`, "application/json", 401},
		{404, `{"error":"Not Found"}`, "application/json", 404},
		{422, `{"error":"Unprocessable Entity","reason":"..."}`, "application/json", 422},
		{429, `{"error":"TOO_MANY_REQUESTS"}`, "application/json", 429},
		{500, `{"error":"INTERNAL"}`, "application/json", 503},
		{502, "<html><body><h1>502 Bad Gateway</h1></body></html>", "text/html", 503},
		{503, "upstream unavailable", "text/plain", 503},
		{504, "", "", 503},
	}
	for _, tt := range tests {
		t.Run(http.StatusText(tt.liveblocks), func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tt.contentType != "" {
					w.Header().Set("Content-Type", tt.contentType)
				} else {
					w.Header()["Content-Type"] = nil // no sniffing
				}
				w.WriteHeader(tt.liveblocks)
				_, _ = io.WriteString(w, tt.body)
			}))
			defer srv.Close()
			c := newClient(t, srv.URL, testenv.DevSecretKey)

			resp, err := c.IdentifyUserErr(context.Background(), liveblocks.IdentifyUserRequest{UserID: "alice"})
			if err != nil {
				t.Fatalf("an answer from Liveblocks gave error %v, want nil", err)
			}
			if resp.Status != tt.want || resp.LiveblocksStatus != tt.liveblocks {
				t.Errorf("status %d (Liveblocks %d), want %d (Liveblocks %d)", resp.Status, resp.LiveblocksStatus, tt.want, tt.liveblocks)
			}
			if string(resp.Body) != tt.body {
				t.Errorf("body %q, want Liveblocks' %q verbatim", resp.Body, tt.body)
			}
			if resp.ContentType != tt.contentType {
				t.Errorf("ContentType %q, want %q", resp.ContentType, tt.contentType)
			}
		})
	}
}

// A refused connection, a hang and a broken body are failures the dev
// server cannot be made to show; httptest servers and a closed port stand in.
func TestIdentifyUser_UnreachableLiveblocksBecomes503(t *testing.T) {
	const secret = "sk_Secret_Marker_7f3a"
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Reading the body lets the server notice the client hanging up.
		_, _ = io.Copy(io.Discard, r.Body)
		select {
		case <-r.Context().Done():
		case <-time.After(10 * time.Second):
		}
	}))
	defer hang.Close()
	huge := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write(bytes.Repeat([]byte("x"), 2<<20))
	}))
	defer huge.Close()
	cut := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "1000")
		_, _ = w.Write([]byte(`{"token":"`))
		conn, _, _ := http.NewResponseController(w).Hijack()
		conn.Close()
	}))
	defer cut.Close()

	tests := []struct {
		name    string
		baseURL string
		timeout time.Duration
		wantIs  error
	}{
		{"connection refused", "http://" + closedAddr(t), time.Second, nil},
		{"hang past the deadline", hang.URL, 300 * time.Millisecond, context.DeadlineExceeded},
		{"body over 1 MiB", huge.URL, 5 * time.Second, nil},
		{"connection cut mid-body", cut.URL, 5 * time.Second, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newClient(t, tt.baseURL, secret)
			ctx, cancel := context.WithTimeout(context.Background(), tt.timeout)
			defer cancel()
			start := time.Now()
			resp, err := c.IdentifyUserErr(ctx, liveblocks.IdentifyUserRequest{UserID: "alice"})
			elapsed := time.Since(start)

			if elapsed > tt.timeout+250*time.Millisecond {
				t.Errorf("returned after %v, want within the %v deadline", elapsed, tt.timeout)
			}
			if err == nil {
				t.Fatal("err = nil, want the cause of the failure")
			}
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Errorf("err = %v, want it to match %v", err, tt.wantIs)
			}
			if resp.Status != http.StatusServiceUnavailable || resp.ContentType != "text/plain; charset=utf-8" {
				t.Errorf("got %d %q, want 503 text/plain", resp.Status, resp.ContentType)
			}
			if string(resp.Body) != "Call to Liveblocks (POST /v2/identify-user) failed." {
				t.Errorf("body %q", resp.Body)
			}
			if plain := c.IdentifyUser(ctx, liveblocks.IdentifyUserRequest{UserID: "alice"}); plain.Status != http.StatusServiceUnavailable {
				t.Errorf("IdentifyUser status %d, want 503", plain.Status)
			}
			for _, s := range []string{err.Error(), string(resp.Body)} {
				if strings.Contains(s, secret) {
					t.Errorf("the secret key leaked: %q", s)
				}
			}
		})
	}
}

func TestIdentifyUser_SendsJSONWithBearerSecret(t *testing.T) {
	// The dev server accepts any body shape it can decode, so the exact
	// request is checked on an httptest server.
	var got *http.Request
	var body []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, body = r, must(io.ReadAll(r.Body))
		_, _ = io.WriteString(w, `{"token":"t"}`)
	}))
	defer srv.Close()
	c, err := liveblocks.New(liveblocks.Options{BaseURL: srv.URL + "/ignored/path", SecretKey: "sk_abc-123", UserAgent: "lbauthz-test"})
	if err != nil {
		t.Fatal(err)
	}
	c.IdentifyUser(context.Background(), liveblocks.IdentifyUserRequest{
		UserID: "a", GroupIDs: []string{"g"}, UserInfo: map[string]any{"name": "<A & B>"}, OrganizationID: "org",
	})
	if got == nil {
		t.Fatal("no request")
	}
	checks := map[string][2]string{
		"method":        {got.Method, "POST"},
		"path":          {got.URL.Path, "/v2/identify-user"},
		"Authorization": {got.Header.Get("Authorization"), "Bearer sk_abc-123"},
		"Content-Type":  {got.Header.Get("Content-Type"), "application/json"},
		"User-Agent":    {got.Header.Get("User-Agent"), "lbauthz-test"},
		"body":          {string(body), `{"userId":"a","groupIds":["g"],"userInfo":{"name":"<A & B>"},"organizationId":"org"}`},
	}
	for what, c := range checks {
		if c[0] != c[1] {
			t.Errorf("%s = %q, want %q", what, c[0], c[1])
		}
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func TestIdentifyUser_ConcurrentCallsGetTheirOwnTokens(t *testing.T) {
	c := newDevClient(t)
	const workers, calls = 16, 8
	errs := make(chan error, workers*calls)
	for w := range workers {
		go func() {
			for i := range calls {
				id := fmt.Sprintf("user-%d-%d", w, i)
				resp := c.IdentifyUser(context.Background(), liveblocks.IdentifyUserRequest{
					UserID: id, GroupIDs: []string{id + "-group"}, UserInfo: map[string]any{"name": id},
				})
				switch {
				case resp.Status != http.StatusOK:
					errs <- fmt.Errorf("%s: status %d %q", id, resp.Status, resp.Body)
				case !bytes.Contains(resp.Body, []byte(`"token"`)):
					errs <- fmt.Errorf("%s: body %q", id, resp.Body)
				default:
					errs <- checkUID(resp.Body, id)
				}
			}
		}()
	}
	for range workers * calls {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

func checkUID(body []byte, want string) error {
	var resp struct{ Token string }
	if err := json.Unmarshal(body, &resp); err != nil {
		return err
	}
	parts := strings.Split(resp.Token, ".")
	if len(parts) != 3 {
		return fmt.Errorf("token %q", resp.Token)
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return err
	}
	var p struct {
		UID  string   `json:"uid"`
		GIDs []string `json:"gids"`
	}
	if err := json.Unmarshal(raw, &p); err != nil {
		return err
	}
	if p.UID != want || len(p.GIDs) != 1 || p.GIDs[0] != want+"-group" {
		return fmt.Errorf("token for %q carries uid %q, gids %v", want, p.UID, p.GIDs)
	}
	return nil
}
