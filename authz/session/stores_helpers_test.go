package session

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"testing"
	"time"
)

// expressSecret is the cookie secret of the real Express apps of the tests.
const expressSecret = "keyboard cat, but a long one: 0123456789"

// expressMapping reads the user an Express app put in req.session.user.
func expressMapping() *Mapping {
	return &Mapping{UserID: "user.id", GroupIDs: "user.groups", UserInfo: map[string]string{"name": "user.name"}}
}

// resolveOnce asks a fresh resolver (so no cache is involved) with a
// request-like deadline.
func resolveOnce(t *testing.T, store Store, m *Mapping, value string) (*Identity, error) {
	t.Helper()
	r := NewResolver(store, m, CacheOptions{Disabled: true})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	return r.Resolve(ctx, value)
}

// wantInvalid fails unless err is an *InvalidError whose reason holds
// reason and none of the secret values.
func wantInvalid(t *testing.T, err error, reason string, secrets ...string) {
	t.Helper()
	if !IsInvalid(err) {
		t.Fatalf("want an invalid session (%s), got %v", reason, err)
	}
	if !strings.Contains(err.Error(), reason) {
		t.Fatalf("want the reason %q, got %q", reason, err.Error())
	}
	noSecrets(t, err, secrets...)
}

// wantUnavailable fails unless err is an *UnavailableError without the
// secret values.
func wantUnavailable(t *testing.T, err error, secrets ...string) {
	t.Helper()
	if !IsUnavailable(err) {
		t.Fatalf("want the store unavailable, got %v", err)
	}
	noSecrets(t, err, secrets...)
}

func noSecrets(t *testing.T, err error, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		if s != "" && strings.Contains(err.Error(), s) {
			t.Fatalf("the error holds a session value")
		}
	}
}

// tamper changes one character of the session id part of an express
// cookie value, keeping its signature.
func tamper(cookie string) string {
	i := strings.Index(cookie, "3A") + 2 // after "s%3A"
	b := []byte(cookie)
	if b[i] == 'A' {
		b[i] = 'B'
	} else {
		b[i] = 'A'
	}
	return string(b)
}

func wantUser(t *testing.T, id *Identity, err error, user string, groups ...string) {
	t.Helper()
	if err != nil {
		t.Fatalf("want user %s, got %v", user, err)
	}
	if id.UserID != user {
		t.Fatalf("user id = %q, want %q", id.UserID, user)
	}
	if strings.Join(id.GroupIDs, ",") != strings.Join(groups, ",") {
		t.Fatalf("groups = %v, want %v", id.GroupIDs, groups)
	}
}

// SignExpress signs a session id as express-session does: "s:" + id + "." +
// signature, not URL-encoded. The tests sign their cookies with it; lbauthz
// itself only checks signatures (UnsignExpress).
func SignExpress(id string, secret []byte) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(id))
	return "s:" + id + "." + base64.RawStdEncoding.EncodeToString(mac.Sum(nil))
}
