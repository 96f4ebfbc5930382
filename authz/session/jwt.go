package session

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// MinRSABits is the smallest RSA key a session may be verified with.
const MinRSABits = 2048

// JWTOptions configures a JWTStore.
type JWTOptions struct {
	// Algorithms accepted, e.g. ["HS256"]. "none" is never accepted.
	Algorithms []string
	// HMACSecret verifies HS256/384/512.
	HMACSecret []byte
	// PublicKeys verify RS*, PS*, ES* and EdDSA.
	PublicKeys []crypto.PublicKey
	// JWKS, instead of PublicKeys, supplies the keys from an identity
	// provider's key set, selected by the token's "kid".
	JWKS *JWKS
	// Issuer, when set, must equal the "iss" claim.
	Issuer string
	// Audience, when set, must share a value with the "aud" claim.
	Audience []string
	// Leeway allowed on "exp" and "nbf".
	Leeway time.Duration
	// ExpOptional accepts tokens without an "exp" claim, which then never
	// expire. By default such a token is refused.
	ExpOptional bool
	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

// JWTStore reads a session held in the cookie as a signed JWT. It needs no
// I/O: a lookup is a signature check and the claims are the document.
type JWTStore struct {
	parser *jwt.Parser
	opts   JWTOptions
}

// NewJWTStore checks the options and returns a store.
func NewJWTStore(opts JWTOptions) (*JWTStore, error) {
	if len(opts.Algorithms) == 0 {
		return nil, errors.New("jwt: no algorithm accepted")
	}
	for _, a := range opts.Algorithms {
		m := jwt.GetSigningMethod(a)
		if m == nil || strings.EqualFold(a, "none") {
			return nil, fmt.Errorf("jwt: algorithm %q is not accepted", a)
		}
		switch m.(type) {
		case *jwt.SigningMethodHMAC:
			if len(opts.HMACSecret) == 0 {
				return nil, fmt.Errorf("jwt: %s needs an HMAC secret", a)
			}
		default:
			if len(opts.PublicKeys) == 0 && opts.JWKS == nil {
				return nil, fmt.Errorf("jwt: %s needs a public key", a)
			}
		}
	}
	popts := []jwt.ParserOption{
		jwt.WithValidMethods(opts.Algorithms),
		jwt.WithLeeway(opts.Leeway),
		jwt.WithJSONNumber(),
	}
	if !opts.ExpOptional {
		popts = append(popts, jwt.WithExpirationRequired())
	}
	if opts.Issuer != "" {
		popts = append(popts, jwt.WithIssuer(opts.Issuer))
	}
	if len(opts.Audience) > 0 {
		popts = append(popts, jwt.WithAudience(opts.Audience...))
	}
	if opts.Now != nil {
		popts = append(popts, jwt.WithTimeFunc(opts.Now))
	}
	return &JWTStore{parser: jwt.NewParser(popts...), opts: opts}, nil
}

// Lookup verifies the token and returns its claims. Any failure is an
// *InvalidError (a JWT store has nothing that can be unavailable), a token
// with a "crit" header included: RFC 7515 §4.1.11 requires refusing a token
// whose critical extensions are not understood, and this store understands
// none.
func (s *JWTStore) Lookup(ctx context.Context, value string) (Data, error) {
	claims := jwt.MapClaims{}
	keyFunc := s.key
	var keyErr error
	if s.opts.JWKS != nil {
		keyFunc = func(t *jwt.Token) (any, error) {
			k, err := s.jwksKey(ctx, t)
			keyErr = err
			return k, err
		}
	}
	tok, err := s.parser.ParseWithClaims(value, claims, keyFunc)
	if err != nil {
		if keyErr != nil && (IsInvalid(keyErr) || IsUnavailable(keyErr)) {
			return Data{}, keyErr // the key set was unavailable, or has no such key
		}
		if errors.Is(err, jwt.ErrTokenSignatureInvalid) && !s.algAccepted(value) {
			return Data{}, Invalid("algorithm not accepted")
		}
		if _, hasExp := claims["exp"]; !hasExp && errors.Is(err, jwt.ErrTokenRequiredClaimMissing) && !s.opts.ExpOptional {
			return Data{}, Invalid("no expiry (exp claim)")
		}
		return Data{}, Invalid(jwtReason(err))
	}
	if _, ok := tok.Header["crit"]; ok {
		return Data{}, Invalid("unsupported critical header (crit)")
	}
	d := Data{Doc: claims}
	if exp, err := claims.GetExpirationTime(); err == nil && exp != nil {
		d.Expires = exp.Add(s.opts.Leeway)
	}
	return d, nil
}

// algAccepted reads a rejected token's header again to tell a bad
// signature from an algorithm that is not accepted (alg "none" included).
func (s *JWTStore) algAccepted(value string) bool {
	t, _, err := jwt.NewParser().ParseUnverified(value, jwt.MapClaims{})
	if err != nil {
		return true
	}
	alg, _ := t.Header["alg"].(string)
	return slices.Contains(s.opts.Algorithms, alg)
}

// key picks the verification key by the token's algorithm family, so a
// public key can never be used as an HMAC secret (and the reverse). The
// "jku", "x5u" and "jwk" headers are ignored: keys come only from config
// (a file, or the configured JWKS URL where "kid" selects the key).
func (s *JWTStore) key(t *jwt.Token) (any, error) {
	switch t.Method.(type) {
	case *jwt.SigningMethodHMAC:
		return s.opts.HMACSecret, nil
	case *jwt.SigningMethodRSA, *jwt.SigningMethodRSAPSS:
		return keysOf[*rsa.PublicKey](s.opts.PublicKeys)
	case *jwt.SigningMethodECDSA:
		return keysOf[*ecdsa.PublicKey](s.opts.PublicKeys)
	case *jwt.SigningMethodEd25519:
		return keysOf[ed25519.PublicKey](s.opts.PublicKeys)
	}
	return nil, errors.New("unsupported algorithm")
}

func keysOf[K crypto.PublicKey](keys []crypto.PublicKey) (jwt.VerificationKeySet, error) {
	var set jwt.VerificationKeySet
	for _, k := range keys {
		if kk, ok := k.(K); ok {
			set.Keys = append(set.Keys, kk)
		}
	}
	if len(set.Keys) == 0 {
		return set, errors.New("no key of that type")
	}
	return set, nil
}

// jwksKey picks the keys of the identity provider's set for a token: those
// with its "kid" (all of them when it has none), of its algorithm's family,
// and whose "alg", when the set says one, is the token's.
func (s *JWTStore) jwksKey(ctx context.Context, t *jwt.Token) (any, error) {
	if _, ok := t.Method.(*jwt.SigningMethodHMAC); ok {
		return s.opts.HMACSecret, nil
	}
	kid, _ := t.Header["kid"].(string)
	jwks, err := s.opts.JWKS.Keys(ctx, kid)
	if err != nil {
		return nil, err
	}
	keys := make([]crypto.PublicKey, 0, len(jwks))
	for _, k := range jwks {
		if k.Alg == "" || k.Alg == t.Method.Alg() {
			keys = append(keys, k.Key)
		}
	}
	switch t.Method.(type) {
	case *jwt.SigningMethodRSA, *jwt.SigningMethodRSAPSS:
		return keysOf[*rsa.PublicKey](keys)
	case *jwt.SigningMethodECDSA:
		return keysOf[*ecdsa.PublicKey](keys)
	case *jwt.SigningMethodEd25519:
		return keysOf[ed25519.PublicKey](keys)
	}
	return nil, errors.New("unsupported algorithm")
}

// jwtReason turns a parser error into a short reason without token content.
func jwtReason(err error) string {
	for _, r := range []struct {
		err    error
		reason string
	}{
		{jwt.ErrTokenMalformed, "malformed token"},
		{jwt.ErrTokenUnverifiable, "unverifiable token (algorithm or key not accepted)"},
		{jwt.ErrTokenSignatureInvalid, "bad signature"},
		{jwt.ErrTokenExpired, "expired"},
		{jwt.ErrTokenNotValidYet, "not valid yet"},
		{jwt.ErrTokenUsedBeforeIssued, "issued in the future"},
		{jwt.ErrTokenInvalidIssuer, "wrong issuer"},
		{jwt.ErrTokenInvalidAudience, "wrong audience"},
		{jwt.ErrTokenInvalidClaims, "invalid claims"},
	} {
		if errors.Is(err, r.err) {
			return r.reason
		}
	}
	return "invalid token"
}

// ParsePublicKeys reads every public key in PEM data: "PUBLIC KEY" (PKIX:
// RSA, ECDSA, Ed25519), "RSA PUBLIC KEY" (PKCS #1) and "CERTIFICATE" blocks.
// An RSA key under MinRSABits is an error, as it is in a key set.
func ParsePublicKeys(data []byte) ([]crypto.PublicKey, error) {
	var keys []crypto.PublicKey
	for n := 1; ; n++ {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			break
		}
		var k any
		var err error
		switch block.Type {
		case "PUBLIC KEY":
			k, err = x509.ParsePKIXPublicKey(block.Bytes)
		case "RSA PUBLIC KEY":
			k, err = x509.ParsePKCS1PublicKey(block.Bytes)
		case "CERTIFICATE":
			var c *x509.Certificate
			if c, err = x509.ParseCertificate(block.Bytes); err == nil {
				k = c.PublicKey
			}
		default:
			return nil, fmt.Errorf("PEM block %d: type %q is not a public key", n, block.Type)
		}
		if err != nil {
			return nil, fmt.Errorf("PEM block %d: %w", n, err)
		}
		if rk, ok := k.(*rsa.PublicKey); ok && rk.N.BitLen() < MinRSABits {
			return nil, fmt.Errorf("PEM block %d: an RSA key of %d bits; at least %d are required", n, rk.N.BitLen(), MinRSABits)
		}
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		return nil, errors.New("no PEM public key found")
	}
	return slices.Clip(keys), nil
}
