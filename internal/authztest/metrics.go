package authztest

import (
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// Samples are the values of a scrape of /metrics, keyed by the series as
// Prometheus writes it with its labels sorted:
// `lbauthz_decisions_total{door="envoy_grpc",outcome="token_issued"}`.
// A histogram gives its _count and _sum series.
type Samples map[string]float64

// Get returns the value of a series (0 when absent). labels are name,
// value pairs.
func (s Samples) Get(name string, labels ...string) float64 {
	return s[seriesKey(name, labels)]
}

// Scrape reads url (a /metrics endpoint) in Prometheus' text format.
func Scrape(t testing.TB, url string) Samples {
	t.Helper()
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		t.Fatalf("scraping %s: %v", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("scraping %s: status %d", url, resp.StatusCode)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	families, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("scraping %s: %v", url, err)
	}
	out := Samples{}
	for name, f := range families {
		for _, m := range f.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, l.GetName(), l.GetValue())
			}
			switch f.GetType() {
			case dto.MetricType_COUNTER:
				out[seriesKey(name, labels)] = m.GetCounter().GetValue()
			case dto.MetricType_GAUGE:
				out[seriesKey(name, labels)] = m.GetGauge().GetValue()
			case dto.MetricType_HISTOGRAM:
				out[seriesKey(name+"_count", labels)] = float64(m.GetHistogram().GetSampleCount())
				out[seriesKey(name+"_sum", labels)] = m.GetHistogram().GetSampleSum()
			case dto.MetricType_UNTYPED:
				out[seriesKey(name, labels)] = m.GetUntyped().GetValue()
			}
		}
	}
	return out
}

func seriesKey(name string, labels []string) string {
	if len(labels) == 0 {
		return name
	}
	pairs := make([]string, 0, len(labels)/2)
	for i := 0; i+1 < len(labels); i += 2 {
		pairs = append(pairs, labels[i]+`="`+labels[i+1]+`"`)
	}
	sort.Strings(pairs)
	return name + "{" + strings.Join(pairs, ",") + "}"
}
