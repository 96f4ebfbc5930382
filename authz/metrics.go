package authz

import (
	"strconv"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Metrics are the sidecar's Prometheus metrics. Make one per process and
// give it to every engine (WithMetrics): the engines of successive configs
// report into the same series, so a reload resets nothing.
//
// Labels take a bounded set of values (doors, outcomes, endpoints, statuses,
// store kinds); never a user, session or room id. The series of a decision
// are resolved when the Metrics are made, so that counting one does not
// allocate.
type Metrics struct {
	decisions [numDoors][numOutcomes]prometheus.Counter
	latency   [numDoors][numPathKinds]prometheus.Observer // [door][pathKind]

	liveblocksCalls   *prometheus.CounterVec
	liveblocksLatency [numEndpoints]prometheus.Observer

	storeLookups *prometheus.CounterVec
	storeLatency *prometheus.HistogramVec
	cache        [2]prometheus.Counter // miss, hit

	rateLimited [numLimits]prometheus.Counter

	reloads          [2]prometheus.Counter // failure, success
	lastReloadOK     prometheus.Gauge
	lastReloadSecond prometheus.Gauge

	engines atomic.Pointer[EngineSource]
}

// The doors, as the door label says them. A Request.Door that is none of
// these counts as "other".
var doorNames = [...]string{"envoy_grpc", "envoy_http", "nginx", "forward", "http_direct", "other"}

const numDoors = len(doorNames)

func doorIndex(door string) int {
	for i, n := range doorNames[:numDoors-1] {
		if n == door {
			return i
		}
	}
	return numDoors - 1
}

// latencyBuckets span a cached pass-through (tens of microseconds) to a
// Liveblocks call at its timeout (seconds).
var latencyBuckets = []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

// NewMetrics makes the metrics and registers them, with the Go runtime's and
// the process's, in reg. It panics if reg already holds metrics of the same
// names. version is reported by lbauthz_build_info.
func NewMetrics(reg prometheus.Registerer, version string) *Metrics {
	m := &Metrics{}
	decisions := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "lbauthz_decisions_total",
		Help: "Decisions, by door and outcome (allowed_identity, allowed_anonymous, token_issued, unauthorized, forbidden, unavailable, rate_limited, cross_origin, ...).",
	}, []string{"door", "outcome"})
	latency := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "lbauthz_decision_duration_seconds",
		Help:    "Time to decide, by door and by path: auth (the token endpoint, Liveblocks calls included), directory (the resolvers' endpoints) or pass_through.",
		Buckets: latencyBuckets,
	}, []string{"door", "path"})
	for d, door := range doorNames {
		for o := 1; o < numOutcomes; o++ {
			m.decisions[d][o] = decisions.WithLabelValues(door, Outcome(o).String())
		}
		m.latency[d][passThroughPath] = latency.WithLabelValues(door, "pass_through")
		m.latency[d][authPath] = latency.WithLabelValues(door, "auth")
		m.latency[d][directoryPath] = latency.WithLabelValues(door, "directory")
	}

	m.liveblocksCalls = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "lbauthz_liveblocks_requests_total",
		Help: `Calls to the Liveblocks REST API, by endpoint and HTTP status ("error" when no answer came).`,
	}, []string{"endpoint", "status"})
	lbLatency := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "lbauthz_liveblocks_request_duration_seconds",
		Help:    "Time until Liveblocks' answer (its headers), by endpoint.",
		Buckets: latencyBuckets,
	}, []string{"endpoint"})
	for i, ep := range endpointNames {
		m.liveblocksLatency[i] = lbLatency.WithLabelValues(ep)
	}

	m.storeLookups = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "lbauthz_session_lookups_total",
		Help: "Session store lookups (cache misses), by store kind and result (valid, invalid, unavailable).",
	}, []string{"store", "result"})
	m.storeLatency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "lbauthz_session_lookup_duration_seconds",
		Help:    "Time of a session store lookup, by store kind.",
		Buckets: latencyBuckets,
	}, []string{"store"})
	cache := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "lbauthz_session_cache_requests_total",
		Help: "Session cache lookups, by result (hit, miss).",
	}, []string{"result"})
	m.cache[0], m.cache[1] = cache.WithLabelValues("miss"), cache.WithLabelValues("hit")
	cacheEntries := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "lbauthz_session_cache_entries",
		Help: "Sessions in the cache of the config in use (an estimate).",
	}, m.cacheEntries)

	limited := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "lbauthz_rate_limited_total",
		Help: "Token requests refused with 429, by the limit that refused them (user, address).",
	}, []string{"limit"})
	for i, n := range limitNames {
		m.rateLimited[i] = limited.WithLabelValues(n)
	}

	reloads := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "lbauthz_config_reloads_total",
		Help: "Config reloads, by result: success, or failure (the config was refused and the previous one kept serving).",
	}, []string{"result"})
	m.reloads[0], m.reloads[1] = reloads.WithLabelValues("failure"), reloads.WithLabelValues("success")
	m.lastReloadOK = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "lbauthz_config_last_reload_successful",
		Help: "1 when the last config reload succeeded (or none was tried), 0 when it was refused.",
	})
	m.lastReloadOK.Set(1)
	m.lastReloadSecond = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "lbauthz_config_last_reload_success_timestamp_seconds",
		Help: "When the config in use was loaded (Unix time).",
	})
	m.lastReloadSecond.SetToCurrentTime()
	build := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "lbauthz_build_info",
		Help: "Always 1; the version label says which lbauthz is running.",
	}, []string{"version"})
	build.WithLabelValues(version).Set(1)

	reg.MustRegister(decisions, latency, m.liveblocksCalls, lbLatency, m.storeLookups, m.storeLatency,
		cache, cacheEntries, limited, reloads, m.lastReloadOK, m.lastReloadSecond, build,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// ReportEngines makes lbauthz_session_cache_entries report the cache of the
// engine in use.
func (m *Metrics) ReportEngines(src EngineSource) { m.engines.Store(&src) }

func (m *Metrics) cacheEntries() float64 {
	src := m.engines.Load()
	if src == nil {
		return 0
	}
	e := (*src).Engine()
	if e == nil {
		return 0
	}
	return float64(e.Sessions().CacheSize())
}

// ReloadResult counts a config reload, and whether it was taken.
func (m *Metrics) ReloadResult(ok bool) {
	if ok {
		m.reloads[1].Inc()
		m.lastReloadOK.Set(1)
		m.lastReloadSecond.SetToCurrentTime()
		return
	}
	m.reloads[0].Inc()
	m.lastReloadOK.Set(0)
}

// decision counts one decision. It does not allocate.
func (m *Metrics) decision(door string, o Outcome, kind pathKind, elapsed time.Duration) {
	d := doorIndex(door)
	if int(o) > 0 && int(o) < numOutcomes {
		m.decisions[d][o].Inc()
	}
	m.latency[d][kind].Observe(elapsed.Seconds())
}

// CacheLookup counts a session cache lookup (session.CacheOptions.Observe).
func (m *Metrics) CacheLookup(hit bool) {
	if hit {
		m.cache[1].Inc()
	} else {
		m.cache[0].Inc()
	}
}

// liveblocksCall counts a call to Liveblocks; status 0 means no answer.
func (m *Metrics) liveblocksCall(ep endpoint, status int, elapsed time.Duration) {
	s := "error"
	if status >= 100 && status <= 599 {
		s = strconv.Itoa(status)
	} else if status != 0 {
		s = "other"
	}
	m.liveblocksCalls.WithLabelValues(endpointNames[ep], s).Inc()
	m.liveblocksLatency[ep].Observe(elapsed.Seconds())
}
