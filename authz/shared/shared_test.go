package shared

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/lbauthz/lbauthz/authz/session"
	"github.com/lbauthz/lbauthz/internal/testenv"
)

// replica is one lbauthz process's view of the shared Redis: its own
// connections, metrics and log.
type replica struct {
	r    *Redis
	m    *Metrics
	logs *observer.ObservedLogs
}

func newReplica(t *testing.T, addr string) replica {
	t.Helper()
	return newReplicaTimeout(t, addr, 200*time.Millisecond)
}

func newReplicaTimeout(t *testing.T, addr string, timeout time.Duration) replica {
	t.Helper()
	core, logs := observer.New(zapcore.InfoLevel)
	m := NewMetrics(prometheus.NewRegistry())
	r, err := Open(Options{Addrs: []string{addr}, Timeout: timeout, ProbeInterval: 100 * time.Millisecond},
		zap.New(core), m)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return replica{r: r, m: m, logs: logs}
}

func TestLimiter_ThreeReplicasKeepOneBudgetPerUser(t *testing.T) {
	rd := testenv.StartRedis(t)
	// 100 a second. The burst covers a gap of half a second in which no
	// goroutine gets to Take (a loaded machine starves them): budget beyond
	// the burst is not kept, so a smaller burst would count such a gap as
	// requests the limiter refused.
	const perMinute, burst = 6000, 50
	var limiters []*Limiter
	var replicas []replica
	for range 3 {
		// A generous timeout: on a loaded machine a slow answer would fall
		// back to local budgets, which is another test.
		rep := newReplicaTimeout(t, rd.Addr, 2*time.Second)
		replicas = append(replicas, rep)
		limiters = append(limiters, rep.r.NewLimiter("user", perMinute, burst, 1000))
	}
	var allowed, refused atomic.Int64
	start := time.Now()
	stop := start.Add(2 * time.Second)
	var wg sync.WaitGroup
	for _, l := range limiters {
		for range 3 {
			wg.Go(func() {
				for time.Now().Before(stop) {
					if _, ok := l.Take(context.Background(), "user-1"); ok {
						allowed.Add(1)
					} else {
						refused.Add(1)
					}
				}
			})
		}
	}
	wg.Wait()
	elapsed := time.Since(start).Seconds()
	for i, rep := range replicas {
		if n := testutil.ToFloat64(rep.m.fallbacks.WithLabelValues(featureRateLimit)); n != 0 {
			t.Fatalf("replica %d answered %v requests from its local budget: Redis was too slow", i, n)
		}
	}
	want := float64(burst) + perMinute/60*elapsed
	got := float64(allowed.Load())
	if got < want*0.9 || got > want*1.1 {
		t.Fatalf("three replicas allowed %v requests in %.2fs, want %.0f ± 10%% (refused %d)", got, elapsed, want, refused.Load())
	}
	if refused.Load() == 0 {
		t.Fatal("no request was refused: the budget was never spent")
	}
	// Another user has a budget of its own.
	if _, ok := limiters[0].Take(context.Background(), "user-2"); !ok {
		t.Fatal("another user was refused")
	}
}

func TestLimiter_SpentAndRefusalsNeedNoRoundTripOnceABudgetIsSeenSpent(t *testing.T) {
	rd := testenv.StartRedis(t)
	a := newReplica(t, rd.Addr).r.NewLimiter("address", 60, 2, 100)
	b := newReplica(t, rd.Addr).r.NewLimiter("address", 60, 2, 100)
	ctx := context.Background()
	const key = "203.0.113.7"
	calls := func() int { return scriptCalls(t, rd.Addr) }

	before := calls()
	for i := range 5 {
		if _, spent := a.Spent(ctx, key); spent {
			t.Fatalf("look %d: spent before any request", i)
		}
	}
	if n := calls() - before; n != 0 {
		t.Fatalf("Spent asked Redis %d times, want never", n)
	}
	for i := range 2 {
		if _, ok := a.Take(ctx, key); !ok {
			t.Fatalf("request %d of the burst refused", i)
		}
	}
	if w, ok := a.Take(ctx, key); ok || w <= 0 || w > time.Second+50*time.Millisecond {
		t.Fatalf("third request: allowed=%v wait=%v, want refused with a wait of about 1s", ok, w)
	}

	// Replica a saw the budget spent: it answers from memory.
	before = calls()
	if w, spent := a.Spent(ctx, key); !spent || w <= 0 {
		t.Fatalf("replica a after the refusal: spent=%v wait=%v, want spent", spent, w)
	}
	if _, ok := a.Take(ctx, key); ok {
		t.Fatal("replica a allowed a request of a spent budget")
	}
	if n := calls() - before; n != 0 {
		t.Fatalf("replica a asked Redis %d times about a budget it saw spent, want never", n)
	}

	// Replica b has not seen it: Spent lets its first request through to
	// Take, which asks Redis, is refused by the shared budget, and from then
	// on b knows too.
	if _, spent := b.Spent(ctx, key); spent {
		t.Fatal("replica b knew of a budget it had not seen spent")
	}
	if _, ok := b.Take(ctx, key); ok {
		t.Fatal("replica b allowed a request of the shared budget replica a spent")
	}
	if _, spent := b.Spent(ctx, key); !spent {
		t.Fatal("replica b forgot the refusal it got from Redis")
	}

	// Once the wait has passed, one request is allowed again.
	time.Sleep(1100 * time.Millisecond)
	if _, spent := a.Spent(ctx, key); spent {
		t.Fatal("replica a still says spent after the wait")
	}
	if _, ok := b.Take(ctx, key); !ok {
		t.Fatal("the budget allowed no request after the wait")
	}
}

// scriptCalls is how many scripts the Redis at addr has run.
func scriptCalls(t *testing.T, addr string) int {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: addr})
	defer c.Close()
	info, err := c.Info(context.Background(), "commandstats").Result()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, line := range strings.Split(info, "\n") {
		name, stats, ok := strings.Cut(strings.TrimSpace(line), ":")
		if !ok || (name != "cmdstat_evalsha" && name != "cmdstat_eval") {
			continue
		}
		var calls int
		if _, err := fmt.Sscanf(stats, "calls=%d", &calls); err != nil {
			t.Fatalf("commandstats line %q: %v", line, err)
		}
		n += calls
	}
	return n
}

func TestRevocations_ARevocationThroughOneReplicaIsSeenByAllWithinASecond(t *testing.T) {
	rd := testenv.StartRedis(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var revs []*Revocations
	var dropped atomic.Int32
	replicas := make([]replica, 3)
	for i := range replicas {
		replicas[i] = newReplica(t, rd.Addr)
		v := replicas[i].r.NewRevocations(func(Revocation) { dropped.Add(1) })
		go v.Run(ctx)
		revs = append(revs, v)
	}
	for _, v := range revs {
		waitSubscribed(t, v)
	}
	cookie := "s:opaque-session-value.signature"
	cases := []struct {
		name    string
		rev     Revocation
		revoked func(*Revocations) bool
	}{
		{"user", Revocation{User: "user-42"}, func(v *Revocations) bool { return v.UserRevoked("user-42") }},
		{"session", Revocation{SessionHash: SessionHash(cookie)}, func(v *Revocations) bool { return v.SessionRevoked(cookie) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for _, v := range revs {
				if tc.revoked(v) {
					t.Fatal("revoked before the revocation")
				}
			}
			tc.rev.Until = time.Now().Add(time.Hour)
			sent := time.Now()
			if err := replicas[1].r.Revoke(ctx, tc.rev); err != nil {
				t.Fatal(err)
			}
			for i, v := range revs {
				for !tc.revoked(v) {
					if time.Since(sent) > time.Second {
						t.Fatalf("replica %d did not see the revocation within 1s", i)
					}
					time.Sleep(5 * time.Millisecond)
				}
			}
		})
	}
	if revs[0].UserRevoked("user-43") || revs[0].SessionRevoked("another cookie") {
		t.Fatal("a revocation refuses another user or session")
	}
	if got := dropped.Load(); got != 6 {
		t.Fatalf("onRevoke called %d times, want 6 (2 revocations × 3 replicas)", got)
	}

	// A replica started afterwards (a new pod) knows both from the set.
	late := newReplica(t, rd.Addr).r.NewRevocations(nil)
	go late.Run(ctx)
	waitSubscribed(t, late)
	if !late.UserRevoked("user-42") || !late.SessionRevoked(cookie) {
		t.Fatal("a replica that subscribed later does not know the revocations in force")
	}
}

func TestRevoke_RefusesWhatNamesNeitherOrBoth(t *testing.T) {
	rd := testenv.StartRedis(t)
	r := newReplica(t, rd.Addr).r
	until := time.Now().Add(time.Minute)
	for name, rev := range map[string]Revocation{
		"nothing":              {Until: until},
		"both":                 {User: "u", SessionHash: SessionHash("c"), Until: until},
		"a cookie, not a hash": {SessionHash: "s:raw-cookie-value", Until: until},
		"already ended":        {User: "u", Until: time.Now().Add(-time.Second)},
	} {
		t.Run(name, func(t *testing.T) {
			err := r.Revoke(context.Background(), rev)
			if err == nil {
				t.Fatal("accepted")
			}
			if strings.Contains(err.Error(), "raw-cookie") {
				t.Fatalf("the error repeats the value: %v", err)
			}
		})
	}
}

func TestCachedStore_AnotherReplicaFindsTheSessionWithoutTheStore(t *testing.T) {
	rd := testenv.StartRedis(t)
	app := redis.NewClient(&redis.Options{Addr: rd.Addr})
	defer app.Close()
	ctx := context.Background()
	doc := `{"user":{"id":"u-7","name":"Ada"},"groups":["eng"],"csrfSecret":"do-not-copy"}`
	if err := app.Set(ctx, "sess:abc", doc, time.Hour).Err(); err != nil {
		t.Fatal(err)
	}
	newStore := func() *CachedStore {
		s, err := session.NewRedisStore(session.RedisOptions{Address: rd.Addr, KeyTemplate: "sess:{id}"})
		if err != nil {
			t.Fatal(err)
		}
		c := newReplica(t, rd.Addr).r.NewCachedStore(s, time.Minute, []string{"user.id", "user.name", "groups"})
		t.Cleanup(func() { c.Close() })
		return c
	}
	a, b := newStore(), newStore()
	d, err := a.Lookup(ctx, "abc")
	if err != nil {
		t.Fatal(err)
	}
	if d.Expires.IsZero() {
		t.Fatal("the session's end was lost")
	}
	// The app's store forgets the session: only the shared cache knows it.
	app.Del(ctx, "sess:abc")
	d, err = b.Lookup(ctx, "abc")
	if err != nil {
		t.Fatalf("the second replica did not find the shared session: %v", err)
	}
	user, _ := d.Doc["user"].(map[string]any)
	if user["id"] != "u-7" || user["name"] != "Ada" || d.Doc["groups"] == nil || d.Expires.IsZero() {
		t.Fatalf("shared session %v (expires %v), want the user, the groups and the end", d.Doc, d.Expires)
	}
	keys, _ := app.Keys(ctx, "lbauthz:session:*").Result()
	if len(keys) != 1 {
		t.Fatalf("shared cache keys %v, want one", keys)
	}
	raw, _ := app.Get(ctx, keys[0]).Result()
	if strings.Contains(raw, "do-not-copy") || strings.Contains(keys[0], "abc") {
		t.Fatal("the shared cache holds what it must not: a field outside keep, or the session id")
	}
	// An unknown session is not shared as invalid, and is invalid.
	if _, err := b.Lookup(ctx, "unknown"); !session.IsInvalid(err) {
		t.Fatalf("unknown session: %v, want invalid", err)
	}
}

func TestRedisDown_PartsAnswerLocallyThenRecoverByThemselves(t *testing.T) {
	rd := testenv.StartRedis(t)
	rep := newReplica(t, rd.Addr)
	l := rep.r.NewLimiter("user", 6000, 1000, 100)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	revs := rep.r.NewRevocations(nil)
	go revs.Run(ctx)
	waitSubscribed(t, revs)

	if _, ok := l.Take(ctx, "u"); !ok {
		t.Fatal("refused while Redis is up")
	}
	rd.Stop()
	for i := range 50 {
		if _, ok := l.Take(ctx, "u"); !ok {
			t.Fatalf("request %d refused while Redis is down: the shared layer must not refuse service", i)
		}
	}
	if rep.r.Up() || testutil.ToFloat64(rep.m.up) != 0 {
		t.Fatal("Redis not marked down")
	}
	if got := testutil.ToFloat64(rep.m.fallbacks.WithLabelValues(featureRateLimit)); got < 50 {
		t.Fatalf("rate-limit fallbacks %v, want at least 50", got)
	}
	if n := rep.logs.FilterLevelExact(zapcore.WarnLevel).Len(); n != 1 {
		t.Fatalf("%d warning lines for one outage, want 1", n)
	}

	rd.Start(t)
	deadline := time.Now().Add(5 * time.Second)
	for !rep.r.Up() {
		if time.Now().After(deadline) {
			t.Fatal("Redis not marked up again within 5s of its restart")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if testutil.ToFloat64(rep.m.up) != 1 || testutil.ToFloat64(rep.m.transitions[1]) != 1 {
		t.Fatal("recovery not visible in lbauthz_shared_redis_up and its transitions")
	}
	before := testutil.ToFloat64(rep.m.fallbacks.WithLabelValues(featureRateLimit))
	l.Take(ctx, "u")
	if after := testutil.ToFloat64(rep.m.fallbacks.WithLabelValues(featureRateLimit)); after != before {
		t.Fatal("the limiter still answers locally after the recovery")
	}
	if rep.logs.FilterMessageSnippet("available again").Len() != 1 {
		t.Fatal("no log line for the recovery")
	}

	// The subscription came back too: a revocation from another replica
	// arrives.
	other := newReplica(t, rd.Addr).r
	deadline = time.Now().Add(5 * time.Second)
	for !revs.UserRevoked("after-restart") {
		if time.Now().After(deadline) {
			t.Fatal("revocations not received after Redis restarted")
		}
		_ = other.Revoke(ctx, Revocation{User: "after-restart", Until: time.Now().Add(time.Minute)})
		time.Sleep(200 * time.Millisecond)
	}
}

func waitSubscribed(t *testing.T, v *Revocations) {
	t.Helper()
	select {
	case <-v.Subscribed():
	case <-time.After(5 * time.Second):
		t.Fatal("not subscribed within 5s")
	}
}
