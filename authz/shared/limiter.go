package shared

import (
	"context"
	"hash/maphash"
	"math"
	"time"

	"github.com/maypok86/otter/v2"
	"github.com/redis/go-redis/v9"
	"golang.org/x/time/rate"
)

// gcra is the generic cell rate algorithm in one script, so that a check is
// one round trip and atomic across replicas (as envoyproxy/ratelimit and
// redis-cell do). The key holds the theoretical arrival time (TAT) in
// microseconds of Redis' own clock, so replicas' clocks do not matter.
//
// KEYS[1]: the budget. ARGV[1]: the emission interval (µs per request);
// ARGV[2]: the burst tolerance (interval × burst, µs). It spends one
// request when the budget allows it. Returns {allowed (1/0), wait in µs}.
var gcra = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local new_tat = tat + interval
local allow_at = new_tat - tolerance
if allow_at > now then
  return {0, allow_at - now}
end
redis.call('SET', KEYS[1], string.format('%.0f', new_tat), 'PX', math.ceil((new_tat - now) / 1000) + 1)
return {1, 0}
`)

// Limiter is a rate limit whose budgets (one per key: a user id, an
// address) are shared by every replica through Redis. While Redis is down it
// keeps per-process budgets, as one replica alone would. Its methods are
// safe for concurrent use and never fail.
//
// A replica remembers the budgets it has seen spent until they allow a
// request again (envoyproxy/ratelimit's local cache of keys over the limit):
// a refused request does not change a budget, so refusing it without asking
// Redis gives the same answer one round trip sooner.
type Limiter struct {
	r        *Redis
	name     string
	interval int64 // µs per request
	burst    int
	local    *localLimiter
	over     *overLimit
}

// NewLimiter returns the limit called name (a key part: "user",
// "address"): perMinute requests a minute per key, with bursts of burst.
// tracked bounds the number of local budgets kept for the fallback.
func (r *Redis) NewLimiter(name string, perMinute, burst, tracked int) *Limiter {
	perMinute, burst = max(perMinute, 1), max(burst, 1)
	return &Limiter{
		r: r, name: name, burst: burst,
		interval: int64(math.Ceil(60e6 / float64(perMinute))),
		local:    newLocalLimiter(rate.Limit(float64(perMinute)/60), burst, tracked),
		over:     newOverLimit(tracked),
	}
}

// Take spends one request of key's budget: one Redis round trip, none
// while this replica knows the budget is spent. When the budget is spent it
// reports false and how long until one request is allowed again.
func (l *Limiter) Take(ctx context.Context, key string) (time.Duration, bool) {
	if wait, spent := l.over.spent(key, time.Now()); spent {
		return wait, false
	}
	return l.take(ctx, key)
}

// Spent reports whether key's budget is spent, without spending any and
// without asking Redis, and how long until one request is allowed again.
// It knows what this replica has seen: a budget that other replicas spent
// is known spent from this replica's first Take of it, which Take refuses.
// So a check in front of an expensive step (the session store, for an
// address) costs nothing, and lets at most one request per replica through
// to the step once the shared budget is spent.
func (l *Limiter) Spent(ctx context.Context, key string) (time.Duration, bool) {
	if wait, spent := l.over.spent(key, time.Now()); spent {
		return wait, true
	}
	if !l.r.Up() {
		l.r.metrics.fallback(featureRateLimit)
		wait, ok := l.local.peek(key, time.Now())
		return wait, !ok
	}
	return 0, false
}

func (l *Limiter) take(ctx context.Context, key string) (time.Duration, bool) {
	if l.r.Up() {
		cctx, cancel := l.r.ctx(ctx)
		res, err := gcra.Run(cctx, l.r.client, []string{l.r.key("rl", l.name, hashKey(key))},
			l.interval, l.interval*int64(l.burst)).Int64Slice()
		cancel()
		if err == nil && len(res) == 2 {
			wait := time.Duration(res[1]) * time.Microsecond
			if res[0] != 1 {
				l.over.remember(key, time.Now().Add(wait))
			}
			return wait, res[0] == 1
		}
		if err == nil {
			err = errUnexpectedReply
		}
		l.r.failed(featureRateLimit, err)
	} else {
		l.r.metrics.fallback(featureRateLimit)
	}
	return l.local.take(key, time.Now())
}

// overLimit remembers the budgets seen spent, each until it allows a
// request again, in a bounded cache.
type overLimit struct {
	seed  maphash.Seed
	until *otter.Cache[uint64, time.Time]
}

func newOverLimit(tracked int) *overLimit {
	return &overLimit{seed: maphash.MakeSeed(), until: otter.Must(&otter.Options[uint64, time.Time]{
		MaximumSize: max(tracked, 1),
		ExpiryCalculator: otter.ExpiryWritingFunc(func(e otter.Entry[uint64, time.Time]) time.Duration {
			return max(time.Until(e.Value), time.Millisecond)
		}),
	})}
}

func (o *overLimit) remember(key string, until time.Time) {
	o.until.Set(maphash.String(o.seed, key), until)
}

func (o *overLimit) spent(key string, now time.Time) (time.Duration, bool) {
	until, ok := o.until.GetIfPresent(maphash.String(o.seed, key))
	if !ok || !now.Before(until) {
		return 0, false
	}
	return until.Sub(now), true
}

type replyError string

func (e replyError) Error() string { return string(e) }

const errUnexpectedReply = replyError("redis: unexpected reply of the rate-limit script")

// localLimiter is the per-process fallback: a token bucket per key in a
// bounded cache, forgotten once idle long enough to be full again.
type localLimiter struct {
	limit   rate.Limit
	burst   int
	seed    maphash.Seed
	buckets *otter.Cache[uint64, *rate.Limiter]
}

func newLocalLimiter(limit rate.Limit, burst, tracked int) *localLimiter {
	refill := time.Duration(float64(burst) / float64(limit) * float64(time.Second))
	return &localLimiter{limit: limit, burst: burst, seed: maphash.MakeSeed(),
		buckets: otter.Must(&otter.Options[uint64, *rate.Limiter]{
			MaximumSize:      max(tracked, 1),
			ExpiryCalculator: otter.ExpiryAccessing[uint64, *rate.Limiter](max(refill, time.Second)),
		})}
}

func (l *localLimiter) take(key string, now time.Time) (time.Duration, bool) {
	k := maphash.String(l.seed, key)
	b, ok := l.buckets.GetIfPresent(k)
	if !ok {
		b, _ = l.buckets.SetIfAbsent(k, rate.NewLimiter(l.limit, l.burst))
	}
	if b.AllowN(now, 1) {
		return 0, true
	}
	return l.wait(b, now), false
}

func (l *localLimiter) peek(key string, now time.Time) (time.Duration, bool) {
	b, ok := l.buckets.GetIfPresent(maphash.String(l.seed, key))
	if !ok || b.TokensAt(now) >= 1 {
		return 0, true
	}
	return l.wait(b, now), false
}

func (l *localLimiter) wait(b *rate.Limiter, now time.Time) time.Duration {
	return time.Duration(math.Ceil((1 - b.TokensAt(now)) / float64(l.limit) * float64(time.Second)))
}
