package authz_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/lbauthz/lbauthz/authz"
	"github.com/lbauthz/lbauthz/internal/authztest"
	"github.com/lbauthz/lbauthz/internal/testenv"
)

// Explain names a framework preset's store and the step that refused its
// cookie, and its output holds neither the cookie nor the app's secret.
func TestExplain_NamesThePresetAndTheStepThatRefusedAFrameworkCookie(t *testing.T) {
	want := map[string]struct{ store, step string }{
		"AuthPathWithTheAppsDjangoCookie":                      {"signed_cookie/django", ""},
		"AuthPathWithABadDjangoMAC":                            {"signed_cookie/django", "bad signature"},
		"AuthPathWithADjangoCookieOfAnotherKey":                {"signed_cookie/django", "bad signature"},
		"AuthPathWithAnExpiredDjangoCookie":                    {"signed_cookie/django", "expired"},
		"AuthPathWithAPickledDjangoCookie":                     {"signed_cookie/django", "pickled"},
		"AuthPathWithADjangoCookieWithoutAUser":                {"signed_cookie/django", "no user id"},
		"AuthPathWithTheAppsFlaskCookie":                       {"signed_cookie/flask", ""},
		"AuthPathWithABadFlaskMAC":                             {"signed_cookie/flask", "bad signature"},
		"AuthPathWithAnExpiredFlaskCookie":                     {"signed_cookie/flask", "expired"},
		"AuthPathWithAFlaskCookieWithoutAUser":                 {"signed_cookie/flask", "no user id"},
		"AuthPathWithTheAppsLaravelCookieOfAnEncryptedSession": {"files/laravel", ""},
		"AuthPathWithALaravelSessionEncryptedWithAnotherKey":   {"files/laravel", "bad signature"},
	}
	seen := 0
	for _, fa := range authztest.FrameworkAttacks(t) {
		e := authztest.Engine(t, fa.YAML, "http://127.0.0.1:9", "sk_explain")
		for _, c := range fa.Cases {
			w, ok := want[c.Name]
			if !ok {
				continue
			}
			seen++
			t.Run(c.Name, func(t *testing.T) {
				x := e.Explain(context.Background(), requestOf(c), authz.ExplainOptions{})
				if x.Session == nil || x.Session.Store != w.store || x.Session.Step != w.step {
					t.Fatalf("session %+v, want store %q step %q", x.Session, w.store, w.step)
				}
				if (w.step == "") != (x.Session.Result == "valid") {
					t.Fatalf("result %q (%s)", x.Session.Result, x.Session.Reason)
				}
				out, _ := json.Marshal(x)
				value := c.Cookie[strings.IndexByte(c.Cookie, '=')+1:]
				if strings.Contains(string(out), value) || strings.Contains(string(out), "secret key") {
					t.Fatalf("the explanation holds the cookie or the secret: %s", out)
				}
			})
		}
	}
	if seen != len(want) {
		t.Fatalf("%d of %d cases found in the framework attack table", seen, len(want))
	}
}

// Explain names the rails Redis preset and the step that refused its
// session: a Marshal session ("object"), a cookie that is not a Rack
// session id ("malformed").
func TestExplain_NamesTheRailsRedisPresetAndTheRefusingStep(t *testing.T) {
	r := testenv.StartRedis(t)
	ra := authztest.NewRailsRedisAttacks(t, r.Addr)
	e := ra.Engine(t, "http://127.0.0.1:9", "sk_explain")
	want := map[string]string{
		"AuthPathWithARailsRedisSessionID":              "",
		"AuthPathWithARailsRedisSessionInMarshal":       "object",
		"AuthPathWithARailsPrivateSessionIDAsTheCookie": "malformed",
	}
	seen := 0
	for _, c := range ra.Cases() {
		step, ok := want[c.Name]
		if !ok {
			continue
		}
		seen++
		t.Run(c.Name, func(t *testing.T) {
			x := e.Explain(context.Background(), requestOf(c), authz.ExplainOptions{})
			if x.Session == nil || x.Session.Store != "redis/rails" || x.Session.Step != step {
				t.Fatalf("session %+v, want store redis/rails step %q", x.Session, step)
			}
			out, _ := json.Marshal(x)
			if value := c.Cookie[strings.IndexByte(c.Cookie, '=')+1:]; strings.Contains(string(out), value) {
				t.Fatalf("the explanation holds the cookie: %s", out)
			}
		})
	}
	if seen != len(want) {
		t.Fatalf("%d of %d cases found", seen, len(want))
	}
}
