package main

import (
	"fmt"
	"log"
	"math"
	"slices"
	"time"
)

// settings are the durations and rates of a run.
type settings struct {
	Rounds    int           `json:"rounds"`
	Warmup    time.Duration `json:"-"`
	Sat       time.Duration `json:"-"`
	Fixed     time.Duration `json:"-"`
	GRPCRate  int           `json:"grpc_rate_cap"`
	HTTPRate  int           `json:"http_rate_cap"`
	RateShare float64       `json:"rate_share"`
	Sessions  int           `json:"sessions"`

	WarmupS float64 `json:"warmup_s"`
	SatS    float64 `json:"saturation_s"`
	FixedS  float64 `json:"fixed_rate_s"`
}

// benchCase is one row of a group: a server under test (whose CPU time and
// memory are read) and the load that drives it.
type benchCase struct {
	name, door string
	srv        *server // nil: nothing of ours under test (the direct call)
	sat        func(d time.Duration) (loadResult, error)
	fixed      func(rate int, d time.Duration) (loadResult, error)
	res        *caseResult
	// base is the baseline this case is paired with: the same requests
	// through the same front (an nginx of the same shape), answered by the
	// floor. Nil: the group's baseline, its first case.
	base *benchCase
}

// run is one run of a load generator against a case, with the server's CPU
// time per 1,000 requests and its CPU use (CPU seconds per second: 1 is a
// whole CPU).
type run struct {
	Load     loadResult `json:"load"`
	CPUms1k  float64    `json:"cpu_ms_per_1k,omitempty"`
	CPUShare float64    `json:"cpu_share,omitempty"`
}

// pair is a case's run and the baseline's run just before it: their ratio
// is taken while the rest of the machine is as busy for both.
type pair struct {
	Case run `json:"case"`
	Base run `json:"baseline"`
}

// caseResult is a case's figures: the best of its runs, and ratios to the
// baseline: the median of the ratios of its pairs of runs.
type caseResult struct {
	Name   string `json:"name"`
	Door   string `json:"door"`
	Status string `json:"status"` // "ok", "pending: why", "failed: why"

	RPS          float64 `json:"rps_saturation"`
	SatCPUms1k   float64 `json:"cpu_ms_per_1k_saturation"`
	SatCPUShare  float64 `json:"cpu_share_saturation"`
	Rate         int     `json:"fixed_rate"`
	P50ms        float64 `json:"p50_ms"`
	P99ms        float64 `json:"p99_ms"`
	FixedCPUms1k float64 `json:"cpu_ms_per_1k_fixed_rate"`
	PeakRSSMB    float64 `json:"peak_rss_mb"`
	Errors       int64   `json:"errors"`
	// FixedStatus says why a case has no fixed-rate figures ("" when it has).
	FixedStatus string `json:"fixed_rate_status,omitempty"`

	// Against the baseline (not set on the baseline itself).
	RPSRatio   float64 `json:"rps_ratio,omitempty"`
	CPURatio   float64 `json:"cpu_ratio,omitempty"`
	P99Ratio   float64 `json:"p99_ratio,omitempty"`
	AddedP50ms float64 `json:"added_p50_ms,omitempty"`
	AddedP99ms float64 `json:"added_p99_ms,omitempty"`
	// The baseline's best among the runs paired with this case, which the
	// differences are taken against.
	Base *caseResult `json:"paired_baseline,omitempty"`
	// BaseName names the baseline when it is not the group's first case.
	BaseName string `json:"paired_baseline_name,omitempty"`

	Sat   []pair `json:"saturation_runs,omitempty"`
	Fixed []pair `json:"fixed_rate_runs,omitempty"`
	// The baseline's own runs.
	Runs []run `json:"runs,omitempty"`
}

func (r *caseResult) ok() bool { return r.Status == "ok" }

// group is a set of cases measured side by side against the first one, the
// baseline.
type group struct {
	ID       string        `json:"id"`
	Title    string        `json:"title"`
	Baseline string        `json:"baseline"`
	Note     string        `json:"note,omitempty"`
	Cases    []*caseResult `json:"cases"`
}

func (g *group) add(name, door string) *caseResult {
	r := &caseResult{Name: name, Door: door, Status: "ok"}
	g.Cases = append(g.Cases, r)
	return r
}

func (g *group) find(name string) *caseResult {
	for _, c := range g.Cases {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// measure runs fn and returns what it measured with the server's CPU time.
func measure(srv *server, fn func() (loadResult, error)) (run, error) {
	var before float64
	if srv != nil {
		before, _ = cpuSeconds(srv.pid())
	}
	t0 := time.Now()
	r, err := fn()
	wall := time.Since(t0).Seconds()
	switch {
	case err != nil:
	case r.Requests == 0:
		err = fmt.Errorf("no request was answered")
	case r.Errors > r.Requests/100:
		err = fmt.Errorf("%d of %d requests failed", r.Errors, r.Requests)
	}
	if err != nil || srv == nil || r.Requests == 0 {
		return run{Load: r}, err
	}
	after, err := cpuSeconds(srv.pid())
	if err != nil {
		return run{Load: r}, err
	}
	cpu := after - before
	return run{Load: r, CPUms1k: cpu * 1e6 / float64(r.Requests), CPUShare: cpu / wall}, nil
}

// runCases measures the cases against the first, the baseline (or each
// against its own base). In each round, every case runs at saturation next
// to a run of its baseline, then the same at the fixed rate: the machine is
// shared, and whatever else it does at a moment weighs on both runs of a
// pair alike. The order within a pair alternates from round to round, so
// that a drift of the machine does not always favour the same side. rateFor
// picks the fixed rate from the first round's saturation figures.
func runCases(cases []*benchCase, st settings, rateFor func([]*benchCase) int) {
	if len(cases) == 0 {
		return
	}
	base := cases[0]
	baseOf := func(c *benchCase) *benchCase {
		if c.base != nil {
			return c.base
		}
		return base
	}
	fail := func(c *benchCase, what string, err error) {
		c.res.Status = fmt.Sprintf("failed: %s: %v", what, err)
		log.Printf("  %s: %s", c.name, c.res.Status)
	}
	warmed := map[*benchCase]bool{}
	for _, c := range cases {
		for _, w := range []*benchCase{c.base, c} {
			if w != nil && w.res.ok() && !warmed[w] {
				warmed[w] = true
				if _, err := w.sat(st.Warmup); err != nil {
					fail(w, "warm-up", err)
				}
			}
		}
		if c.base != nil && !c.base.res.ok() && c.res.ok() {
			c.res.Status = "pending: its baseline (" + c.base.name + ") did not run"
		}
	}
	if !base.res.ok() {
		for _, c := range cases[1:] {
			if c.res.ok() {
				c.res.Status = "pending: the baseline did not run"
			}
		}
		return
	}
	others := func() []*benchCase {
		var out []*benchCase
		for _, c := range cases[1:] {
			if c.res.ok() && base.res.ok() {
				out = append(out, c)
			}
		}
		return out
	}
	// phase runs one pair per case: the baseline, then the case. A pair
	// that fails (errors, often a stall of the shared machine that runs
	// past a load generator's timeout) is tried once more. A fixed-rate pair
	// that fails again leaves the case's saturation figures standing: only
	// its latency figures are then missing (FixedStatus says why).
	phase := func(name string, round int, fixedRate bool, do func(*benchCase) (loadResult, error), add func(*caseResult, pair)) {
		for _, c := range others() {
			cb := baseOf(c)
			var b, r run
			var err error
			measureBase := func() error {
				var err error
				if b, err = measure(cb.srv, func() (loadResult, error) { return do(cb) }); err != nil {
					return fmt.Errorf("baseline: %w", err)
				}
				return nil
			}
			measureCase := func() error {
				var err error
				r, err = measure(c.srv, func() (loadResult, error) { return do(c) })
				return err
			}
			first, second := measureBase, measureCase
			if round%2 == 0 {
				first, second = measureCase, measureBase
			}
			for try := 1; try <= 2; try++ {
				if err = first(); err == nil {
					if err = second(); err == nil {
						break
					}
				}
				if try == 1 {
					log.Printf("  %-12s %-44s failed (%v); once more", name, c.name, err)
				}
			}
			if err != nil && fixedRate {
				c.res.FixedStatus = fmt.Sprintf("failed: %s: %v", name, err)
				log.Printf("  %s: %s", c.name, c.res.FixedStatus)
				continue
			}
			if err != nil {
				fail(c, name, err)
				continue
			}
			cb.res.Runs = append(cb.res.Runs, b)
			add(c.res, pair{Case: r, Base: b})
			log.Printf("  %-12s %-44s %s", name, c.name, describe(r, b))
		}
	}
	rate := 0
	for round := 1; round <= st.Rounds; round++ {
		log.Printf(" round %d", round)
		phase("saturation", round, false, func(c *benchCase) (loadResult, error) { return c.sat(st.Sat) },
			func(r *caseResult, p pair) { r.Sat = append(r.Sat, p) })
		if rate == 0 {
			rate = rateFor(cases)
		}
		phase(fmt.Sprintf("%d req/s", rate), round, true, func(c *benchCase) (loadResult, error) { return c.fixed(rate, st.Fixed) },
			func(r *caseResult, p pair) { r.Fixed = append(r.Fixed, p) })
	}
	if !base.res.ok() {
		for _, c := range cases[1:] {
			if c.res.ok() {
				c.res.Status = "pending: the baseline failed"
			}
		}
	}
	for _, c := range cases {
		c.res.Rate = rate
		summarize(c.res, c == base)
		if c.base != nil {
			c.res.BaseName = c.base.name
		}
		if c.srv != nil {
			c.res.PeakRSSMB, _ = memMB(c.srv.pid(), "VmHWM")
		}
	}
	// The baseline's runs are the ones paired with the cases that have no
	// base of their own.
	var sat, fixed []run
	for _, c := range cases[1:] {
		if c.base != nil {
			continue
		}
		for _, p := range c.res.Sat {
			sat = append(sat, p.Base)
		}
		for _, p := range c.res.Fixed {
			fixed = append(fixed, p.Base)
		}
	}
	summarizeRuns(base.res, sat, fixed)
}

func describe(r, b run) string {
	if r.Load.P50ms == 0 {
		return fmt.Sprintf("%8.0f req/s (baseline %8.0f)  cpu %5.1f ms/1k (baseline %5.1f)  cpu share %.2f (baseline %.2f)",
			r.Load.RPS, b.Load.RPS, r.CPUms1k, b.CPUms1k, r.CPUShare, b.CPUShare)
	}
	return fmt.Sprintf("p50 %.3f ms (baseline %.3f)  p99 %.3f ms (baseline %.3f)  cpu %5.1f ms/1k",
		r.Load.P50ms, b.Load.P50ms, r.Load.P99ms, b.Load.P99ms, r.CPUms1k)
}

// summarize sets a case's figures to the best of its runs (the rest of a
// shared machine only ever slows a run down: fewer requests per second,
// more CPU time per request, later answers, so the best run is the closest
// to what the server itself costs), and its ratios to the median of the
// ratios of its pairs of runs: each pair ran back to back, under what the
// machine was doing then, and the median leaves out a pair where one side
// was unlucky. The differences (added latency) are taken between the best
// runs.
func summarize(r *caseResult, isBase bool) {
	if !r.ok() || isBase {
		return
	}
	var sat, fixed, baseSat, baseFixed []run
	for _, p := range r.Sat {
		sat, baseSat = append(sat, p.Case), append(baseSat, p.Base)
	}
	for _, p := range r.Fixed {
		fixed, baseFixed = append(fixed, p.Case), append(baseFixed, p.Base)
	}
	summarizeRuns(r, sat, fixed)
	var b caseResult
	b.Status = "ok"
	summarizeRuns(&b, baseSat, baseFixed)
	b.Name, b.Errors = "baseline, paired runs", 0
	r.Base = &b
	r.RPSRatio = medianRatio(r.Sat, func(x run) float64 { return x.Load.RPS })
	r.CPURatio = medianRatio(r.Sat, func(x run) float64 { return x.CPUms1k })
	r.P99Ratio = medianRatio(r.Fixed, func(x run) float64 { return x.Load.P99ms })
	r.AddedP50ms = r.P50ms - b.P50ms
	r.AddedP99ms = r.P99ms - b.P99ms
}

// medianRatio is the median, over the pairs, of the case's figure divided
// by its baseline's (0 when no pair has both).
func medianRatio(pairs []pair, f func(run) float64) float64 {
	var rs []float64
	for _, p := range pairs {
		if b := f(p.Base); b > 0 {
			rs = append(rs, f(p.Case)/b)
		}
	}
	return median(rs)
}

// median is the middle value, or the mean of the two middle ones.
func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	v = slices.Clone(v)
	slices.Sort(v)
	n := len(v)
	if n%2 == 1 {
		return v[n/2]
	}
	return (v[n/2-1] + v[n/2]) / 2
}

func summarizeRuns(r *caseResult, sat, fixed []run) {
	if !r.ok() {
		return
	}
	best := func(runs []run, f func(run) float64, better func(a, b float64) bool) float64 {
		var v float64
		for i, x := range runs {
			if y := f(x); i == 0 || better(y, v) {
				v = y
			}
		}
		return v
	}
	higher := func(a, b float64) bool { return a > b }
	lower := func(a, b float64) bool { return a < b }
	r.RPS = best(sat, func(x run) float64 { return x.Load.RPS }, higher)
	r.SatCPUms1k = best(sat, func(x run) float64 { return x.CPUms1k }, lower)
	r.SatCPUShare = best(sat, func(x run) float64 { return x.CPUShare }, higher)
	r.P50ms = best(fixed, func(x run) float64 { return x.Load.P50ms }, lower)
	r.P99ms = best(fixed, func(x run) float64 { return x.Load.P99ms }, lower)
	r.FixedCPUms1k = best(fixed, func(x run) float64 { return x.CPUms1k }, lower)
	r.Errors = 0
	for _, x := range append(append([]run(nil), sat...), fixed...) {
		r.Errors += x.Load.Errors
	}
}

// shareOfSlowest is the fixed rate: share of the slowest case's best
// saturation rate in the first round, at most limit, rounded down to a
// round number.
func shareOfSlowest(share float64, limit int) func([]*benchCase) int {
	return func(cases []*benchCase) int {
		slowest, baseBest := math.Inf(1), 0.0
		for _, c := range cases {
			for _, p := range c.res.Sat {
				slowest = min(slowest, p.Case.Load.RPS)
				baseBest = max(baseBest, p.Base.Load.RPS)
			}
		}
		if baseBest > 0 {
			slowest = min(slowest, baseBest)
		}
		rate := float64(limit)
		if !math.IsInf(slowest, 1) {
			rate = min(rate, share*slowest)
		}
		step := 10.0
		if rate >= 1000 {
			step = 100
		}
		return max(10, int(rate/step)*int(step))
	}
}
