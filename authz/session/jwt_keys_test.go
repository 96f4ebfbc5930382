package session

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

var (
	keysOnce sync.Once
	rsaKey   *rsa.PrivateKey
	rsaKey2  *rsa.PrivateKey
	ecKey    *ecdsa.PrivateKey
	ec384Key *ecdsa.PrivateKey
	edKey    ed25519.PrivateKey
)

func testKeys(t testing.TB) {
	t.Helper()
	keysOnce.Do(func() {
		rsaKey, _ = rsa.GenerateKey(rand.Reader, 2048)
		rsaKey2, _ = rsa.GenerateKey(rand.Reader, 2048)
		ecKey, _ = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		ec384Key, _ = ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
		_, edKey, _ = ed25519.GenerateKey(rand.Reader)
	})
}

func publicPEM(t testing.TB, pub crypto.PublicKey) []byte {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

func sign(t testing.TB, method jwt.SigningMethod, key any, header map[string]any, claims jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(method, claims)
	for k, v := range header {
		tok.Header[k] = v
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func claimsFor(user string, ttl time.Duration) jwt.MapClaims {
	return jwt.MapClaims{"sub": user, "groups": []string{"eng"}, "exp": time.Now().Add(ttl).Unix(),
		"iss": "https://idp.example.test/", "aud": "lbauthz"}
}

func subMapping() *Mapping { return &Mapping{UserID: "sub", GroupIDs: "groups"} }

func TestJWT_PublicKeyAlgorithmsVerifyAndRefuse(t *testing.T) {
	testKeys(t)
	cases := []struct {
		alg    string
		method jwt.SigningMethod
		priv   any
		pub    crypto.PublicKey
	}{
		{"RS256", jwt.SigningMethodRS256, rsaKey, &rsaKey.PublicKey},
		{"RS512", jwt.SigningMethodRS512, rsaKey, &rsaKey.PublicKey},
		{"PS256", jwt.SigningMethodPS256, rsaKey, &rsaKey.PublicKey},
		{"ES256", jwt.SigningMethodES256, ecKey, &ecKey.PublicKey},
		{"ES384", jwt.SigningMethodES384, ec384Key, &ec384Key.PublicKey},
		{"EdDSA", jwt.SigningMethodEdDSA, edKey, edKey.Public()},
	}
	for _, tc := range cases {
		t.Run(tc.alg, func(t *testing.T) {
			keys, err := ParsePublicKeys(publicPEM(t, tc.pub))
			if err != nil {
				t.Fatal(err)
			}
			st, err := NewJWTStore(JWTOptions{Algorithms: []string{tc.alg}, PublicKeys: keys,
				Issuer: "https://idp.example.test/", Audience: []string{"lbauthz"}})
			if err != nil {
				t.Fatal(err)
			}
			valid := sign(t, tc.method, tc.priv, nil, claimsFor("alice", time.Hour))
			id, err := resolveOnce(t, st, subMapping(), valid)
			wantUser(t, id, err, "alice", "eng")

			_, err = resolveOnce(t, st, subMapping(), sign(t, tc.method, tc.priv, nil, claimsFor("alice", -time.Minute)))
			wantInvalid(t, err, "expired")

			parts := strings.Split(valid, ".")
			forged := parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(`{"sub":"mallory","exp":9999999999,"iss":"https://idp.example.test/","aud":"lbauthz"}`)) + "." + parts[2]
			_, err = resolveOnce(t, st, subMapping(), forged)
			wantInvalid(t, err, "", forged)

			wrongIss := claimsFor("alice", time.Hour)
			wrongIss["iss"] = "https://evil.example.test/"
			_, err = resolveOnce(t, st, subMapping(), sign(t, tc.method, tc.priv, nil, wrongIss))
			wantInvalid(t, err, "wrong issuer")
		})
	}
}

func TestJWT_KeyOfAnotherIssuerIsRefused(t *testing.T) {
	testKeys(t)
	keys, _ := ParsePublicKeys(publicPEM(t, &rsaKey.PublicKey))
	st, _ := NewJWTStore(JWTOptions{Algorithms: []string{"RS256"}, PublicKeys: keys})
	_, err := resolveOnce(t, st, subMapping(), sign(t, jwt.SigningMethodRS256, rsaKey2, nil, claimsFor("alice", time.Hour)))
	wantInvalid(t, err, "")
}

// The classic confusion attack: the RSA public key is public, so an
// attacker signs an HS256 token with its PEM bytes as the HMAC secret,
// hoping the verifier passes "the key" to HMAC.
func TestJWT_RSAPublicKeyAsHMACSecretIsRefused(t *testing.T) {
	testKeys(t)
	pemBytes := publicPEM(t, &rsaKey.PublicKey)
	keys, _ := ParsePublicKeys(pemBytes)
	attack := sign(t, jwt.SigningMethodHS256, pemBytes, nil, claimsFor("mallory", time.Hour))
	attackTrimmed := sign(t, jwt.SigningMethodHS256, []byte(strings.TrimSpace(string(pemBytes))), nil, claimsFor("mallory", time.Hour))

	onlyRSA, _ := NewJWTStore(JWTOptions{Algorithms: []string{"RS256"}, PublicKeys: keys})
	for _, tok := range []string{attack, attackTrimmed} {
		_, err := resolveOnce(t, onlyRSA, subMapping(), tok)
		wantInvalid(t, err, "algorithm not accepted", tok)
	}
	// Even with HS256 allowed too, the HMAC secret is the configured one,
	// never the public key.
	both, _ := NewJWTStore(JWTOptions{Algorithms: []string{"RS256", "HS256"}, PublicKeys: keys,
		HMACSecret: []byte("the-real-hmac-secret-0123456789abcdef")})
	for _, tok := range []string{attack, attackTrimmed} {
		_, err := resolveOnce(t, both, subMapping(), tok)
		wantInvalid(t, err, "bad signature", tok)
	}
	// And with a JWKS holding that key.
	srv, _ := jwksServer(t, jwkOf(t, "k1", "", &rsaKey.PublicKey))
	jwks, _ := NewJWKS(JWKSOptions{URL: srv.URL})
	viaJWKS, _ := NewJWTStore(JWTOptions{Algorithms: []string{"RS256"}, JWKS: jwks})
	_, err := resolveOnce(t, viaJWKS, subMapping(), sign(t, jwt.SigningMethodHS256, pemBytes, map[string]any{"kid": "k1"}, claimsFor("mallory", time.Hour)))
	wantInvalid(t, err, "algorithm not accepted")
}

func TestJWT_NoneIsNeverAccepted(t *testing.T) {
	if _, err := NewJWTStore(JWTOptions{Algorithms: []string{"none"}}); err == nil {
		t.Fatal(`"none" was accepted as an algorithm`)
	}
	testKeys(t)
	keys, _ := ParsePublicKeys(publicPEM(t, &rsaKey.PublicKey))
	st, _ := NewJWTStore(JWTOptions{Algorithms: []string{"RS256"}, PublicKeys: keys})
	unsigned := sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, nil, claimsFor("mallory", time.Hour))
	_, err := resolveOnce(t, st, subMapping(), unsigned)
	wantInvalid(t, err, "algorithm not accepted")
}

func TestJWT_LeewayOnExpAndNbf(t *testing.T) {
	testKeys(t)
	keys, _ := ParsePublicKeys(publicPEM(t, edKey.Public()))
	strict, _ := NewJWTStore(JWTOptions{Algorithms: []string{"EdDSA"}, PublicKeys: keys})
	lenient, _ := NewJWTStore(JWTOptions{Algorithms: []string{"EdDSA"}, PublicKeys: keys, Leeway: time.Minute})
	early := jwt.MapClaims{"sub": "alice", "nbf": time.Now().Add(20 * time.Second).Unix(), "exp": time.Now().Add(time.Hour).Unix()}
	late := jwt.MapClaims{"sub": "alice", "exp": time.Now().Add(-20 * time.Second).Unix()}
	for _, c := range []jwt.MapClaims{early, late} {
		tok := sign(t, jwt.SigningMethodEdDSA, edKey, nil, c)
		if _, err := resolveOnce(t, strict, subMapping(), tok); !IsInvalid(err) {
			t.Fatalf("without leeway: %v", err)
		}
		if _, err := resolveOnce(t, lenient, subMapping(), tok); err != nil {
			t.Fatalf("with 1m leeway: %v", err)
		}
	}
}

// jwksServer serves a key set that the test can change, and counts fetches.
func jwksServer(t *testing.T, keys ...map[string]any) (*httptest.Server, *jwksState) {
	t.Helper()
	st := &jwksState{}
	st.set(keys...)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		st.fetches.Add(1)
		if st.down.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(st.body.Load().([]byte))
	}))
	t.Cleanup(srv.Close)
	return srv, st
}

type jwksState struct {
	body    atomic.Value
	fetches atomic.Int64
	down    atomic.Bool
}

func (s *jwksState) set(keys ...map[string]any) {
	b, _ := json.Marshal(map[string]any{"keys": keys})
	s.body.Store(b)
}

func b64u(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func jwkOf(t testing.TB, kid, alg string, pub crypto.PublicKey) map[string]any {
	t.Helper()
	m := map[string]any{"kid": kid, "use": "sig"}
	if alg != "" {
		m["alg"] = alg
	}
	switch k := pub.(type) {
	case *rsa.PublicKey:
		m["kty"], m["n"], m["e"] = "RSA", b64u(k.N.Bytes()), b64u(big.NewInt(int64(k.E)).Bytes())
	case *ecdsa.PublicKey:
		raw, _ := k.Bytes() // 0x04 || x || y
		size := (len(raw) - 1) / 2
		m["kty"], m["crv"], m["x"], m["y"] = "EC", k.Curve.Params().Name, b64u(raw[1:1+size]), b64u(raw[1+size:])
	case ed25519.PublicKey:
		m["kty"], m["crv"], m["x"] = "OKP", "Ed25519", b64u(k)
	default:
		t.Fatalf("no JWK for %T", pub)
	}
	return m
}

func jwksStore(t *testing.T, url string, minInterval time.Duration, algs ...string) (*JWTStore, *JWKS) {
	t.Helper()
	jwks, err := NewJWKS(JWKSOptions{URL: url, MinInterval: minInterval, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	st, err := NewJWTStore(JWTOptions{Algorithms: algs, JWKS: jwks})
	if err != nil {
		t.Fatal(err)
	}
	return st, jwks
}

func TestJWKS_KidSelectsTheKeyOfEachType(t *testing.T) {
	testKeys(t)
	srv, _ := jwksServer(t,
		jwkOf(t, "rsa-1", "RS256", &rsaKey.PublicKey),
		jwkOf(t, "rsa-2", "", &rsaKey2.PublicKey),
		jwkOf(t, "ec-1", "ES256", &ecKey.PublicKey),
		jwkOf(t, "ed-1", "", edKey.Public()),
		map[string]any{"kid": "enc", "kty": "RSA", "use": "enc", "n": "AQAB", "e": "AQAB"}, // skipped
	)
	st, _ := jwksStore(t, srv.URL, 0, "RS256", "ES256", "EdDSA")
	for _, tc := range []struct {
		kid    string
		method jwt.SigningMethod
		key    any
		ok     bool
	}{
		{"rsa-1", jwt.SigningMethodRS256, rsaKey, true},
		{"rsa-2", jwt.SigningMethodRS256, rsaKey2, true},
		{"rsa-1", jwt.SigningMethodRS256, rsaKey2, false}, // the kid names another key
		{"ec-1", jwt.SigningMethodES256, ecKey, true},
		{"ed-1", jwt.SigningMethodEdDSA, edKey, true},
		{"", jwt.SigningMethodRS256, rsaKey2, true}, // no kid: any key of the type
	} {
		h := map[string]any{}
		if tc.kid != "" {
			h["kid"] = tc.kid
		}
		id, err := resolveOnce(t, st, subMapping(), sign(t, tc.method, tc.key, h, claimsFor("alice", time.Hour)))
		if tc.ok {
			wantUser(t, id, err, "alice", "eng")
		} else {
			wantInvalid(t, err, "")
		}
	}
}

func TestJWKS_RotationFetchesTheNewKeyOnce(t *testing.T) {
	testKeys(t)
	srv, state := jwksServer(t, jwkOf(t, "2026-01", "RS256", &rsaKey.PublicKey))
	st, jwks := jwksStore(t, srv.URL, 50*time.Millisecond, "RS256")
	id, err := resolveOnce(t, st, subMapping(), sign(t, jwt.SigningMethodRS256, rsaKey, map[string]any{"kid": "2026-01"}, claimsFor("alice", time.Hour)))
	wantUser(t, id, err, "alice", "eng")

	// The issuer rotates: new key published, old one still listed.
	state.set(jwkOf(t, "2026-02", "RS256", &rsaKey2.PublicKey), jwkOf(t, "2026-01", "RS256", &rsaKey.PublicKey))
	time.Sleep(60 * time.Millisecond)
	id, err = resolveOnce(t, st, subMapping(), sign(t, jwt.SigningMethodRS256, rsaKey2, map[string]any{"kid": "2026-02"}, claimsFor("bob", time.Hour)))
	wantUser(t, id, err, "bob", "eng")
	if n := jwks.Fetches(); n != 2 {
		t.Fatalf("%d fetches, want 2 (first use, then the unknown kid)", n)
	}
	// Known kids do not fetch again.
	for range 5 {
		if _, err := resolveOnce(t, st, subMapping(), sign(t, jwt.SigningMethodRS256, rsaKey, map[string]any{"kid": "2026-01"}, claimsFor("alice", time.Hour))); err != nil {
			t.Fatal(err)
		}
	}
	if n := state.fetches.Load(); n != 2 {
		t.Fatalf("the issuer saw %d fetches, want 2", n)
	}
}

func TestJWKS_AFloodOfUnknownKidsCannotHammerTheIssuer(t *testing.T) {
	testKeys(t)
	srv, state := jwksServer(t, jwkOf(t, "k1", "RS256", &rsaKey.PublicKey))
	st, _ := jwksStore(t, srv.URL, time.Hour, "RS256")
	var wg sync.WaitGroup
	for i := range 200 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tok := sign(t, jwt.SigningMethodRS256, rsaKey2, map[string]any{"kid": fmt.Sprintf("made-up-%d", i)}, claimsFor("mallory", time.Hour))
			// Never accepted. Within jwks_min_interval of the last fetch an
			// unknown kid is "unavailable" (503, retried: it may be a key
			// the issuer just rotated in), afterwards "invalid".
			_, err := resolveOnce(t, st, subMapping(), tok)
			if !IsInvalid(err) && !IsUnavailable(err) {
				t.Errorf("made-up kid: %v", err)
			}
		}()
	}
	wg.Wait()
	if n := state.fetches.Load(); n > 2 {
		t.Fatalf("the issuer was asked %d times, want at most 2 (first use, one unknown kid)", n)
	}
}

func TestJWKS_JkuAndX5uHeadersAreNeverFetched(t *testing.T) {
	testKeys(t)
	var evilHits atomic.Int64
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		evilHits.Add(1)
		b, _ := json.Marshal(map[string]any{"keys": []any{jwkOf(t, "evil", "RS256", &rsaKey2.PublicKey)}})
		_, _ = w.Write(b)
	}))
	defer evil.Close()
	srv, _ := jwksServer(t, jwkOf(t, "k1", "RS256", &rsaKey.PublicKey))
	st, _ := jwksStore(t, srv.URL, 0, "RS256")
	tok := sign(t, jwt.SigningMethodRS256, rsaKey2, map[string]any{"kid": "evil", "jku": evil.URL, "x5u": evil.URL}, claimsFor("mallory", time.Hour))
	_, err := resolveOnce(t, st, subMapping(), tok)
	wantInvalid(t, err, "unknown key id")
	if evilHits.Load() != 0 {
		t.Fatal("the token's jku/x5u URL was fetched")
	}
}

func TestJWKS_IssuerDownIsUnavailableThenRecovers(t *testing.T) {
	testKeys(t)
	srv, state := jwksServer(t, jwkOf(t, "k1", "RS256", &rsaKey.PublicKey))
	state.down.Store(true)
	st, _ := jwksStore(t, srv.URL, 0, "RS256")
	tok := sign(t, jwt.SigningMethodRS256, rsaKey, map[string]any{"kid": "k1"}, claimsFor("alice", time.Hour))
	_, err := resolveOnce(t, st, subMapping(), tok)
	wantUnavailable(t, err, tok)
	state.down.Store(false)
	id, err := resolveOnce(t, st, subMapping(), tok)
	wantUser(t, id, err, "alice", "eng")
	// Down again: the keys already fetched stay in use.
	state.down.Store(true)
	id, err = resolveOnce(t, st, subMapping(), tok)
	wantUser(t, id, err, "alice", "eng")
}

func TestParseJWKS_RefusesPrivateAndWeakKeys(t *testing.T) {
	testKeys(t)
	small, _ := rsa.GenerateKey(rand.Reader, 1024)
	priv := jwkOf(t, "p", "", &rsaKey.PublicKey)
	priv["d"] = "AQAB"
	if _, err := ParseJWKS(mustJSON(map[string]any{"keys": []any{priv, jwkOf(t, "s", "", &small.PublicKey)}})); err == nil {
		t.Fatal("a set of a private and a 1024-bit key was accepted")
	}
	for _, bad := range []string{`{}`, `[]`, `{"keys": "x"}`, `not json`} {
		if _, err := ParseJWKS([]byte(bad)); err == nil {
			t.Fatalf("%s was accepted", bad)
		}
	}
}

func mustJSON(v any) []byte { b, _ := json.Marshal(v); return b }
