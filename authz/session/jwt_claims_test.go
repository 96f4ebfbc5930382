package session

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

func hsStore(t *testing.T, expOptional bool) *JWTStore {
	t.Helper()
	s, err := NewJWTStore(JWTOptions{Algorithms: []string{"HS256"}, HMACSecret: []byte(strings.Repeat("k", 32)), ExpOptional: expOptional})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestJWT_ATokenWithoutExpIsRefusedUnlessExpIsOptional(t *testing.T) {
	key := []byte(strings.Repeat("k", 32))
	forever := sign(t, jwt.SigningMethodHS256, key, nil, jwt.MapClaims{"sub": "alice"})
	_, err := hsStore(t, false).Lookup(context.Background(), forever)
	wantInvalid(t, err, "no expiry (exp claim)", forever)

	d, err := hsStore(t, true).Lookup(context.Background(), forever)
	if err != nil || d.Doc["sub"] != "alice" || !d.Expires.IsZero() {
		t.Fatalf("with exp optional: %v %v", d, err)
	}
	// An exp that is there is checked either way.
	expired := sign(t, jwt.SigningMethodHS256, key, nil, jwt.MapClaims{"sub": "alice", "exp": time.Now().Add(-time.Minute).Unix()})
	_, err = hsStore(t, true).Lookup(context.Background(), expired)
	wantInvalid(t, err, "expired", expired)
}

func TestJWT_CriticalHeadersAreRefused(t *testing.T) {
	key := []byte(strings.Repeat("k", 32))
	claims := jwt.MapClaims{"sub": "alice", "exp": time.Now().Add(time.Hour).Unix()}
	for name, h := range map[string]map[string]any{
		"UnknownExtension": {"crit": []any{"exp-v2"}, "exp-v2": true},
		"B64":              {"crit": []any{"b64"}, "b64": false},
		"Empty":            {"crit": []any{}},
		"NotAList":         {"crit": "x"},
	} {
		t.Run(name, func(t *testing.T) {
			tok := sign(t, jwt.SigningMethodHS256, key, h, claims)
			_, err := hsStore(t, false).Lookup(context.Background(), tok)
			wantInvalid(t, err, "critical header", tok)
		})
	}
	// The same token without "crit" holds.
	if _, err := hsStore(t, false).Lookup(context.Background(), sign(t, jwt.SigningMethodHS256, key, nil, claims)); err != nil {
		t.Fatal(err)
	}
}

func TestParsePublicKeys_RefusesRSAKeysUnder2048Bits(t *testing.T) {
	testKeys(t)
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	pems := append(publicPEM(t, &rsaKey.PublicKey), publicPEM(t, &small.PublicKey)...)
	if _, err := ParsePublicKeys(pems); err == nil || !strings.Contains(err.Error(), "PEM block 2: an RSA key of 1024 bits; at least 2048") {
		t.Fatalf("a 1024-bit key in the file: %v", err)
	}
	if keys, err := ParsePublicKeys(publicPEM(t, &rsaKey.PublicKey)); err != nil || len(keys) != 1 {
		t.Fatalf("a 2048-bit key: %v", err)
	}
}
