package shared

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/lbauthz/lbauthz/authz/session"
)

// CachedStore is a session store in front of another one: a valid session
// that one replica looked up is kept in Redis for TTL (never past its own
// end), so that the others find it there instead of asking the store. Put
// it under the resolver's local cache (local first, then Redis, then the
// store). Invalid sessions are not shared: each replica asks the store.
//
// Only the parts of the session's document named in Keep are kept in Redis,
// so the app's other session data (CSRF secrets, carts) is not copied. The
// key is a hash of the cookie value.
type CachedStore struct {
	r     *Redis
	store session.Store
	ttl   time.Duration
	keep  []string
}

// NewCachedStore returns store with a shared cache of ttl in front of it.
// keep are the dotted paths of the document the identity is made of (user
// id, groups, user info, the session's end); all of it when empty.
func (r *Redis) NewCachedStore(store session.Store, ttl time.Duration, keep []string) *CachedStore {
	return &CachedStore{r: r, store: store, ttl: ttl, keep: keep}
}

type cachedSession struct {
	Doc     map[string]any `json:"doc"`
	Expires int64          `json:"exp,omitempty"` // Unix ms; 0: none
}

// Lookup returns the session from Redis when another replica found it
// valid, else from the store (and then shares it). A failing Redis only
// means asking the store.
func (c *CachedStore) Lookup(ctx context.Context, value string) (session.Data, error) {
	key := c.r.key("session", hashKey("cache\x00"+value))
	if c.r.Up() {
		cctx, cancel := c.r.ctx(ctx)
		raw, err := c.r.client.Get(cctx, key).Bytes()
		cancel()
		switch {
		case err == nil:
			if d, ok := decodeCached(raw); ok {
				return d, nil
			}
		case !errors.Is(err, redis.Nil):
			c.r.failed(featureCache, err)
		}
	} else {
		c.r.metrics.fallback(featureCache)
	}
	d, err := c.store.Lookup(ctx, value)
	if err != nil || !c.r.Up() {
		return d, err
	}
	ttl := c.ttl
	if !d.Expires.IsZero() {
		ttl = min(ttl, time.Until(d.Expires))
	}
	if ttl < time.Millisecond {
		return d, nil
	}
	raw, merr := json.Marshal(cachedSession{Doc: c.kept(d.Doc), Expires: unixMilli(d.Expires)})
	if merr != nil {
		return d, nil
	}
	cctx, cancel := c.r.ctx(ctx)
	if err := c.r.client.Set(cctx, key, raw, ttl).Err(); err != nil {
		c.r.failed(featureCache, err)
	}
	cancel()
	return d, nil
}

// Close closes the store underneath (not Redis, which others share).
func (c *CachedStore) Close() error {
	if cl, ok := c.store.(interface{ Close() error }); ok {
		return cl.Close()
	}
	return nil
}

func unixMilli(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func decodeCached(raw []byte) (session.Data, bool) {
	var cs cachedSession
	doc, err := session.DecodeDocument(raw)
	if err != nil {
		return session.Data{}, false
	}
	// DecodeDocument keeps numbers exact; the envelope's fields are ours.
	d, _ := doc["doc"].(map[string]any)
	if d == nil {
		return session.Data{}, false
	}
	cs.Doc = d
	if n, ok := doc["exp"].(json.Number); ok {
		cs.Expires, _ = n.Int64()
	}
	out := session.Data{Doc: cs.Doc}
	if cs.Expires > 0 {
		out.Expires = time.UnixMilli(cs.Expires)
		if !time.Now().Before(out.Expires) {
			return session.Data{}, false
		}
	}
	return out, true
}

// kept returns the parts of doc at the keep paths, in the same nesting.
func (c *CachedStore) kept(doc map[string]any) map[string]any {
	if len(c.keep) == 0 {
		return doc
	}
	out := map[string]any{}
	for _, path := range c.keep {
		v, ok := dig(doc, path)
		if !ok {
			continue
		}
		cur := out
		segs := strings.Split(path, ".")
		for _, s := range segs[:len(segs)-1] {
			next, _ := cur[s].(map[string]any)
			if next == nil {
				next = map[string]any{}
				cur[s] = next
			}
			cur = next
		}
		cur[segs[len(segs)-1]] = v
	}
	return out
}

func dig(doc map[string]any, path string) (any, bool) {
	var cur any = doc
	for _, s := range strings.Split(path, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = m[s]; !ok {
			return nil, false
		}
	}
	return cur, true
}
