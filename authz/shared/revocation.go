package shared

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"
)

// A Revocation refuses a user, or one session, until it expires.
type Revocation struct {
	// User is the revoked user id; empty when a session is revoked.
	User string
	// SessionHash is SessionHash of the revoked session's cookie value;
	// empty when a user is revoked.
	SessionHash string
	// Until is when the revocation ends.
	Until time.Time
}

// SessionHash returns the name of a session in revocations and audit
// records: a SHA-256 of its cookie value, the same in every replica. It
// cannot be turned back into the cookie.
func SessionHash(cookieValue string) string { return hashKey("session\x00" + cookieValue) }

// ValidSessionHash reports whether h has the form of a SessionHash.
func ValidSessionHash(h string) bool {
	if len(h) != 32 {
		return false
	}
	for i := 0; i < len(h); i++ {
		if c := h[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// NewRevocation returns the revocation of a user id or of a session (by its
// SessionHash) for d from now: what `lbauthz sessions revoke` and the admin
// listener publish. It refuses both or neither, a malformed hash (a cookie
// given by mistake is not repeated) and a d that is not positive.
func NewRevocation(user, sessionHash string, d time.Duration, now time.Time) (Revocation, error) {
	switch {
	case (user == "") == (sessionHash == ""):
		return Revocation{}, errors.New("name exactly one of a user id or a session cookie hash")
	case sessionHash != "" && !ValidSessionHash(sessionHash):
		return Revocation{}, errors.New("a session cookie hash is 32 lowercase hex digits (the session field of an audit record), not a cookie")
	case d <= 0:
		return Revocation{}, errors.New("the duration must be positive")
	}
	return Revocation{User: user, SessionHash: sessionHash, Until: now.Add(d)}, nil
}

// String names the revocation for a person: "user ID" or "session HASH".
func (v Revocation) String() string {
	if v.SessionHash != "" {
		return "session " + v.SessionHash
	}
	return "user " + v.User
}

// member is the revocation's name in the sorted set and the channel.
func (v Revocation) member() (string, error) {
	switch {
	case v.User != "" && v.SessionHash == "":
		return "user " + v.User, nil
	case v.SessionHash != "" && v.User == "" && ValidSessionHash(v.SessionHash):
		return "session " + v.SessionHash, nil
	}
	return "", errors.New("a revocation names either a user id or a session hash (32 lowercase hex digits)")
}

// Revoke publishes a revocation: every subscribed replica refuses it within
// a second, and a replica that subscribes later (a new pod) reads it from
// the set of revocations until it ends. It returns an error when Redis did
// not take it: the revocation must then be tried again.
func (r *Redis) Revoke(ctx context.Context, v Revocation) error {
	m, err := v.member()
	if err != nil {
		return err
	}
	if !v.Until.After(time.Now()) {
		return errors.New("the revocation has already ended")
	}
	cctx, cancel := r.ctx(ctx)
	defer cancel()
	err = revoke.Run(cctx, r.client, []string{r.key("revoked")}, v.Until.UnixMilli(), m, r.key("revocations")).Err()
	if err != nil {
		return redisError(err)
	}
	return nil
}

// revoke adds a revocation to the set (KEYS[1]) and publishes it, in one
// round trip: the set first, so that a replica subscribing meanwhile reads
// it or gets the message. The set's key ends with its last revocation.
// ARGV: until (Unix ms), member, channel.
var revoke = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZADD', KEYS[1], 'GT', ARGV[1], ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
if last[2] then redis.call('PEXPIREAT', KEYS[1], last[2]) end
redis.call('PUBLISH', ARGV[3], ARGV[1] .. ' ' .. ARGV[2])
return 1
`)

// Revocations are the revocations in force, as this replica knows them.
// Run keeps them current; UserRevoked and SessionRevoked answer from memory
// (no Redis round trip), so they may be asked on every request.
type Revocations struct {
	r        *Redis
	onRevoke func(Revocation)

	mu       sync.RWMutex
	users    map[string]time.Time
	sessions map[string]time.Time
	nUsers   atomic.Int32
	nSess    atomic.Int32

	subscribed chan struct{}
	once       sync.Once
}

// NewRevocations returns the revocations of r. onRevoke, if set, is called
// for each revocation received (to drop a cached identity at once); it must
// not block.
func (r *Redis) NewRevocations(onRevoke func(Revocation)) *Revocations {
	return &Revocations{r: r, onRevoke: onRevoke, users: map[string]time.Time{}, sessions: map[string]time.Time{},
		subscribed: make(chan struct{})}
}

// Subscribed is closed once Run has subscribed and read the revocations in
// force the first time.
func (v *Revocations) Subscribed() <-chan struct{} { return v.subscribed }

// UserRevoked reports whether the user id is revoked.
func (v *Revocations) UserRevoked(id string) bool {
	if v.nUsers.Load() == 0 {
		return false
	}
	return v.revoked(v.users, id)
}

// SessionRevoked reports whether the session of this cookie value is
// revoked. It hashes the value only while some session is revoked.
func (v *Revocations) SessionRevoked(cookieValue string) bool {
	if v.nSess.Load() == 0 {
		return false
	}
	return v.revoked(v.sessions, SessionHash(cookieValue))
}

func (v *Revocations) revoked(m map[string]time.Time, k string) bool {
	v.mu.RLock()
	until, ok := m[k]
	v.mu.RUnlock()
	return ok && time.Now().Before(until)
}

// Run subscribes to the revocations and keeps them until ctx ends. Each
// time the subscription is made (the first time, and after every reconnect)
// it reads the set of revocations in force, so that none published while
// the connection was down is missed.
func (v *Revocations) Run(ctx context.Context) {
	ps := v.r.client.Subscribe(ctx, v.r.key("revocations"))
	defer ps.Close()
	prune := time.NewTicker(time.Minute)
	defer prune.Stop()
	for ctx.Err() == nil {
		msg, err := ps.ReceiveTimeout(ctx, v.r.probe)
		if err != nil {
			select {
			case <-prune.C:
				v.prune()
			default:
			}
			if isTimeout(err) {
				// Ask for a pong, so that a connection Redis closed is
				// noticed (and made again) without waiting for a message.
				_ = ps.Ping(ctx)
				continue
			}
			if ctx.Err() == nil {
				v.r.failed(featureRevocation, err)
				// go-redis reconnects on the next receive; wait so that a
				// Redis that refuses is not asked in a tight loop.
				select {
				case <-ctx.Done():
				case <-time.After(v.r.probe):
				}
			}
			continue
		}
		switch m := msg.(type) {
		case *redis.Subscription:
			if m.Kind == "subscribe" {
				v.load(ctx)
			}
		case *redis.Message:
			if rev, ok := parseMessage(m.Payload); ok {
				v.add(rev)
			} else {
				v.r.log.Warn("ignored a malformed revocation message", zap.Int("bytes", len(m.Payload)))
			}
		}
	}
}

func isTimeout(err error) bool {
	var ne interface{ Timeout() bool }
	return errors.As(err, &ne) && ne.Timeout()
}

// load reads the revocations in force from the set.
func (v *Revocations) load(ctx context.Context) {
	cctx, cancel := context.WithTimeout(ctx, 10*v.r.timeout)
	defer cancel()
	now := strconv.FormatInt(time.Now().UnixMilli(), 10)
	zs, err := v.r.client.ZRangeByScoreWithScores(cctx, v.r.key("revoked"),
		&redis.ZRangeBy{Min: "(" + now, Max: "+inf"}).Result()
	if err != nil {
		v.r.failed(featureRevocation, err)
		return
	}
	for _, z := range zs {
		s, _ := z.Member.(string)
		if rev, ok := parseMember(s, int64(z.Score)); ok {
			v.add(rev)
		}
	}
	v.once.Do(func() { close(v.subscribed) })
}

func (v *Revocations) add(rev Revocation) {
	if !rev.Until.After(time.Now()) {
		return
	}
	v.mu.Lock()
	if rev.User != "" {
		if v.users[rev.User].Before(rev.Until) {
			v.users[rev.User] = rev.Until
		}
		v.nUsers.Store(int32(len(v.users)))
	} else {
		if v.sessions[rev.SessionHash].Before(rev.Until) {
			v.sessions[rev.SessionHash] = rev.Until
		}
		v.nSess.Store(int32(len(v.sessions)))
	}
	v.mu.Unlock()
	if v.onRevoke != nil {
		v.onRevoke(rev)
	}
}

func (v *Revocations) prune() {
	now := time.Now()
	v.mu.Lock()
	defer v.mu.Unlock()
	for k, until := range v.users {
		if !now.Before(until) {
			delete(v.users, k)
		}
	}
	for k, until := range v.sessions {
		if !now.Before(until) {
			delete(v.sessions, k)
		}
	}
	v.nUsers.Store(int32(len(v.users)))
	v.nSess.Store(int32(len(v.sessions)))
}

// parseMessage reads "UNTIL_MS user ID" or "UNTIL_MS session HASH".
func parseMessage(s string) (Revocation, bool) {
	ms, rest, ok := strings.Cut(s, " ")
	if !ok {
		return Revocation{}, false
	}
	until, err := strconv.ParseInt(ms, 10, 64)
	if err != nil {
		return Revocation{}, false
	}
	return parseMember(rest, until)
}

func parseMember(s string, untilMS int64) (Revocation, bool) {
	kind, subject, ok := strings.Cut(s, " ")
	if !ok || subject == "" {
		return Revocation{}, false
	}
	rev := Revocation{Until: time.UnixMilli(untilMS)}
	switch kind {
	case "user":
		rev.User = subject
	case "session":
		if !ValidSessionHash(subject) {
			return Revocation{}, false
		}
		rev.SessionHash = subject
	default:
		return Revocation{}, false
	}
	return rev, true
}
