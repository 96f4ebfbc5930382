package session

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

const maxJWKSBody = 1 << 20

// JWKSOptions configures a JWKS.
type JWKSOptions struct {
	URL string
	// Refresh is how long a fetched set is used before it is fetched again
	// in the background (1h when zero).
	Refresh time.Duration
	// MinInterval is the shortest time between two fetches, whatever asks
	// for them (an unknown "kid", a failed fetch).
	MinInterval time.Duration
	// Timeout bounds one fetch (5s when zero). A fetch is not cut short by
	// the request that started it, so a slow issuer is still read once.
	Timeout time.Duration
	// Client makes the fetches (http.DefaultClient's transport when nil).
	Client *http.Client
	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

// JWKS is a JSON Web Key Set fetched from an identity provider and kept up
// to date: fetched on first use, again every Refresh, and at once when a
// token names a key id the set does not hold, but never more often than
// MinInterval. It is safe for concurrent use.
type JWKS struct {
	opts JWKSOptions

	set atomic.Pointer[keySet]

	mu          sync.Mutex
	inflight    *fetchCall
	lastAttempt time.Time
	fetches     atomic.Int64
}

// JWK is one verification key of a set.
type JWK struct {
	KeyID string
	Alg   string // "" when the set does not say
	Key   crypto.PublicKey
}

type keySet struct {
	keys    []JWK
	byKid   map[string][]JWK
	fetched time.Time
}

type fetchCall struct {
	done chan struct{}
	set  *keySet
	err  error
}

// errRateLimited says a fetch was wanted but MinInterval had not passed.
var errRateLimited = errors.New("jwks: fetched too recently")

// NewJWKS returns a key set read from opts.URL. It fetches nothing yet.
func NewJWKS(opts JWKSOptions) (*JWKS, error) {
	if opts.URL == "" {
		return nil, errors.New("jwks: no URL")
	}
	if opts.Refresh <= 0 {
		opts.Refresh = time.Hour
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 5 * time.Second
	}
	if opts.Client == nil {
		opts.Client = &http.Client{}
	}
	c := *opts.Client
	// A key set comes from the configured URL only, never from where a
	// redirect would send it.
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	opts.Client = &c
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &JWKS{opts: opts}, nil
}

// Fetches returns how many fetches were started so far.
func (j *JWKS) Fetches() int64 { return j.fetches.Load() }

// Keys returns the keys a token with key id kid may be checked with: those
// with that id, or every key when kid is empty. It returns an *InvalidError
// when the set, fetched again if that is allowed, has no such key, and an
// *UnavailableError when the set cannot be had.
func (j *JWKS) Keys(ctx context.Context, kid string) ([]JWK, error) {
	set := j.set.Load()
	if set == nil {
		var err error
		set, err = j.fetchWait(ctx)
		if err != nil {
			if set = j.set.Load(); set == nil {
				return nil, &UnavailableError{Err: err}
			}
		}
	} else if j.opts.Now().Sub(set.fetched) >= j.opts.Refresh {
		j.start() // in the background; the current keys stay in use
	}
	if kid == "" {
		return set.keys, nil
	}
	if keys := set.byKid[kid]; len(keys) > 0 {
		return keys, nil
	}
	// An unknown key id: the issuer may have rotated its keys.
	newSet, err := j.fetchWait(ctx)
	switch {
	case err == nil:
		set = newSet
	case errors.Is(err, errRateLimited):
		// A fetch just happened (maybe for this very key id): use its set.
		set = j.set.Load()
	default:
		return nil, &UnavailableError{Err: err}
	}
	if keys := set.byKid[kid]; len(keys) > 0 {
		return keys, nil
	}
	if errors.Is(err, errRateLimited) {
		// The issuer may have rotated its keys since the last fetch, which
		// was too recent to fetch again: a valid token must get a 503,
		// which the client retries until the next fetch brings its key,
		// not a 401, which would stop it for good.
		return nil, &UnavailableError{Err: errors.New("jwks: unknown key id, and the key set was fetched too recently to fetch again")}
	}
	return nil, Invalid("unknown key id")
}

// fetchWait starts a fetch (or joins the one in flight) and waits for it or
// for ctx.
func (j *JWKS) fetchWait(ctx context.Context) (*keySet, error) {
	c := j.start()
	if c == nil {
		return nil, errRateLimited
	}
	select {
	case <-c.done:
		return c.set, c.err
	case <-ctx.Done():
		return nil, errors.New("jwks: timeout waiting for the key set")
	}
}

// start returns the fetch in flight, or starts one when MinInterval has
// passed since the last, or returns nil.
func (j *JWKS) start() *fetchCall {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.inflight != nil {
		return j.inflight
	}
	now := j.opts.Now()
	if !j.lastAttempt.IsZero() && now.Sub(j.lastAttempt) < j.opts.MinInterval {
		return nil
	}
	j.lastAttempt = now
	c := &fetchCall{done: make(chan struct{})}
	j.inflight = c
	j.fetches.Add(1)
	go func() {
		set, err := j.fetch()
		j.mu.Lock()
		if err == nil {
			j.set.Store(set)
		}
		c.set, c.err = set, err
		j.inflight = nil
		j.mu.Unlock()
		close(c.done)
	}()
	return c
}

func (j *JWKS) fetch() (*keySet, error) {
	ctx, cancel := context.WithTimeout(context.Background(), j.opts.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, j.opts.URL, nil)
	if err != nil {
		return nil, fmt.Errorf("jwks: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := j.opts.Client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("jwks: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("jwks: %s answered %d", j.opts.URL, resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxJWKSBody+1))
	if err != nil {
		return nil, fmt.Errorf("jwks: reading %s: %w", j.opts.URL, err)
	}
	if len(body) > maxJWKSBody {
		return nil, fmt.Errorf("jwks: %s is over 1 MiB", j.opts.URL)
	}
	keys, err := ParseJWKS(body)
	if err != nil {
		return nil, fmt.Errorf("jwks: %s: %w", j.opts.URL, err)
	}
	set := &keySet{keys: keys, byKid: map[string][]JWK{}, fetched: j.opts.Now()}
	for _, k := range keys {
		if k.KeyID != "" {
			set.byKid[k.KeyID] = append(set.byKid[k.KeyID], k)
		}
	}
	return set, nil
}

// ParseJWKS reads the verification keys of a JSON Web Key Set (RFC 7517):
// RSA, EC (P-256, P-384, P-521) and OKP (Ed25519) keys. Keys for another use
// than "sig", of another type, or that do not parse are left out; a set with
// no usable key is an error.
func ParseJWKS(data []byte) ([]JWK, error) {
	var doc struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, errors.New("not a JSON Web Key Set")
	}
	var keys []JWK
	for _, raw := range doc.Keys {
		k, err := parseJWK(raw)
		if err != nil {
			continue
		}
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("no usable signing key among %d", len(doc.Keys))
	}
	return keys, nil
}

func parseJWK(raw json.RawMessage) (JWK, error) {
	var k struct {
		Kty string `json:"kty"`
		Kid string `json:"kid"`
		Use string `json:"use"`
		Alg string `json:"alg"`
		N   string `json:"n"`
		E   string `json:"e"`
		Crv string `json:"crv"`
		X   string `json:"x"`
		Y   string `json:"y"`
		D   string `json:"d"`
	}
	if err := json.Unmarshal(raw, &k); err != nil {
		return JWK{}, err
	}
	if k.Use != "" && k.Use != "sig" {
		return JWK{}, errors.New("not a signing key")
	}
	if k.D != "" {
		// A private key published by mistake: refuse rather than use it.
		return JWK{}, errors.New("a private key")
	}
	b64 := base64.RawURLEncoding
	out := JWK{KeyID: k.Kid, Alg: k.Alg}
	switch k.Kty {
	case "RSA":
		n, err1 := b64.DecodeString(k.N)
		e, err2 := b64.DecodeString(k.E)
		if err1 != nil || err2 != nil || len(n) == 0 || len(e) == 0 || len(e) > 4 {
			return JWK{}, errors.New("bad RSA key")
		}
		exp := int(new(big.Int).SetBytes(e).Int64())
		pub := &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: exp}
		if pub.N.BitLen() < MinRSABits || exp < 3 || exp%2 == 0 {
			return JWK{}, errors.New("weak RSA key")
		}
		out.Key = pub
	case "EC":
		var curve elliptic.Curve
		switch k.Crv {
		case "P-256":
			curve = elliptic.P256()
		case "P-384":
			curve = elliptic.P384()
		case "P-521":
			curve = elliptic.P521()
		default:
			return JWK{}, errors.New("unsupported curve " + strconv.Quote(k.Crv))
		}
		size := (curve.Params().BitSize + 7) / 8
		x, err1 := b64.DecodeString(k.X)
		y, err2 := b64.DecodeString(k.Y)
		if err1 != nil || err2 != nil || len(x) != size || len(y) != size {
			return JWK{}, errors.New("bad EC key")
		}
		point := append(append([]byte{4}, x...), y...)
		pub, err := ecdsa.ParseUncompressedPublicKey(curve, point)
		if err != nil {
			return JWK{}, err
		}
		out.Key = pub
	case "OKP":
		x, err := b64.DecodeString(k.X)
		if k.Crv != "Ed25519" || err != nil || len(x) != ed25519.PublicKeySize {
			return JWK{}, errors.New("bad OKP key")
		}
		out.Key = ed25519.PublicKey(x)
	default:
		return JWK{}, errors.New("unsupported key type")
	}
	return out, nil
}
