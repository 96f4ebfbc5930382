package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// The load generators:
//
//   - h2load (nghttp2) drives gRPC at saturation: a prepared CheckRequest
//     frame over HTTP/2. ghz cannot: on one CPU it tops out far below what
//     even the floor server answers, so its "saturation" would measure ghz.
//   - ghz drives gRPC at a fixed rate and times each call; it also checks
//     the gRPC status of every answer.
//   - wrk drives HTTP at saturation.
//   - HTTP at a fixed rate is driven by this program (pace.go): requests
//     evenly spaced in time, each timed to the microsecond. hey rounds its
//     per-request times to 0.1 ms (too coarse next to a 0.3 ms direct
//     call), and its workers, like h2load's --rps clients, fire in
//     lock-step: bursts that a single-threaded server (Node) answers one
//     after the other, which would inflate the reference's latency.

// loadResult is what one run of a load generator measured.
type loadResult struct {
	Requests int64   `json:"requests"`
	Errors   int64   `json:"errors"` // transport errors, non-OK gRPC codes, unexpected HTTP statuses
	Seconds  float64 `json:"seconds"`
	RPS      float64 `json:"rps"`
	P50ms    float64 `json:"p50_ms,omitempty"`
	P99ms    float64 `json:"p99_ms,omitempty"`
}

// httpSpec is one HTTP request, sent again and again.
type httpSpec struct {
	Method      string
	URL         string
	ContentType string
	Header      [][2]string
	Body        string
}

type loadGen struct {
	cpu string // where the load generators run
	dir string // scratch files
	seq int
}

func (g *loadGen) file(ext string, data []byte) (string, error) {
	g.seq++
	p := filepath.Join(g.dir, fmt.Sprintf("load%03d.%s", g.seq, ext))
	return p, os.WriteFile(p, data, 0o600)
}

func (g *loadGen) run(argv ...string) ([]byte, error) {
	cmd := pinned(g.cpu, argv...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return out, fmt.Errorf("%s: %v: %s", argv[0], err, strings.TrimSpace(stderr.String()))
	}
	return out, nil
}

// grpcSaturation sends frame (a gRPC message with its 5-byte prefix) to the
// Check method as fast as the server answers, for d.
func (g *loadGen) grpcSaturation(addr string, frame []byte, d time.Duration) (loadResult, error) {
	f, err := g.file("bin", frame)
	if err != nil {
		return loadResult{}, err
	}
	out, err := g.run("h2load", "-t", "1", "-c", "4", "-m", "64", "-D", strconv.Itoa(int(d.Seconds())),
		"-d", f, "-H", "content-type: application/grpc", "-H", "te: trailers",
		"http://"+addr+"/envoy.service.auth.v3.Authorization/Check")
	if err != nil {
		return loadResult{}, err
	}
	return parseH2load(string(out))
}

var (
	h2Finished = regexp.MustCompile(`finished in ([0-9.]+)s, ([0-9.]+) req/s`)
	h2Requests = regexp.MustCompile(`requests: (\d+) total, \d+ started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout`)
	h2Status   = regexp.MustCompile(`status codes: (\d+) 2xx`)
)

func parseH2load(out string) (loadResult, error) {
	fin, req, st := h2Finished.FindStringSubmatch(out), h2Requests.FindStringSubmatch(out), h2Status.FindStringSubmatch(out)
	if fin == nil || req == nil || st == nil {
		return loadResult{}, fmt.Errorf("h2load: unexpected output: %s", out)
	}
	var r loadResult
	r.Seconds, _ = strconv.ParseFloat(fin[1], 64)
	r.RPS, _ = strconv.ParseFloat(fin[2], 64)
	r.Requests, _ = strconv.ParseInt(req[2], 10, 64)
	ok, _ := strconv.ParseInt(st[1], 10, 64)
	r.Errors = r.Requests - ok
	return r, nil
}

// grpcRate calls Check at rate per second for d; data is the CheckRequest
// as JSON.
func (g *loadGen) grpcRate(addr string, data []byte, rate int, d time.Duration) (loadResult, error) {
	f, err := g.file("json", data)
	if err != nil {
		return loadResult{}, err
	}
	conc := max(4, min(50, rate/250))
	out, err := g.run("ghz", "--insecure", "--call", "envoy.service.auth.v3.Authorization.Check",
		"-D", f, "-c", strconv.Itoa(conc), "--connections", "1", "--rps", strconv.Itoa(rate),
		"-z", d.String(), "-O", "json", addr)
	if err != nil {
		return loadResult{}, err
	}
	var rep struct {
		Count   int64   `json:"count"`
		Total   int64   `json:"total"`
		RPS     float64 `json:"rps"`
		Latency []struct {
			Percentage int   `json:"percentage"`
			Latency    int64 `json:"latency"`
		} `json:"latencyDistribution"`
		Codes map[string]int64 `json:"statusCodeDistribution"`
	}
	if err := json.Unmarshal(out, &rep); err != nil {
		return loadResult{}, fmt.Errorf("ghz: %v", err)
	}
	r := loadResult{Requests: rep.Count, Seconds: float64(rep.Total) / 1e9, RPS: rep.RPS}
	r.Errors = rep.Count - rep.Codes["OK"]
	for _, l := range rep.Latency {
		switch l.Percentage {
		case 50:
			r.P50ms = float64(l.Latency) / 1e6
		case 99:
			r.P99ms = float64(l.Latency) / 1e6
		}
	}
	// Calls still in flight when the run ends are cut off with an error;
	// they are no failure of the server.
	r.Errors = max(0, r.Errors-int64(conc))
	if r.Requests == 0 || r.P50ms == 0 || r.P99ms == 0 {
		return r, fmt.Errorf("ghz timed no call (%d calls)", r.Requests)
	}
	return r, nil
}

// httpSaturation sends the request as fast as the server answers, for d.
// Answers other than 2xx count as errors.
func (g *loadGen) httpSaturation(s httpSpec, d time.Duration) (loadResult, error) {
	var lua strings.Builder
	fmt.Fprintf(&lua, "wrk.method = [==[%s]==]\n", s.Method)
	if s.Body != "" {
		fmt.Fprintf(&lua, "wrk.body = [==[%s]==]\n", s.Body)
	}
	if s.ContentType != "" {
		fmt.Fprintf(&lua, "wrk.headers[\"Content-Type\"] = [==[%s]==]\n", s.ContentType)
	}
	for _, h := range s.Header {
		fmt.Fprintf(&lua, "wrk.headers[ [==[%s]==] ] = [==[%s]==]\n", h[0], h[1])
	}
	f, err := g.file("lua", []byte(lua.String()))
	if err != nil {
		return loadResult{}, err
	}
	out, err := g.run("wrk", "-t", "1", "-c", "32", "-d", d.String(), "-s", f, s.URL)
	if err != nil {
		return loadResult{}, err
	}
	return parseWrk(string(out))
}

var (
	wrkTotal  = regexp.MustCompile(`(\d+) requests in ([0-9.]+)(m?s)`)
	wrkRPS    = regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`)
	wrkNon2xx = regexp.MustCompile(`Non-2xx or 3xx responses: (\d+)`)
	wrkSocket = regexp.MustCompile(`Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)`)
)

func parseWrk(out string) (loadResult, error) {
	tot, rps := wrkTotal.FindStringSubmatch(out), wrkRPS.FindStringSubmatch(out)
	if tot == nil || rps == nil {
		return loadResult{}, fmt.Errorf("wrk: unexpected output: %s", out)
	}
	var r loadResult
	r.Requests, _ = strconv.ParseInt(tot[1], 10, 64)
	r.Seconds, _ = strconv.ParseFloat(tot[2], 64)
	if tot[3] == "ms" {
		r.Seconds /= 1000
	}
	r.RPS, _ = strconv.ParseFloat(rps[1], 64)
	if m := wrkNon2xx.FindStringSubmatch(out); m != nil {
		n, _ := strconv.ParseInt(m[1], 10, 64)
		r.Errors += n
	}
	if m := wrkSocket.FindStringSubmatch(out); m != nil {
		for _, s := range m[1:] {
			n, _ := strconv.ParseInt(s, 10, 64)
			r.Errors += n
		}
	}
	return r, nil
}

// percentile of sorted values: the smallest value at or above the share q
// of them (nearest rank).
func percentile(sorted []float64, q float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(q*float64(len(sorted)))) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// lookTools reports the load generators missing from PATH.
func lookTools(names ...string) []string {
	var missing []string
	for _, n := range names {
		if _, err := exec.LookPath(n); err != nil {
			missing = append(missing, n)
		}
	}
	return missing
}
