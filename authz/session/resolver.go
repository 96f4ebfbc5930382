package session

import (
	"context"
	"encoding/binary"
	"errors"
	"hash/maphash"
	"math"
	"sync/atomic"
	"time"

	"github.com/maypok86/otter/v2"
	"golang.org/x/sync/singleflight"

	"github.com/lbauthz/lbauthz/internal/deadline"
)

// CacheOptions configures the cache of a Resolver.
type CacheOptions struct {
	TTL         time.Duration // how long a valid session is kept (never past its expiry)
	NegativeTTL time.Duration // how long an invalid session is kept
	// MaxEntries bounds the number of entries, and MaxBytes (when above 0)
	// the bytes they hold, as estimated from their strings and structs.
	MaxEntries int
	MaxBytes   int64
	Disabled   bool
	// Observe, if set, is told of every cache lookup: hit or miss (for
	// metrics). It must be cheap and must not block.
	Observe func(hit bool)
}

// Resolver turns a cookie value into an identity: store lookup, mapping, and
// a cache of the result. It is safe for concurrent use.
//
// Cache keys are a 128-bit keyed hash of the value with a per-process random
// seed, so neither the value nor anything that can be checked against it is
// kept. Concurrent lookups of the same value share one store lookup.
type Resolver struct {
	store   Store
	mapping *Mapping
	opts    CacheOptions
	now     func() time.Time

	cache  *otter.Cache[cacheKey, entry]
	flight singleflight.Group
	seed1  maphash.Seed
	seed2  maphash.Seed

	hits, misses atomic.Uint64
}

type cacheKey [2]uint64

// entry is a cached result, kept by value in the cache's own node: a valid
// session's identity, or why the session is invalid.
type entry struct {
	id      *Identity
	err     error // an *InvalidError; unavailability is never cached
	expires int64 // Unix nanoseconds
}

// entryOverhead is about what the cache keeps for an entry besides the
// identity: its node (links, expiry, weight, key and value) and its slot in
// the hash table.
const entryOverhead = 160

// weight is about how many bytes of heap an entry holds.
func (e entry) weight() int {
	n := entryOverhead
	if e.id != nil {
		n += e.id.size()
	}
	if e.err != nil {
		n += 64 // an *InvalidError, whose reasons are constants
	}
	return n
}

// NewResolver returns a resolver over store.
func NewResolver(store Store, mapping *Mapping, opts CacheOptions) *Resolver {
	r := &Resolver{store: store, mapping: mapping, opts: opts, now: time.Now,
		seed1: maphash.MakeSeed(), seed2: maphash.MakeSeed()}
	if !opts.Disabled {
		r.cache = otter.Must(cacheOptions(opts))
	}
	return r
}

// cacheOptions bound the cache by entries and, with MaxBytes, by bytes too:
// an entry then weighs its bytes, but never less than MaxBytes/MaxEntries,
// so that the total weight bounds both the bytes and the number of entries.
func cacheOptions(opts CacheOptions) *otter.Options[cacheKey, entry] {
	o := &otter.Options[cacheKey, entry]{
		ExpiryCalculator: otter.ExpiryWritingFunc(func(e otter.Entry[cacheKey, entry]) time.Duration {
			return max(time.Until(time.Unix(0, e.Value.expires)), time.Millisecond)
		}),
	}
	maxEntries := max(opts.MaxEntries, 1)
	if opts.MaxBytes <= 0 {
		o.MaximumSize = maxEntries
		return o
	}
	floor := max(opts.MaxBytes/int64(maxEntries), 1)
	o.MaximumWeight = uint64(max(opts.MaxBytes, floor))
	o.Weigher = func(_ cacheKey, e entry) uint32 {
		return uint32(min(max(int64(e.weight()), floor), math.MaxUint32))
	}
	return o
}

// Resolve returns the identity of the session a cookie value holds, or an
// *InvalidError or *UnavailableError.
func (r *Resolver) Resolve(ctx context.Context, value string) (*Identity, error) {
	// A slow store must not make the caller miss its own deadline: the
	// lookup ends a little before it, as unavailable, so the caller still
	// answers (anonymous on pass-through, 503 on the auth path) in time.
	if r.cache == nil {
		lctx, cancel := context.WithTimeout(ctx, deadline.Budget(ctx, defaultLookupTimeout))
		defer cancel()
		return r.lookup(lctx, value)
	}
	k := r.key(value)
	if e, ok := r.cache.GetIfPresent(k); ok && r.now().UnixNano() < e.expires {
		r.hits.Add(1)
		if r.opts.Observe != nil {
			r.opts.Observe(true)
		}
		return e.id, e.err
	}
	budget := deadline.Budget(ctx, defaultLookupTimeout)
	r.misses.Add(1)
	if r.opts.Observe != nil {
		r.opts.Observe(false)
	}
	var sk [16]byte
	binary.LittleEndian.PutUint64(sk[:8], k[0])
	binary.LittleEndian.PutUint64(sk[8:], k[1])
	// The shared lookup must not be cut short by the first caller leaving:
	// it runs without that caller's cancellation, and each caller waits only
	// as long as its own context allows.
	timer := time.NewTimer(budget)
	defer timer.Stop()
	for attempt := 0; ; attempt++ {
		ch := r.flight.DoChan(string(sk[:]), func() (any, error) {
			lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), budget)
			defer cancel()
			id, err := r.lookup(lctx, value)
			if e, ok := r.entryFor(id, err); ok {
				r.cache.Set(k, e)
			}
			return id, err
		})
		select {
		case res := <-ch:
			// A lookup started by another caller ran on that caller's
			// deadline: when it found the store unavailable (it may have
			// started while the store was down, or had less time), ask once
			// more on our own deadline.
			if res.Shared && attempt == 0 && IsUnavailable(res.Err) && ctx.Err() == nil {
				continue
			}
			id, _ := res.Val.(*Identity)
			return id, res.Err
		case <-timer.C:
			return nil, &UnavailableError{Err: errLookupTimeout}
		case <-ctx.Done():
			return nil, &UnavailableError{Err: ctx.Err()}
		}
	}
}

// defaultLookupTimeout bounds a lookup whose caller has no deadline.
const defaultLookupTimeout = 5 * time.Second

var errLookupTimeout = errors.New("the session store did not answer in time")

// Cached returns the identity of a value whose valid session is in the
// cache, without asking the store; ok is false for anything else (not
// cached, cached as invalid, expired).
func (r *Resolver) Cached(value string) (id *Identity, ok bool) {
	if r.cache == nil {
		return nil, false
	}
	e, found := r.cache.GetIfPresent(r.key(value))
	if !found || e.id == nil || r.now().UnixNano() >= e.expires {
		return nil, false
	}
	return e.id, true
}

func (r *Resolver) lookup(ctx context.Context, value string) (*Identity, error) {
	d, err := r.store.Lookup(ctx, value)
	if err != nil {
		if !IsInvalid(err) && !IsUnavailable(err) {
			err = &UnavailableError{Err: err}
		}
		return nil, err
	}
	if !d.Expires.IsZero() && !r.now().Before(d.Expires) {
		return nil, &InvalidError{Reason: "expired", Step: "expired"}
	}
	id, err := r.mapping.Identity(d.Doc)
	if err != nil {
		return nil, err
	}
	id.setExpires(d.Expires)
	return id, nil
}

// entryFor returns the cache entry for a lookup's result; ok is false when
// the result must not be cached (the store was unavailable).
func (r *Resolver) entryFor(id *Identity, err error) (e entry, ok bool) {
	now := r.now()
	switch {
	case err == nil:
		exp := now.Add(r.opts.TTL).UnixNano()
		if id.expires != 0 && id.expires < exp {
			exp = id.expires
		}
		return entry{id: id, expires: exp}, true
	case IsInvalid(err) && r.opts.NegativeTTL > 0 && !noCache(err):
		return entry{err: err, expires: now.Add(r.opts.NegativeTTL).UnixNano()}, true
	}
	return entry{}, false
}

func (r *Resolver) key(value string) cacheKey {
	return cacheKey{maphash.String(r.seed1, value), maphash.String(r.seed2, value)}
}

// CacheStats returns the cache's hit and miss counts so far.
func (r *Resolver) CacheStats() (hits, misses uint64) { return r.hits.Load(), r.misses.Load() }

// CacheSize returns the number of cached entries (an estimate).
func (r *Resolver) CacheSize() int {
	if r.cache == nil {
		return 0
	}
	return r.cache.EstimatedSize()
}

// MaxEntries returns how many sessions the cache keeps at most (0 when the
// cache is disabled).
func (r *Resolver) MaxEntries() int {
	if r.cache == nil {
		return 0
	}
	return max(r.opts.MaxEntries, 1)
}

// MaxBytes returns the bound of the bytes the cache holds (0 when it has
// none of its own, or the cache is disabled).
func (r *Resolver) MaxBytes() int64 {
	if r.cache == nil {
		return 0
	}
	return max(r.opts.MaxBytes, 0)
}

// Close releases what the store holds (a connection pool). The resolver
// must not be used afterwards.
func (r *Resolver) Close() error { return closeStore(r.store) }
