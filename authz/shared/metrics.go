package shared

import "github.com/prometheus/client_golang/prometheus"

// Metrics tell whether the shared layer is in use. Make one per process; a
// nil *Metrics counts nothing.
type Metrics struct {
	up          prometheus.Gauge
	transitions [2]prometheus.Counter // down, up
	fallbacks   *prometheus.CounterVec
}

// The features, as the feature label says them.
const (
	featureRateLimit  = "rate_limit"
	featureCache      = "cache"
	featureRevocation = "revocation"
)

// NewMetrics makes the metrics and registers them in reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{}
	m.up = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "lbauthz_shared_redis_up",
		Help: "1 while the shared Redis is in use, 0 while it is marked down and local limits and cache answer.",
	})
	tr := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "lbauthz_shared_redis_transitions_total",
		Help: "Times the shared Redis was marked down or up again, by the state entered.",
	}, []string{"state"})
	m.transitions[0], m.transitions[1] = tr.WithLabelValues("down"), tr.WithLabelValues("up")
	m.fallbacks = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "lbauthz_shared_fallbacks_total",
		Help: "Operations answered from local state because the shared Redis failed or was down, by feature (rate_limit, cache, revocation).",
	}, []string{"feature"})
	for _, f := range []string{featureRateLimit, featureCache, featureRevocation} {
		m.fallbacks.WithLabelValues(f)
	}
	reg.MustRegister(m.up, tr, m.fallbacks)
	return m
}

func (m *Metrics) setUp(up bool) {
	if m == nil {
		return
	}
	if up {
		m.up.Set(1)
		m.transitions[1].Inc()
		return
	}
	m.up.Set(0)
	m.transitions[0].Inc()
}

func (m *Metrics) fallback(feature string) {
	if m != nil {
		m.fallbacks.WithLabelValues(feature).Inc()
	}
}
