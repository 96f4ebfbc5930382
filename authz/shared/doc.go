// Package shared keeps the state that the replicas of lbauthz must agree on
// in Redis: rate-limit budgets (Limiter), revocations of users and sessions
// (Revocations) and an identity cache in front of the session store
// (CachedStore). Single servers, Redis Cluster and Sentinel work alike, through
// go-redis' UniversalClient.
//
// The shared layer is never needed to answer: when Redis fails, each part
// falls back to what one process can do alone (a local budget, the local
// cache, the revocations already received), Redis is marked down with one
// log line and a metric, and a probe brings it back when Redis answers
// again. It is not a session store of the app (see authz/session), and it is
// never asked on the pass-through path of a cached session.
package shared
