package authz

import (
	"context"
	"encoding/binary"
	"hash/maphash"
	"math"
	"net/http"
	"net/netip"
	"strconv"
	"time"

	"github.com/maypok86/otter/v2"
	"golang.org/x/time/rate"
)

// Limits are the abuse limits of the auth path (auth_limits): a rate limit
// per user, a rate limit per client address of the requests without a
// valid session, and the origin check. A nil *Limits limits nothing and
// checks no origin.
type Limits struct {
	perUser    *rateLimiter // nil: not limited
	perAddress *rateLimiter
	origins    *originPolicy
}

// RateLimit is a budget of requests: PerMinute on average, at most Burst at
// once.
type RateLimit struct {
	PerMinute uint32
	Burst     uint32
}

// LimitsOptions configures the Limits (internal/assemble fills them from
// auth_limits, with the config's defaults).
type LimitsOptions struct {
	// PerUser and PerAddress are the budgets of a user's token requests and
	// of an address's requests without a valid session; nil (or a zero
	// rate or burst) limits nothing.
	PerUser, PerAddress *RateLimit
	// MaxTracked bounds the users and the addresses whose budgets are kept
	// (at least 1).
	MaxTracked int
	// Origins are the other origins (scheme://host[:port], as a browser
	// sends them) allowed to ask for tokens, with CORS answers.
	Origins []string
	// RefuseWithoutOrigin refuses a token request without Origin nor
	// Sec-Fetch-Site (a program, not a web page).
	RefuseWithoutOrigin bool
	// OriginsDisabled refuses nothing for its origin.
	OriginsDisabled bool
}

// NewLimits returns the limits of o.
func NewLimits(o LimitsOptions) *Limits {
	tracked := max(o.MaxTracked, 1)
	return &Limits{
		perUser:    newRateLimiter(o.PerUser, tracked),
		perAddress: newRateLimiter(o.PerAddress, tracked),
		origins:    newOriginPolicy(o.Origins, o.RefuseWithoutOrigin, o.OriginsDisabled),
	}
}

// rateLimiter keeps a token bucket per key (a user id or an address). The
// keys are kept as a keyed 64-bit hash: neither user ids nor addresses stay
// in memory, and every entry has the same small size. The buckets are held
// in a bounded cache that forgets a bucket once it has been idle long enough
// to be full again, when a new one would be the same.
type rateLimiter struct {
	limit   rate.Limit
	burst   int
	seed    maphash.Seed
	buckets *otter.Cache[uint64, *rate.Limiter]
}

func newRateLimiter(c *RateLimit, tracked int) *rateLimiter {
	if c == nil || c.PerMinute == 0 || c.Burst == 0 {
		return nil
	}
	perMinute, burst := c.PerMinute, c.Burst
	l := &rateLimiter{limit: rate.Limit(float64(perMinute) / 60), burst: int(burst), seed: maphash.MakeSeed()}
	refill := time.Duration(float64(burst) / float64(l.limit) * float64(time.Second))
	l.buckets = otter.Must(&otter.Options[uint64, *rate.Limiter]{
		MaximumSize:      tracked,
		ExpiryCalculator: otter.ExpiryAccessing[uint64, *rate.Limiter](max(refill, time.Second)),
	})
	return l
}

func (l *rateLimiter) bucket(key uint64) *rate.Limiter {
	if b, ok := l.buckets.GetIfPresent(key); ok {
		return b
	}
	b, _ := l.buckets.SetIfAbsent(key, rate.NewLimiter(l.limit, l.burst))
	return b
}

// take spends one request of key's budget. When the budget is spent it
// reports false and how long until one request is allowed again.
func (l *rateLimiter) take(key uint64, now time.Time) (time.Duration, bool) {
	b := l.bucket(key)
	if b.AllowN(now, 1) {
		return 0, true
	}
	return l.wait(b, now), false
}

// spent reports whether key's budget is spent, without spending any, and
// how long until one request is allowed again.
func (l *rateLimiter) spent(key uint64, now time.Time) (time.Duration, bool) {
	b, ok := l.buckets.GetIfPresent(key)
	if !ok || b.TokensAt(now) >= 1 {
		return 0, false
	}
	return l.wait(b, now), true
}

func (l *rateLimiter) wait(b *rate.Limiter, now time.Time) time.Duration {
	missing := 1 - b.TokensAt(now)
	return time.Duration(math.Ceil(missing / float64(l.limit) * float64(time.Second)))
}

func (l *rateLimiter) userKey(userID string) uint64 { return maphash.String(l.seed, userID) }

// addressKey is the key of a client address: IPv6 addresses count per /64,
// the block one subscriber usually gets.
func (l *rateLimiter) addressKey(a netip.Addr) uint64 {
	b := a.Unmap().As16()
	if !a.Unmap().Is4() {
		binary.BigEndian.PutUint64(b[8:], 0)
	}
	return maphash.Comparable(l.seed, b)
}

// Which limit refused a request, for the metrics.
const (
	limitUser = iota
	limitAddress
	numLimits
)

var limitNames = [numLimits]string{limitUser: "user", limitAddress: "address"}

// addressLimited answers 429 when the request's client address has spent
// its budget of requests without a valid session. Addresses of trusted
// proxies are never limited: the proxy did not say who the client is.
func (e *Engine) addressLimited(ctx context.Context, r *Request, now time.Time) (Decision, bool) {
	l := e.limits()
	if l == nil || l.perAddress == nil || !e.limitedAddress(r.ClientAddr) {
		return Decision{}, false
	}
	if b := e.opts.Replicas.AddressBudget; b != nil {
		if wait, spent := b.Spent(ctx, addressBudgetKey(r.ClientAddr)); spent {
			return e.rateLimited(limitAddress, wait), true
		}
		return Decision{}, false
	}
	if wait, spent := l.perAddress.spent(l.perAddress.addressKey(r.ClientAddr), now); spent {
		return e.rateLimited(limitAddress, wait), true
	}
	return Decision{}, false
}

// spendAddress counts a request without a valid session against its client
// address.
func (e *Engine) spendAddress(ctx context.Context, r *Request, now time.Time) {
	l := e.limits()
	if l == nil || l.perAddress == nil || !e.limitedAddress(r.ClientAddr) {
		return
	}
	if b := e.opts.Replicas.AddressBudget; b != nil {
		b.Take(ctx, addressBudgetKey(r.ClientAddr))
		return
	}
	l.perAddress.take(l.perAddress.addressKey(r.ClientAddr), now)
}

// userLimited spends one request of the user's budget, and answers 429 when
// it is spent.
func (e *Engine) userLimited(ctx context.Context, userID string, now time.Time) (Decision, bool) {
	l := e.limits()
	if l == nil || l.perUser == nil {
		return Decision{}, false
	}
	if b := e.opts.Replicas.UserBudget; b != nil {
		if wait, ok := b.Take(ctx, userID); !ok {
			return e.rateLimited(limitUser, wait), true
		}
		return Decision{}, false
	}
	if wait, ok := l.perUser.take(l.perUser.userKey(userID), now); !ok {
		return e.rateLimited(limitUser, wait), true
	}
	return Decision{}, false
}

func (e *Engine) limitedAddress(a netip.Addr) bool {
	return a.IsValid() && !containsAddr(e.opts.UnlimitedPeers, a)
}

func (e *Engine) limits() *Limits { return e.opts.Limits }

// rateLimited is the 429 of a spent budget. Retry-After is in whole seconds,
// at least one; the Liveblocks client retries a 429 with its own back-off.
func (e *Engine) rateLimited(which int, wait time.Duration) Decision {
	if m := e.opts.Metrics; m != nil {
		m.rateLimited[which].Inc()
	}
	secs := max(int64(math.Ceil(wait.Seconds())), 1)
	d := deny(RateLimited, http.StatusTooManyRequests, "rate_limited",
		"too many token requests for this "+limitNames[which]+"; retry later")
	d.Header = [][2]string{{"retry-after", strconv.FormatInt(secs, 10)}}
	return d
}

func containsAddr(prefixes []netip.Prefix, a netip.Addr) bool {
	a = a.Unmap().WithZone("")
	for _, p := range prefixes {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
