package liveblocks_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/lbauthz/lbauthz/liveblocks"
)

func TestNew_KeepsSchemeAndHostOfBaseURL(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", "https://api.liveblocks.io"},
		{"https://api.liveblocks.io", "https://api.liveblocks.io"},
		{"http://127.0.0.1:1153", "http://127.0.0.1:1153"},
		{"http://127.0.0.1:1153/", "http://127.0.0.1:1153"},
		{"https://proxy.example.com/liveblocks/v2?x=1#f", "https://proxy.example.com"},
	}
	for _, tt := range tests {
		c, err := liveblocks.New(liveblocks.Options{BaseURL: tt.in, SecretKey: "sk_test"})
		if err != nil {
			t.Errorf("New(BaseURL %q): %v", tt.in, err)
			continue
		}
		if got := c.BaseURL(); got != tt.want {
			t.Errorf("BaseURL(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestNew_RejectsBadOptionsWithoutShowingTheSecret(t *testing.T) {
	const secret = "sk_Secret_Marker_7f3a"
	tests := []struct {
		name      string
		opts      liveblocks.Options
		wantField string
	}{
		{"no secret", liveblocks.Options{}, "SecretKey"},
		{"public key", liveblocks.Options{SecretKey: "pk_Secret_Marker_7f3a"}, "SecretKey"},
		{"space in key", liveblocks.Options{SecretKey: secret + " "}, "SecretKey"},
		{"newline in key", liveblocks.Options{SecretKey: secret + "\n"}, "SecretKey"},
		{"ftp URL", liveblocks.Options{BaseURL: "ftp://example.com", SecretKey: secret}, "BaseURL"},
		{"no scheme", liveblocks.Options{BaseURL: "api.liveblocks.io", SecretKey: secret}, "BaseURL"},
		{"no host", liveblocks.Options{BaseURL: "https:///v2", SecretKey: secret}, "BaseURL"},
		{"credentials in URL", liveblocks.Options{BaseURL: "https://user:" + secret + "@example.com", SecretKey: secret}, "BaseURL"},
		{"unparsable URL", liveblocks.Options{BaseURL: "http://" + secret + "%zz", SecretKey: secret}, "BaseURL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := liveblocks.New(tt.opts)
			var verr *liveblocks.ValidationError
			if !errors.As(err, &verr) {
				t.Fatalf("err = %v, want a *ValidationError", err)
			}
			if verr.Field != tt.wantField {
				t.Errorf("Field = %q, want %q", verr.Field, tt.wantField)
			}
			if strings.Contains(err.Error(), "Secret_Marker") {
				t.Errorf("error shows the secret: %q", err)
			}
		})
	}
}

func TestValidateSecretKey_FollowsTheNodeSDKRule(t *testing.T) {
	for key, valid := range map[string]bool{
		"sk_localdev":         true,
		"sk_prod_AbC-123_xyz": true,
		"":                    false,
		"sk_":                 true, // the Node SDK accepts it too
		"pk_localdev":         false,
		"SK_localdev":         false,
		"sk_local.dev":        false,
		"sk_localdév":         false,
	} {
		err := liveblocks.ValidateSecretKey(key)
		if (err == nil) != valid {
			t.Errorf("ValidateSecretKey(%q) = %v, want valid=%v", key, err, valid)
		}
		if err != nil && key != "" && strings.Contains(err.Error(), key) {
			t.Errorf("error %q shows the key", err)
		}
	}
}

// Liveblocks cannot be made to fail at will; an httptest server answering
// 500 and a closed port stand in for it.
func TestClient_ErrorsNeverShowTheSecret(t *testing.T) {
	const secret = "sk_Secret_Marker_7f3a"
	failing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, `{"error":"INTERNAL","message":"auth header was `+r.Header.Get("Authorization")[:10]+`..."}`, http.StatusInternalServerError)
	}))
	defer failing.Close()
	ctx := context.Background()
	for _, base := range []string{failing.URL, "http://" + closedAddr(t)} {
		c := newClient(t, base, secret)
		var errs []error
		_, err := c.IdentifyUserErr(ctx, liveblocks.IdentifyUserRequest{UserID: "u"})
		errs = append(errs, err)
		_, err = c.AuthorizeUserErr(ctx, liveblocks.AuthorizeUserRequest{UserID: "u", Permissions: map[string][]liveblocks.Permission{"*": {liveblocks.Read}}})
		errs = append(errs, err)
		_, err = c.CreateRoom(ctx, liveblocks.CreateRoomRequest{ID: "r"})
		errs = append(errs, err)
		_, err = c.GetRoom(ctx, "r")
		errs = append(errs, err)
		_, err = c.ListRooms(ctx, liveblocks.ListRoomsRequest{UserID: "u", Limit: 5})
		errs = append(errs, err)
		errs = append(errs, c.DeleteRoom(ctx, "r"))
		for _, err := range errs {
			if err != nil && strings.Contains(err.Error(), "Secret_Marker") {
				t.Errorf("error shows the secret: %q", err)
			}
		}
		if base == failing.URL {
			var apiErr *liveblocks.Error
			if !errors.As(errs[3], &apiErr) || apiErr.Status != 500 || apiErr.Code != "INTERNAL" {
				t.Errorf("GetRoom on a 500: %v, want a 500 *Error", errs[3])
			}
		} else if errs[4] == nil || strings.Contains(errs[4].Error(), "userId=") {
			t.Errorf("ListRooms to a closed port: %v, want an error naming the endpoint, not the query", errs[4])
		}
	}
}
