package main

import (
	"fmt"
	"math"
	"strings"
)

// report is what a run writes: latest.json holds all of it, latest.md the
// tables.
type report struct {
	Date     string   `json:"date"`
	Command  string   `json:"command"`
	Machine  machine  `json:"machine"`
	Settings settings `json:"settings"`
	Groups   []*group `json:"groups"`
	Memory   *memory  `json:"memory,omitempty"`
	Targets  []target `json:"targets"`
}

type machine struct {
	CPUs      int    `json:"cpus"`
	CPUModel  string `json:"cpu_model"`
	Pinning   string `json:"pinning"`
	GoVersion string `json:"go_version"`
	Kernel    string `json:"kernel"`
	LoadAvg   string `json:"load_average_at_start"`
}

// target is one goal of the issue, with the ratio that decides it.
type target struct {
	Name     string  `json:"name"`
	Measured string  `json:"measured"`
	Value    float64 `json:"value"`
	Limit    string  `json:"limit"`
	Status   string  `json:"status"` // "met", "not met", "pending: why"
}

func (r *report) group(id string) *group {
	for _, g := range r.Groups {
		if g.ID == id {
			return g
		}
	}
	return nil
}

// evaluate sets the targets from the figures.
func (r *report) evaluate() {
	var ts []target
	pending := func(name, limit, why string) {
		ts = append(ts, target{Name: name, Limit: limit, Status: "pending: " + why})
	}
	check := func(name, measured string, value float64, limit string, met bool) {
		s := "not met"
		if met {
			s = "met"
		}
		ts = append(ts, target{Name: name, Measured: measured, Value: round3(value), Limit: limit, Status: s})
	}
	if g := r.group("grpc"); g != nil {
		floor := g.find("floor")
		for _, name := range []string{"pass-through, JWT session", "pass-through, Redis session (cached)",
			"pass-through, JWT session, shared state on Redis"} {
			c := g.find(name)
			switch {
			case c == nil:
			case floor == nil || !floor.ok():
				pending(name, "", "no floor figures")
			case !c.ok() || c.Base == nil:
				for _, l := range []string{"req/s", "CPU/request", "p99"} {
					pending(name+": "+l, "", c.Status)
				}
			default:
				b := c.Base
				check(name+": req/s at saturation", fmt.Sprintf("%.0f vs floor %.0f (best runs); %.2f× floor (median of %d pairs)", c.RPS, b.RPS, c.RPSRatio, len(c.Sat)),
					c.RPSRatio, "≥ 0.95× floor", c.RPSRatio >= 0.95)
				check(name+": CPU per request", fmt.Sprintf("%.1f vs floor %.1f ms/1k (best runs); %.2f× floor (median of %d pairs)", c.SatCPUms1k, b.SatCPUms1k, c.CPURatio, len(c.Sat)),
					c.CPURatio, "≤ 1.05× floor", c.CPURatio <= 1.05)
				if len(c.Fixed) == 0 {
					pending(name+": p99 at a fixed rate", "≤ 1.5× floor", c.FixedStatus)
					continue
				}
				check(name+": p99 at a fixed rate", fmt.Sprintf("%.3f vs floor %.3f ms (best runs); %.2f× floor (median of %d pairs)", c.P99ms, b.P99ms, c.P99Ratio, len(c.Fixed)),
					c.P99Ratio, "≤ 1.5× floor", c.P99Ratio <= 1.5)
			}
		}
	}
	if g := r.group("token"); g != nil {
		direct, ex := g.find("direct identify-user call"), g.find("Express reference")
		for _, q := range []struct {
			name, prefix string
			lb           *caseResult
			f            func(*caseResult) float64
		}{
			{"p50", "token path", g.find("lbauthz"), func(c *caseResult) float64 { return c.AddedP50ms }},
			{"p99", "token path", g.find("lbauthz"), func(c *caseResult) float64 { return c.AddedP99ms }},
			{"p50", "token path, shared limits on Redis", g.find(tokenShared), func(c *caseResult) float64 { return c.AddedP50ms }},
			{"p99", "token path, shared limits on Redis", g.find(tokenShared), func(c *caseResult) float64 { return c.AddedP99ms }},
		} {
			lb := q.lb
			name := q.prefix + ": latency added over the direct call, " + q.name
			limit := "≤ 1/3 of what Express adds"
			switch {
			case direct == nil || ex == nil || lb == nil || !direct.ok() || !ex.ok() || !lb.ok() || ex.Base == nil || lb.Base == nil:
				pending(name, limit, "a case of the token path did not run")
			case len(ex.Fixed) == 0 || len(lb.Fixed) == 0:
				pending(name, limit, "no fixed-rate figures: "+ex.FixedStatus+lb.FixedStatus)
			default:
				addLB, addEx := q.f(lb), q.f(ex)
				if addEx <= 0 {
					pending(name, limit, fmt.Sprintf("Express added nothing measurable (%.3f ms)", addEx))
					continue
				}
				ratio := addLB / addEx
				check(name, fmt.Sprintf("lbauthz %+.3f ms, Express %+.3f ms: %.2f× Express's", addLB, addEx, ratio),
					ratio, limit, ratio <= 1.0/3)
			}
		}
	}
	if g := r.group("nginx"); g != nil {
		floor := g.Cases[0]
		for _, c := range g.Cases[1:] {
			name := c.Door + ": CPU per request"
			switch {
			case !floor.ok():
				pending(name, "≤ 1.10× floor", "no floor figures")
			case !c.ok() || c.Base == nil:
				pending(name, "≤ 1.10× floor", c.Status)
			default:
				check(name, fmt.Sprintf("%.1f vs floor %.1f ms/1k (best runs); %.2f× floor (median of %d pairs)", c.SatCPUms1k, c.Base.SatCPUms1k, c.CPURatio, len(c.Sat)),
					c.CPURatio, "≤ 1.10× floor", c.CPURatio <= 1.10)
			}
		}
	}
	if m := r.Memory; m != nil {
		if m.Status != "ok" && m.IdleRSSMB == 0 {
			pending("memory", "", m.Status)
		} else {
			ratio := m.IdleRSSMB / m.FloorIdleMB
			check("RSS idle", fmt.Sprintf("%.1f MB vs floor %.1f MB: %.2f× floor", m.IdleRSSMB, m.FloorIdleMB, ratio),
				ratio, "≤ 1.2× floor", ratio <= 1.2)
			check("start to ready (JWT config)", fmt.Sprintf("%.0f ms (best of %d starts)", m.ReadyMs, len(m.ReadyMsAll)),
				m.ReadyMs, "≤ 100 ms", m.ReadyMs <= 100)
			name := fmt.Sprintf("RSS with %d sessions cached", m.Sessions)
			if m.Status != "ok" {
				pending(name, "≤ 150 MB", m.Status)
			} else {
				check(name, fmt.Sprintf("%.1f MB (steady, after a second pass; %.1f MB right after the fill)", m.SteadyRSSMB, m.FilledRSSMB),
					m.SteadyRSSMB, "≤ 150 MB", m.SteadyRSSMB <= 150)
			}
		}
	}
	r.Targets = ts
}

func round3(v float64) float64 { return math.Round(v*1000) / 1000 }

// markdown renders the report as the tables of latest.md.
func (r *report) markdown() string {
	var b strings.Builder
	w := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	w("# lbauthz benchmark\n\n")
	w("`%s`, %s. %s; %s; Go %s; load average at start %s.\n\n", r.Command, r.Date, r.Machine.CPUModel,
		r.Machine.Pinning, strings.TrimPrefix(r.Machine.GoVersion, "go"), r.Machine.LoadAvg)
	w("In each of %d rounds, every case of a group runs %gs at saturation next to a run of its baseline (the one before "+
		"the other, in turn), then the same at a fixed rate (%gs each; a %gs warm-up first). The machine is shared, and what "+
		"else runs on it only ever slows a run down, so each figure is the best of a case's rounds, and a difference (added) "+
		"compares it with the best of the baseline runs paired with that case; a ratio (× base) is the median, over the "+
		"rounds, of the case's run divided by the baseline's run next to it, which leaves out a round where one side was "+
		"unlucky. CPU is the user + system time "+
		"of the server under test (/proc/PID/stat) per 1,000 requests; \"CPU used\" is the share of one CPU it got "+
		"during its best saturation run (well below 1: the load generator, not the server, was the limit, or the "+
		"machine was busy); peak RSS is its VmHWM.\n\n",
		r.Settings.Rounds, r.Settings.SatS, r.Settings.FixedS, r.Settings.WarmupS)

	for _, g := range r.Groups {
		w("## %s\n\n", g.Title)
		w("Baseline: %s. %s.\n\n", g.Baseline, g.Note)
		rate := firstRate(g)
		if g.ID == "token" {
			w("| case | door | req/s (saturation) | p50 ms @ %d/s | p99 ms @ %d/s | p50 added | p99 added | CPU ms / 1k req @ %d/s | peak RSS MB |\n", rate, rate, rate)
			w("|---|---|--:|--:|--:|--:|--:|--:|--:|\n")
			for i, c := range g.Cases {
				if !c.ok() {
					w("| %s | %s | %s |  |  |  |  |  |  |\n", c.Name, c.Door, c.Status)
					continue
				}
				a50, a99 := "—", "—"
				if i > 0 {
					a50, a99 = fmt.Sprintf("%+.3f ms", c.AddedP50ms), fmt.Sprintf("%+.3f ms", c.AddedP99ms)
				}
				w("| %s | %s | %.0f | %.3f | %.3f | %s | %s | %s | %s |\n", c.Name, c.Door, c.RPS, c.P50ms, c.P99ms,
					a50, a99, cpuCell(c.FixedCPUms1k), rssCell(c))
			}
			w("\n")
			continue
		}
		w("| case | door | req/s (saturation) | × base | CPU ms / 1k req (saturation) | × base | CPU used at saturation | p50 ms @ %d/s | p99 ms @ %d/s | p99 × base | CPU ms / 1k req @ %d/s | peak RSS MB |\n", rate, rate, rate)
		w("|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n")
		for i, c := range g.Cases {
			if !c.ok() {
				w("| %s | %s | %s |  |  |  |  |  |  |  |  |  |\n", c.Name, c.Door, c.Status)
				continue
			}
			rr, cr, pr := "1", "1", "1"
			if i > 0 {
				rr, cr, pr = fmt.Sprintf("%.2f", c.RPSRatio), fmt.Sprintf("%.2f", c.CPURatio), fmt.Sprintf("%.2f", c.P99Ratio)
			}
			p50, p99 := fmt.Sprintf("%.3f", c.P50ms), fmt.Sprintf("%.3f", c.P99ms)
			if i > 0 && len(c.Fixed) == 0 {
				p50, p99, pr = "—", "—", "—"
			}
			w("| %s | %s | %.0f | %s | %s | %s | %.2f | %s | %s | %s | %s | %s |\n", c.Name, c.Door,
				c.RPS, rr, cpuCell(c.SatCPUms1k), cr, c.SatCPUShare, p50, p99, pr, cpuCell(c.FixedCPUms1k), rssCell(c))
		}
		w("\n")
		for _, c := range g.Cases {
			if c.ok() && c.BaseName != "" && c.Base != nil {
				w("%s: paired with %s (best runs: %.0f req/s, %s ms CPU / 1k req at saturation, p99 %.3f ms @ %d/s).\n\n",
					c.Name, c.BaseName, c.Base.RPS, cpuCell(c.Base.SatCPUms1k), c.Base.P99ms, rate)
			}
			if c.ok() && c.FixedStatus != "" {
				w("%s: no fixed-rate figures (%s); its saturation figures stand.\n\n", c.Name, c.FixedStatus)
			}
		}
		if g.ID == "nginx" {
			if gg := r.group("grpc"); gg != nil {
				gr := gg.find("pass-through, JWT session")
				for _, n := range g.Cases[1:] {
					if n.ok() && gr != nil && gr.ok() && gr.SatCPUms1k > 0 {
						w("The same check (JWT session, pass-through) costs lbauthz %.1f ms of CPU per 1,000 requests through "+
							"%s and %.1f ms through the gRPC door (×%.2f), both at saturation.\n",
							n.SatCPUms1k, n.Door, gr.SatCPUms1k, n.SatCPUms1k/gr.SatCPUms1k)
					}
				}
				w("\n")
			}
		}
	}
	if m := r.Memory; m != nil {
		w("## Memory and start (lbauthz, JWT sessions)\n\n")
		w("Idle RSS and start time are the best of %d starts of each server, the floor server with both its doors; "+
			"start to ready is from the start of the process to its first answer 200 on /readyz (the floor's: to its "+
			"listeners accepting). The sessions are sent through the gRPC door, 16 at a time, and every answer is "+
			"checked (allowed, as its own user). The rows of sections are how much of the binary's code (.text), read-only "+
			"data (.rodata) and function table (.gopclntab) the idle process has mapped (/proc/PID/pagemap).\n\n", len(m.ReadyMsAll))
		w("| state | lbauthz | floor | × floor |\n|---|--:|--:|--:|\n")
		w("| RSS idle, 1 s after start, MB | %.1f | %.1f | %.2f |\n", m.IdleRSSMB, m.FloorIdleMB, m.IdleRSSMB/m.FloorIdleMB)
		if m.FloorIdleAnonMB > 0 && m.FloorIdleFileMB > 0 {
			w("| of which the process's own memory (RssAnon), MB | %.1f | %.1f | %.2f |\n", m.IdleAnonMB, m.FloorIdleAnonMB, m.IdleAnonMB/m.FloorIdleAnonMB)
			w("| of which pages of its binary (RssFile; shared by every process of the same binary on a machine), MB | %.1f | %.1f | %.2f |\n", m.IdleFileMB, m.FloorIdleFileMB, m.IdleFileMB/m.FloorIdleFileMB)
		}
		if m.BinaryMB > 0 && m.FloorBinaryMB > 0 {
			w("| size of the binary (static, stripped), MB | %.1f | %.1f | %.2f |\n", m.BinaryMB, m.FloorBinaryMB, m.BinaryMB/m.FloorBinaryMB)
		}
		for i, u := range m.IdleSections {
			if i < len(m.FloorIdleSections) && m.FloorIdleSections[i].Name == u.Name {
				f := m.FloorIdleSections[i]
				w("| of its %s, MB mapped of MB in the binary | %.1f of %.1f (%.0f%%) | %.1f of %.1f (%.0f%%) | %.2f |\n",
					u.Name, u.ResidentMB, u.SizeMB, 100*u.ResidentMB/u.SizeMB, f.ResidentMB, f.SizeMB, 100*f.ResidentMB/f.SizeMB, u.ResidentMB/f.ResidentMB)
			}
		}
		w("| start to ready, ms | %.0f | %.0f | |\n", m.ReadyMs, m.FloorReadyMs)
		if m.Status == "ok" {
			w("| RSS with %d distinct valid sessions cached, 1 s after they were sent (in %.1fs), MB | %.1f | | |\n", m.Allowed, m.FillSeconds, m.FilledRSSMB)
			w("| the same after a second pass over them (%d Checks, all answered from the cache), 2 s later: steady, MB | %.1f | | |\n", m.SteadyCalls, m.SteadyRSSMB)
			w("| peak RSS (VmHWM), MB | %.1f | | |\n", m.PeakRSSMB)
			w("| bytes of RSS per cached session: (steady − idle) / sessions | %.0f | | |\n", m.BytesPerSess)
		} else {
			w("| %d sessions | %s | | |\n", m.Sessions, m.Status)
		}
		w("\n")
	}
	w("## Targets\n\n| target | measured | limit | |\n|---|---|---|---|\n")
	for _, t := range r.Targets {
		w("| %s | %s | %s | %s |\n", t.Name, t.Measured, t.Limit, t.Status)
	}
	return b.String()
}

func cpuCell(v float64) string {
	if v == 0 {
		return "—"
	}
	return fmt.Sprintf("%.1f", v)
}

func rssCell(c *caseResult) string {
	if c.PeakRSSMB == 0 {
		return "—"
	}
	return fmt.Sprintf("%.1f", c.PeakRSSMB)
}
