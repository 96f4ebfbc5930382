package authztest

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lbauthz/lbauthz/authz"
)

// AttackConfig is the config the attack cases run against: sessions are
// RS256 JWTs checked with a public key file, with an issuer and an audience,
// so that the algorithm-confusion, key-selection and claim attacks all have
// something to defeat. PUBLIC_KEY_FILE is replaced by Attacks.Engine.
const AttackConfig = ConfigHead + `  max_cookie_bytes: 4096
  jwt:
    public_key_file: "PUBLIC_KEY_FILE"
    algorithms: ["RS256"]
    issuer: "https://idp.example.test"
    audience: ["lbauthz-app"]
` + ConfigTail

// Attack issuer and audience of AttackConfig.
const (
	AttackIssuer   = "https://idp.example.test"
	AttackAudience = "lbauthz-app"
)

var attackKeys struct {
	once             sync.Once
	issuer, attacker *rsa.PrivateKey
}

// Attacks holds what the attack cases need: the issuer's key (the one
// AttackConfig trusts), an attacker's key, and a trap server that the
// tokens' "jku" and "x5u" headers point at, which must never be asked.
type Attacks struct {
	issuer, attacker *rsa.PrivateKey
	issuerPEM        []byte
	// attackerPEMFile holds the attacker's public key, where a "kid" used
	// as a file path would find it.
	attackerPEMFile string
	dir             string
	trap            *httptest.Server
	trapHits        atomic.Int64
}

// NewAttacks makes the keys (once per test binary) and starts the trap.
func NewAttacks(t testing.TB) *Attacks {
	t.Helper()
	attackKeys.once.Do(func() {
		var err error
		if attackKeys.issuer, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			panic(err)
		}
		if attackKeys.attacker, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			panic(err)
		}
	})
	a := &Attacks{issuer: attackKeys.issuer, attacker: attackKeys.attacker, dir: t.TempDir()}
	a.issuerPEM = publicKeyPEM(t, &a.issuer.PublicKey)
	a.attackerPEMFile = filepath.Join(a.dir, "attacker.pem")
	if err := os.WriteFile(a.attackerPEMFile, publicKeyPEM(t, &a.attacker.PublicKey), 0o644); err != nil {
		t.Fatal(err)
	}
	// The trap serves the attacker's key set, as a real attacker would: if
	// the sidecar ever fetched it, the attacker's tokens would verify.
	a.trap = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.trapHits.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"keys":[{"kty":"RSA","kid":"attacker","alg":"RS256","use":"sig","n":"` +
			b64(a.attacker.N.Bytes()) + `","e":"` + b64(big.NewInt(int64(a.attacker.E)).Bytes()) + `"}]}`))
	}))
	t.Cleanup(a.trap.Close)
	return a
}

// TrapHits returns how many requests reached the jku/x5u trap.
func (a *Attacks) TrapHits() int64 { return a.trapHits.Load() }

// Engine builds an engine from AttackConfig talking to Liveblocks at baseURL.
func (a *Attacks) Engine(t testing.TB, baseURL, secretKey string) *authz.Engine {
	t.Helper()
	return Engine(t, a.ConfigYAML(t), baseURL, secretKey)
}

// ConfigYAML returns AttackConfig with its public key file written.
func (a *Attacks) ConfigYAML(t testing.TB) string {
	t.Helper()
	f := filepath.Join(a.dir, "issuer.pem")
	if err := os.WriteFile(f, a.issuerPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	return strings.ReplaceAll(AttackConfig, "PUBLIC_KEY_FILE", f)
}

// AliceClaims are a valid session of AttackConfig: Alice's, with the
// issuer and audience.
func AliceClaims() map[string]any {
	c := Alice()
	c["iss"], c["aud"] = AttackIssuer, AttackAudience
	return c
}

// Session signs claims with the issuer's key (RS256) and extra header
// fields.
func (a *Attacks) Session(header, claims map[string]any) string {
	return signRS256(a.issuer, header, claims)
}

// Forged signs claims with the attacker's key.
func (a *Attacks) Forged(header, claims map[string]any) string {
	return signRS256(a.attacker, header, claims)
}

func signRS256(key *rsa.PrivateKey, extra, claims map[string]any) string {
	h := map[string]any{"alg": "RS256", "typ": "JWT"}
	for k, v := range extra {
		h[k] = v
	}
	unsigned := Unsigned(h, claims)
	sum := sha256.Sum256([]byte(unsigned))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	if err != nil {
		panic(err)
	}
	return unsigned + "." + b64(sig)
}

func publicKeyPEM(t testing.TB, k *rsa.PublicKey) []byte {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// with returns claims changed by the pairs k1, v1, k2, v2, ... (a nil
// value removes the claim).
func with(claims map[string]any, kv ...any) map[string]any {
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == nil {
			delete(claims, kv[i].(string))
		} else {
			claims[kv[i].(string)] = kv[i+1]
		}
	}
	return claims
}

// Cases returns the attack table: for each forged, stolen-shape or
// ambiguous credential, what a page request and a token request get, at
// every door. A credential that does not hold gives an anonymous page (the
// identity headers removed) and a 401 on the auth path, and Liveblocks is
// never called for it. Where a real proxy answers differently (it refuses
// the request itself, or normalizes the path and routes it to the
// sidecar's direct endpoint), Via says what its client gets.
func (a *Attacks) Cases() []Case {
	alice := a.Session(nil, AliceClaims())
	valid := "session=" + alice
	bobToken := a.Session(nil, with(AliceClaims(), "sub", "bob"))
	hour := time.Now().Add(time.Hour).Unix()
	mallory := with(AliceClaims(), "sub", "mallory", "groups", []any{"admins"})
	room := `{"room":"r1"}`

	var cases []Case
	// bad adds a credential that must not hold: an anonymous page, a 401
	// token request.
	bad := func(name, cookie string, more ...string) {
		cases = append(cases,
			Case{Name: "Page" + name + "PassesAnonymous", Method: "GET", Path: "/docs", Cookie: cookie, MoreCookies: more,
				Header: SpoofedIdentity, Want: Outcome{Allowed: true, Status: 200}},
			Case{Name: "AuthPath" + name + "Is401", Method: "POST", Path: AuthPath, Cookie: cookie, MoreCookies: more,
				Body: room, Want: Outcome{Status: 401}},
		)
	}
	// good adds a credential that holds: Alice's page and token.
	good := func(name, cookie string, more ...string) {
		cases = append(cases,
			Case{Name: "Page" + name + "PassesAsAlice", Method: "GET", Path: "/docs", Cookie: cookie, MoreCookies: more,
				Header: SpoofedIdentity, Want: Outcome{Allowed: true, Status: 200, UserID: "alice"}},
			Case{Name: "AuthPath" + name + "GetsAlicesToken", Method: "POST", Path: AuthPath, Cookie: cookie, MoreCookies: more,
				Body: room, Want: Outcome{Status: 200, UserID: "alice"}},
		)
	}

	// The control: the issuer's own token holds.
	good("WithTheIssuersToken", valid)

	// JWT.
	bad("WithAlgNone", "session="+Unsigned(map[string]any{"alg": "none", "typ": "JWT"}, mallory)+".")
	bad("WithAlgNoneCapitalized", "session="+Unsigned(map[string]any{"alg": "None"}, mallory)+".")
	bad("WithAlgNoneAndTheIssuersSignature", "session="+Unsigned(map[string]any{"alg": "none"}, mallory)+"."+strings.Split(alice, ".")[2])
	bad("WithHS256SignedWithTheRSAPublicKey", "session="+SignHS(string(a.issuerPEM), "HS256", mallory))
	bad("WithHS256SignedWithTheTrimmedRSAPublicKey", "session="+SignHS(strings.TrimSpace(string(a.issuerPEM)), "HS256", mallory))
	bad("WithHS256AndAnEmptySecretAndKidDevNull", "session="+signHSWithHeader("", map[string]any{"kid": "/dev/null"}, mallory))
	bad("WithUnknownKid", "session="+a.Forged(map[string]any{"kid": "no-such-key"}, mallory))
	bad("WithKidPathToTheAttackersKey", "session="+a.Forged(map[string]any{"kid": "../../../../../../.." + a.attackerPEMFile}, mallory))
	bad("WithKidAbsolutePathToTheAttackersKey", "session="+a.Forged(map[string]any{"kid": a.attackerPEMFile}, mallory))
	bad("WithJkuToTheAttackersKeySet", "session="+a.Forged(map[string]any{"kid": "attacker", "jku": a.trap.URL + "/jwks.json"}, mallory))
	bad("WithX5uToTheAttackersCertificate", "session="+a.Forged(map[string]any{"x5u": a.trap.URL + "/cert.pem"}, mallory))
	bad("WithTheAttackersKeyEmbeddedAsJwk", "session="+a.Forged(map[string]any{"jwk": map[string]any{
		"kty": "RSA", "n": b64(a.attacker.N.Bytes()), "e": b64(big.NewInt(int64(a.attacker.E)).Bytes())}}, mallory))
	bad("WithTheAttackersSignature", "session="+a.Forged(nil, mallory))
	bad("WithExpiredToken", "session="+a.Session(nil, with(AliceClaims(), "exp", time.Now().Add(-time.Minute).Unix())))
	bad("WithTokenNotValidYet", "session="+a.Session(nil, with(AliceClaims(), "nbf", hour)))
	bad("WithWrongIssuer", "session="+a.Session(nil, with(AliceClaims(), "iss", "https://evil.example.test")))
	bad("WithoutIssuer", "session="+a.Session(nil, with(AliceClaims(), "iss", nil)))
	bad("WithWrongAudience", "session="+a.Session(nil, with(AliceClaims(), "aud", "another-app")))
	bad("WithoutAudience", "session="+a.Session(nil, with(AliceClaims(), "aud", nil)))
	bad("WithTruncatedSignature", "session="+alice[:len(alice)-10])
	bad("WithTokenCutAtTheSignature", "session="+alice[:strings.LastIndexByte(alice, '.')])
	bad("WithClaimsSwappedUnderTheIssuersSignature", "session="+strings.Split(alice, ".")[0]+"."+
		strings.Split(Unsigned(nil, mallory), ".")[1]+"."+strings.Split(alice, ".")[2])
	// A 100 KB token, properly signed: refused by its size before any
	// parsing. The proxies refuse the request themselves: nginx with a 400
	// (a header line over its 8 KB buffers), Caddy with a 431.
	huge := "session=" + a.Session(nil, with(AliceClaims(), "pad", strings.Repeat("x", 100<<10)))
	n := len(cases)
	bad("WithA100KBToken", huge)
	for i := n; i < len(cases); i++ {
		cases[i].Via = map[string]Outcome{"nginx": {Status: 400}, "caddy": {Status: 431}}
	}

	// Cookies.
	bad("WithTwoSessionCookiesInOneHeader", valid+"; session="+bobToken)
	bad("WithTheSameSessionCookieTwice", valid+"; "+valid)
	bad("WithTwoSessionCookiesInRepeatedHeaders", valid, "session="+bobToken)
	// A name after a "," is never a cookie: the app's parser splits at
	// ";" only (cookie.go).
	good("WithAnotherSessionAfterACommaInTheSessionsValue", valid+", session="+bobToken)
	good("WithTheSessionInTheSecondCookieHeader", "theme=dark", valid)
	bad("WithTheSessionAfterACommaInAnotherCookie", "theme=dark, "+valid+", lang=en")
	good("WithAQuotedSession", `session="`+alice+`"`)
	good("WithNonASCIIInAnotherCookie", "name=Zoë; "+valid)
	bad("WithNonASCIIInTheSession", valid+"é")
	bad("WithAnUnbalancedQuote", `session="`+alice)
	bad("WithTheNameInAnotherCase", "SESSION="+alice)
	bad("WithAnEmptySession", "session=")
	bad("WithAValidTokenOverTheSizeLimit", "session="+a.Session(nil, with(AliceClaims(), "pad", strings.Repeat("x", 3100))))

	// Forwarded headers a client sends itself, claiming the request is
	// another one: they never change the decision. The proxies overwrite
	// them before the check; a door that reads them only believes a
	// trusted peer (the proxy), never the client.
	forged := map[string]string{
		"X-Original-URI": AuthPath, "X-Original-Method": "POST",
		"X-Forwarded-Uri": AuthPath, "X-Forwarded-Method": "POST",
		"X-Forwarded-For": "10.6.6.6", "X-Forwarded-Host": "admin.example.test", "X-Forwarded-Proto": "https",
		"X-Envoy-Original-Path": AuthPath, "X-Real-Ip": "10.6.6.6",
		"X-User-Id": "mallory", "X-User-Groups": "admins",
	}
	cases = append(cases,
		Case{Name: "PageWithForwardedHeadersClaimingTheAuthPathPassesAsAlice", Method: "GET", Path: "/docs",
			Cookie: valid, Header: forged, Want: Outcome{Allowed: true, Status: 200, UserID: "alice"}},
		Case{Name: "PageWithForwardedHeadersAndNoSessionPassesAnonymous", Method: "GET", Path: "/docs",
			Header: forged, Want: Outcome{Allowed: true, Status: 200}},
		Case{Name: "AuthPathWithForwardedHeadersClaimingAPageIs401WithoutSession", Method: "POST", Path: AuthPath,
			Header: map[string]string{"X-Original-URI": "/docs", "X-Original-Method": "GET", "X-Forwarded-Uri": "/docs",
				"X-Forwarded-Method": "GET", "X-User-Id": "mallory"}, Body: room, Want: Outcome{Status: 401}},
	)

	// Paths. The auth path is matched exactly, on the raw path without the
	// query: every other spelling is an ordinary request, passed through.
	// nginx and Caddy normalize a path before choosing a route, so some
	// spellings take their token route; they proxy the raw path, and the
	// sidecar's direct endpoint, which matches it exactly too, answers 404
	// (a status the Liveblocks client does not retry), never a token.
	type pathCase struct {
		name, path string
		auth       bool // the auth path itself
		via        map[string]Outcome
	}
	notFound := Outcome{Status: 404}
	for _, p := range []pathCase{
		{name: "WithQuery", path: AuthPath + "?x=1", auth: true},
		{name: "WithTrailingSlash", path: AuthPath + "/"},
		{name: "WithDoubleLeadingSlash", path: "/" + AuthPath, via: map[string]Outcome{"nginx": notFound, "caddy": notFound}},
		{name: "InCapitals", path: "/API/liveblocks-auth", via: map[string]Outcome{"caddy": notFound}},
		{name: "WithEncodedSlashDotDot", path: AuthPath + "%2f.."},
		{name: "WithDotDotAfter", path: AuthPath + "/../x"},
		{name: "WithDotDotBefore", path: "/api/x/../liveblocks-auth", via: map[string]Outcome{"nginx": notFound, "caddy": notFound}},
		{name: "WithAnEncodedLetter", path: "/api/liveblocks-%61uth", via: map[string]Outcome{"nginx": notFound, "caddy": notFound}},
	} {
		signedIn, anonymous := Outcome{Allowed: true, Status: 200, UserID: "alice"}, Outcome{Allowed: true, Status: 200}
		if p.auth {
			signedIn, anonymous = Outcome{Status: 200, UserID: "alice"}, Outcome{Status: 401}
		}
		cases = append(cases,
			Case{Name: "AuthPath" + p.name + "WithoutSession", Method: "POST", Path: p.path, Body: room, Want: anonymous, Via: p.via},
			Case{Name: "AuthPath" + p.name + "WithSession", Method: "POST", Path: p.path, Cookie: valid, Body: room, Want: signedIn, Via: p.via},
		)
	}
	for _, more := range moreAttacks {
		cases = append(cases, more(a)...)
	}
	return append(cases, a.doorCases()...) // attacks_doors.go
}

// moreAttacks are the cases that other files of this package add to the
// table (attacks_*.go).
var moreAttacks []func(*Attacks) []Case

func signHSWithHeader(secret string, extra, claims map[string]any) string {
	return signHS(secret, "HS256", extra, claims)
}

// RunAttacks runs cases through door, each as a subtest, and checks besides
// the answer that Liveblocks (behind lb) was called exactly when a token
// was the answer. proxy names the real proxy in front ("nginx", "caddy"),
// whose Via answers then apply, or is "" for the sidecar's own doors.
func RunAttacks(t *testing.T, proxy string, cases []Case, lb *Counter, door Door) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			want := c.Want
			if v, ok := c.Via[proxy]; ok && proxy != "" {
				want = v
			}
			before := lb.Calls()
			got := door(t, c)
			if !got.Matches(want) {
				t.Errorf("%s %s: got %+v, want %+v", c.Method, c.Path, got, want)
			}
			calls := lb.Calls() - before
			token := !want.Allowed && want.Status == 200
			if token && calls != 1 || !token && calls != 0 {
				t.Errorf("%s %s: Liveblocks was called %d times for %+v", c.Method, c.Path, calls, want)
			}
		})
	}
}
