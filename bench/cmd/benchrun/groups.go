package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
)

const (
	// tokenShared is the token path's case with the limits on Redis.
	tokenShared = "lbauthz, shared limits on Redis"
	pagePath    = "/docs/42?tab=history"
	authPath    = "/api/liveblocks-auth"
	roomBody    = `{"room":"bench-room"}`
)

// grpcCase is a case of the gRPC door: the request, checked once against
// expect before it is measured.
func (e *env) grpcCase(res *caseResult, srv *server, req *authv3.CheckRequest, expect expectation) *benchCase {
	c, err := dialCheck(srv.grpc)
	if err == nil {
		var resp *authv3.CheckResponse
		if resp, err = c.check(req); err == nil {
			err = expect(resp)
		}
		c.Close()
	}
	if err != nil {
		res.Status = "failed: the answer is not the expected one: " + err.Error()
	}
	frame, data := grpcFrame(req), grpcJSON(req)
	return &benchCase{
		name: res.Name, door: res.Door, srv: srv, res: res,
		sat: func(d time.Duration) (loadResult, error) { return e.load.grpcSaturation(srv.grpc, frame, d) },
		fixed: func(rate int, d time.Duration) (loadResult, error) {
			return e.load.grpcRate(srv.grpc, data, rate, d)
		},
	}
}

// httpCase is a case of an HTTP door, checked once (status, and a part of
// the body) before it is measured.
func (e *env) httpCase(res *caseResult, srv *server, s httpSpec, status int, body string) *benchCase {
	if err := httpCheck(s, status, body); err != nil {
		res.Status = "failed: the answer is not the expected one: " + err.Error()
	}
	return &benchCase{
		name: res.Name, door: res.Door, srv: srv, res: res,
		sat:   func(d time.Duration) (loadResult, error) { return e.load.httpSaturation(s, d) },
		fixed: func(rate int, d time.Duration) (loadResult, error) { return e.load.httpRate(s, rate, d) },
	}
}

// grpcGroup: the Envoy gRPC door against the floor server.
func (e *env) grpcGroup(st settings) *group {
	g := &group{ID: "grpc", Title: "Envoy ext_authz, gRPC door", Baseline: "floor"}
	alice := signJWT(claims("alice", "Alice", []string{"team", "eng"}))
	page := checkRequest("GET", pagePath, browserCookie(alice), "")
	var cases []*benchCase
	var backing []*server
	defer func() {
		for _, c := range cases {
			c.srv.stop()
		}
		for _, s := range backing {
			s.stop()
		}
	}()
	add := func(name, door string, start func() (*server, error), req *authv3.CheckRequest, expect expectation) {
		res := g.add(name, door)
		srv, err := start()
		if err != nil {
			res.Status = "failed: " + err.Error()
			return
		}
		cases = append(cases, e.grpcCase(res, srv, req, expect))
	}
	jwt := func() (*server, error) { return e.startSidecar(e.jwtSession()) }

	add("floor", "floor server (allows all, one header)", func() (*server, error) { return e.startFloor(true, false) },
		page, allowsAs("floor"))
	add("pass-through, JWT session", "lbauthz gRPC", jwt, page, allowsAs("alice"))

	redisRes := "pass-through, Redis session (cached)"
	if missing := lookTools("redis-server"); len(missing) > 0 {
		g.add(redisRes, "lbauthz gRPC").Status = "pending: redis-server is not installed"
	} else {
		id := randomID()
		add(redisRes, "lbauthz gRPC", func() (*server, error) {
			rs, rc, err := e.startRedis()
			if err != nil {
				return nil, err
			}
			backing = append(backing, rs)
			doc, _ := json.Marshal(claims("alice", "Alice", []string{"team", "eng"}))
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := rc.Set(ctx, "sess:"+id, doc, 2*time.Hour).Err(); err != nil {
				return nil, err
			}
			rc.Close()
			return e.startSidecar(redisSession(rs.http))
		}, checkRequest("GET", pagePath, browserCookie(id), ""), allowsAs("alice"))
	}
	sharedRes := "pass-through, JWT session, shared state on Redis"
	if missing := lookTools("redis-server"); len(missing) > 0 {
		g.add(sharedRes, "lbauthz gRPC").Status = "pending: redis-server is not installed"
	} else {
		// Shared limits and revocations configured: the pass-through must
		// not touch Redis, so it must cost what the case above costs.
		add(sharedRes, "lbauthz gRPC", func() (*server, error) {
			rs, rc, err := e.startRedis()
			if err != nil {
				return nil, err
			}
			rc.Close()
			backing = append(backing, rs)
			return e.startSidecar(e.jwtSession(), sharedRedis(rs.http))
		}, page, allowsAs("alice"))
	}
	add("pass-through, anonymous", "lbauthz gRPC", jwt, checkRequest("GET", pagePath, browserCookie(""), ""), allowsAnonymous)
	forged := alice[:len(alice)-4] + "AAAA"
	add("auth path, invalid session (401)", "lbauthz gRPC", jwt,
		checkRequest("POST", authPath, browserCookie(forged), roomBody), deniesWith(401))

	runCases(cases, st, shareOfSlowest(st.RateShare, st.GRPCRate))
	g.Note = fmt.Sprintf("saturation: h2load; fixed rate: ghz at %d req/s", firstRate(g))
	return g
}

// tokenGroup: the auth path with a valid session, answered with a token by
// the real Liveblocks dev server, against calling identify-user directly.
func (e *env) tokenGroup(st settings, dev *server) *group {
	g := &group{ID: "token", Title: "Token path: auth path, valid session, real Liveblocks dev server",
		Baseline: "direct identify-user call"}
	if dev == nil {
		for _, n := range []string{"direct identify-user call", "Express reference", "lbauthz"} {
			g.add(n, "").Status = "pending: the Liveblocks dev server did not start"
		}
		return g
	}
	alice := signJWT(claims("alice", "Alice", []string{"team", "eng"}))
	// As a browser's fetch from the app's own page sends it.
	browser := [][2]string{{"Cookie", browserCookie(alice)}, {"Origin", "https://app.example.test"}, {"Sec-Fetch-Site", "same-origin"}}
	var cases []*benchCase
	var backing []*server
	defer func() {
		for _, c := range cases {
			if c.srv != nil {
				c.srv.stop()
			}
		}
		for _, s := range backing {
			s.stop()
		}
	}()
	direct, _ := json.Marshal(map[string]any{
		"userId": "alice", "groupIds": []string{"team", "eng"},
		"userInfo": map[string]string{"name": "Alice", "avatar": "https://avatars.example.test/alice.png"},
	})
	cases = append(cases, e.httpCase(g.add("direct identify-user call", "POST /v2/identify-user on the dev server"), nil,
		httpSpec{Method: "POST", URL: "http://" + dev.http + "/v2/identify-user", ContentType: "application/json",
			Header: [][2]string{{"Authorization", "Bearer sk_localdev"}}, Body: string(direct)}, 200, `"token"`))

	res := g.add("Express reference", "Express + @liveblocks/node identifyUser")
	if missing := lookTools("node"); len(missing) > 0 {
		res.Status = "pending: node is not installed"
	} else if ex, err := e.startExpress(); err != nil {
		res.Status = "failed: " + err.Error()
	} else {
		cases = append(cases, e.httpCase(res, ex, httpSpec{Method: "POST", URL: "http://" + ex.http + authPath,
			ContentType: "application/json", Header: browser, Body: roomBody}, 200, `"token"`))
	}
	res = g.add("lbauthz", "lbauthz HTTP, POST "+authPath)
	if sc, err := e.startSidecar(e.jwtSession()); err != nil {
		res.Status = "failed: " + err.Error()
	} else {
		cases = append(cases, e.httpCase(res, sc, httpSpec{Method: "POST", URL: "http://" + sc.http + authPath,
			ContentType: "application/json", Header: browser, Body: roomBody}, 200, `"token"`))
	}
	// The same with the per-user and per-address limits shared on Redis:
	// two GCRA round trips per token request.
	res = g.add(tokenShared, "lbauthz HTTP, POST "+authPath+", limits on Redis")
	if missing := lookTools("redis-server"); len(missing) > 0 {
		res.Status = "pending: redis-server is not installed"
	} else if rs, rc, err := e.startRedis(); err != nil {
		res.Status = "failed: Redis: " + err.Error()
	} else {
		rc.Close()
		backing = append(backing, rs)
		if sc, err := e.startSidecar(e.jwtSession(), sharedRedis(rs.http)); err != nil {
			res.Status = "failed: " + err.Error()
		} else {
			cases = append(cases, e.httpCase(res, sc, httpSpec{Method: "POST", URL: "http://" + sc.http + authPath,
				ContentType: "application/json", Header: browser, Body: roomBody}, 200, `"token"`))
		}
	}
	runCases(cases, st, shareOfSlowest(st.RateShare, st.HTTPRate))
	g.Note = fmt.Sprintf("saturation: wrk; fixed rate: %d req/s, evenly spaced (benchrun's own open-loop driver)", firstRate(g))
	return g
}

// nginxGroup: nginx's auth_request (deploy/nginx/nginx.conf) in front of an
// app, with the floor's HTTP check, then with each of the sidecar's HTTP
// check doors: /check/nginx as the file has it, and /check/forward and
// /check/envoy/<uri> asked by the same nginx with the check request of their
// own proxies. Each door is paired with the floor behind an nginx of the same
// shape (the same check path and headers), so that both parse the same
// request.
func (e *env) nginxGroup(st settings) *group {
	g := &group{ID: "nginx", Title: "HTTP check doors, through nginx's auth_request (deploy/nginx/nginx.conf) to an app",
		Baseline: "nginx + floor check, each door's check request"}
	doors := []struct {
		name, door string
		check      checkDoor
	}{
		{"nginx + lbauthz /check/nginx, JWT session", "lbauthz HTTP /check/nginx", checkNginx},
		{"nginx + lbauthz /check/forward, JWT session", "lbauthz HTTP /check/forward", checkForward},
		{"nginx + lbauthz /check/envoy, JWT session", "lbauthz HTTP /check/envoy", checkEnvoy},
	}
	floorName := func(d checkDoor) string {
		return [...]string{"nginx + floor check", "nginx + floor check, /check/forward's request", "nginx + floor check, /check/envoy's request"}[d]
	}
	if missing := lookTools("nginx"); len(missing) > 0 && !fileExists("/usr/sbin/nginx") {
		g.add(floorName(checkNginx), "floor HTTP check").Status = "pending: nginx is not installed"
		for _, d := range doors {
			g.add(d.name, d.door).Status = "pending: nginx is not installed"
		}
		return g
	}
	var started []*server
	defer func() {
		for _, s := range started {
			s.stop()
		}
	}()
	alice := signJWT(claims("alice", "Alice", []string{"team", "eng"}))
	get := func(ng *server) httpSpec {
		return httpSpec{Method: "GET", URL: "http://" + ng.http + pagePath, Header: [][2]string{{"Cookie", browserCookie(alice)}}}
	}
	baseRes := g.add(floorName(checkNginx), "floor HTTP check")
	app, err := e.startApp()
	if err == nil {
		started = append(started, app)
	}
	var floor *server
	if err == nil {
		if floor, err = e.startFloor(false, true); err == nil {
			started = append(started, floor)
		}
	}
	if err != nil {
		baseRes.Status = "failed: " + err.Error()
		for _, d := range doors {
			g.add(d.name, d.door).Status = "failed: " + err.Error()
		}
		return g
	}
	// floorCase is the floor behind an nginx of the door's shape.
	floorCase := func(res *caseResult, d checkDoor) *benchCase {
		ng, err := e.startNginx(floor.http, app.http, d)
		if err != nil {
			res.Status = "failed: nginx: " + err.Error()
			return &benchCase{name: res.Name, res: res}
		}
		started = append(started, ng)
		return e.httpCase(res, floor, get(ng), 200, "floor")
	}
	cases := []*benchCase{floorCase(baseRes, checkNginx)}
	for _, d := range doors {
		res := g.add(d.name, d.door)
		var base *benchCase
		if d.check != checkNginx {
			base = floorCase(&caseResult{Name: floorName(d.check), Door: "floor HTTP check", Status: "ok"}, d.check)
		}
		chk, err := e.startSidecar(e.jwtSession())
		if err != nil {
			res.Status = "failed: " + err.Error()
			continue
		}
		started = append(started, chk)
		ng, err := e.startNginx(chk.http, app.http, d.check)
		if err != nil {
			res.Status = "failed: nginx: " + err.Error()
			continue
		}
		started = append(started, ng)
		c := e.httpCase(res, chk, get(ng), 200, "alice")
		c.base = base
		cases = append(cases, c)
	}
	runCases(cases, st, shareOfSlowest(st.RateShare, st.HTTPRate))
	g.Note = fmt.Sprintf("saturation: wrk; fixed rate: %d req/s, evenly spaced (benchrun's own open-loop driver); CPU and memory are the check server's. "+
		"Each door's check request is the one its proxy sends (/check/forward: X-Forwarded-Method and X-Forwarded-Uri; "+
		"/check/envoy: the original path after the door's, no X-Original-* headers), and each door is paired with the same "+
		"floor server asked the same request by an nginx of the same shape", firstRate(g))
	return g
}

// memory is the sidecar's resident memory idle and with many sessions
// cached, and its time from start to ready, with the floor server's beside.
type memory struct {
	Status      string  `json:"status"`
	IdleRSSMB   float64 `json:"idle_rss_mb"`
	FloorIdleMB float64 `json:"floor_idle_rss_mb"`
	// The idle RSS in its two parts (of the same start): the process's own
	// memory (RssAnon), and the pages of its binary it has mapped
	// (RssFile), which every process of the same binary on a machine shares.
	IdleAnonMB      float64   `json:"idle_rss_anon_mb"`
	IdleFileMB      float64   `json:"idle_rss_file_mb"`
	FloorIdleAnonMB float64   `json:"floor_idle_rss_anon_mb"`
	FloorIdleFileMB float64   `json:"floor_idle_rss_file_mb"`
	ReadyMs         float64   `json:"start_to_ready_ms"`     // best of the starts
	ReadyMsAll      []float64 `json:"start_to_ready_ms_all"` // every start
	FloorReadyMs    float64   `json:"floor_start_to_listen_ms"`
	// The sizes of the two binaries: most of an idle Go process's RSS is
	// pages of its binary, which the kernel maps 64 KB around each page
	// touched at start, so idle RSS follows the size of the code linked.
	BinaryMB      float64 `json:"binary_mb"`
	FloorBinaryMB float64 `json:"floor_binary_mb"`
	// How much of each large section of the binary the idle process holds
	// (of the start with the lowest RSS); empty when pagemap cannot be read.
	IdleSections      []sectionUse `json:"idle_sections,omitempty"`
	FloorIdleSections []sectionUse `json:"floor_idle_sections,omitempty"`
	Sessions          int          `json:"sessions"`
	Allowed           int64        `json:"allowed"`
	FillSeconds       float64      `json:"fill_seconds"`
	FilledRSSMB       float64      `json:"filled_rss_mb"`     // right after the fill
	SteadyRSSMB       float64      `json:"steady_rss_mb"`     // after a second pass over the sessions
	SteadyCalls       int64        `json:"steady_calls"`      // Checks of that pass, each answer checked
	BytesPerSess      float64      `json:"bytes_per_session"` // (steady - idle) / sessions
	PeakRSSMB         float64      `json:"peak_rss_mb"`
}

// startsToReady is how many times the sidecar and the floor are started to
// time their start.
const startsToReady = 5

// memoryGroup times the start of the sidecar and of the floor server,
// reads their idle RSS, then sends one Check for each of n distinct valid
// JWT sessions (each is verified and cached), then a second pass over the
// same sessions, and reads the sidecar's RSS after each.
func (e *env) memoryGroup(n int) *memory {
	m := &memory{Sessions: n, Status: "ok"}
	m.BinaryMB, m.FloorBinaryMB = fileMB(filepath.Join(e.bin, "lbauthz")), fileMB(filepath.Join(e.bin, "floor"))
	for range startsToReady {
		t0 := time.Now()
		fl, err := e.startFloor(true, true)
		if err != nil {
			m.Status = "failed: the floor: " + err.Error()
			return m
		}
		if d := msSince(t0); m.FloorReadyMs == 0 || d < m.FloorReadyMs {
			m.FloorReadyMs = d
		}
		time.Sleep(time.Second)
		if v, _ := memMB(fl.pid(), "VmRSS"); m.FloorIdleMB == 0 || v < m.FloorIdleMB {
			m.FloorIdleMB = v
			m.FloorIdleAnonMB, _ = memMB(fl.pid(), "RssAnon")
			m.FloorIdleFileMB, _ = memMB(fl.pid(), "RssFile")
			m.FloorIdleSections = residencyOrLog(fl.pid(), filepath.Join(e.bin, "floor"))
		}
		fl.stop()
		t0 = time.Now()
		sc, err := e.startSidecar(e.jwtSession())
		if err != nil {
			m.Status = "failed: " + err.Error()
			return m
		}
		d := msSince(t0)
		m.ReadyMsAll = append(m.ReadyMsAll, d)
		if m.ReadyMs == 0 || d < m.ReadyMs {
			m.ReadyMs = d
		}
		time.Sleep(time.Second)
		if v, _ := memMB(sc.pid(), "VmRSS"); m.IdleRSSMB == 0 || v < m.IdleRSSMB {
			m.IdleRSSMB = v
			m.IdleAnonMB, _ = memMB(sc.pid(), "RssAnon")
			m.IdleFileMB, _ = memMB(sc.pid(), "RssFile")
			m.IdleSections = residencyOrLog(sc.pid(), filepath.Join(e.bin, "lbauthz"))
		}
		sc.stop()
	}
	sc, err := e.startSidecar(e.jwtSession())
	if err != nil {
		m.Status = "failed: " + err.Error()
		return m
	}
	defer sc.stop()

	// The sessions are signed first, so that the fill is not slowed by
	// this program's own work.
	cookies := make([]string, n)
	for i := range cookies {
		u := fmt.Sprintf("user-%06d", i)
		cookies[i] = browserCookie(signJWT(claims(u, "User "+u[5:], []string{"team-" + u[5:8], "all"})))
	}
	c, err := dialCheck(sc.grpc)
	if err != nil {
		m.Status = "failed: " + err.Error()
		return m
	}
	defer c.Close()
	// Each goroutine takes the next index until all n are done; check
	// checks the session of an index.
	pass := func() (int64, error) {
		var next, done atomic.Int64
		var firstErr error
		var once sync.Once
		var wg sync.WaitGroup
		for range 16 {
			wg.Go(func() {
				for {
					i := int(next.Add(1) - 1)
					if i >= n {
						return
					}
					resp, err := c.check(checkRequest("GET", pagePath, cookies[i], ""))
					if err == nil {
						err = allowsAs(fmt.Sprintf("user-%06d", i))(resp)
					}
					if err != nil {
						once.Do(func() { firstErr = err })
						continue
					}
					done.Add(1)
				}
			})
		}
		wg.Wait()
		return done.Load(), firstErr
	}
	t0 := time.Now()
	allowed, err := pass()
	m.FillSeconds, m.Allowed = time.Since(t0).Seconds(), allowed
	if err != nil {
		m.Status = fmt.Sprintf("failed: %d of %d sessions not allowed: %v", int64(n)-allowed, n, err)
		return m
	}
	time.Sleep(time.Second)
	m.FilledRSSMB, _ = memMB(sc.pid(), "VmRSS")
	// Right after a burst of new sessions, the heap still holds the garbage
	// of their verification. A second pass over the same sessions, now
	// cached, lets the collector catch up: the steady state of a sidecar
	// that holds this many sessions.
	m.SteadyCalls, err = pass()
	if err != nil {
		m.Status = "failed: a cached session was not allowed: " + err.Error()
		return m
	}
	time.Sleep(2 * time.Second)
	m.SteadyRSSMB, _ = memMB(sc.pid(), "VmRSS")
	m.PeakRSSMB, _ = memMB(sc.pid(), "VmHWM")
	m.BytesPerSess = (m.SteadyRSSMB - m.IdleRSSMB) * (1 << 20) / float64(n)
	log.Printf("  memory: idle %.1f MB (floor %.1f MB); ready in %.0f ms (floor listening in %.0f ms); %d sessions cached in %.1fs: %.1f MB, %.1f MB after a second pass (peak %.1f MB): %.0f bytes per session",
		m.IdleRSSMB, m.FloorIdleMB, m.ReadyMs, m.FloorReadyMs, m.Allowed, m.FillSeconds, m.FilledRSSMB, m.SteadyRSSMB, m.PeakRSSMB, m.BytesPerSess)
	return m
}

// residencyOrLog is sectionResidency, or nothing (logged) when it fails.
func residencyOrLog(pid int, path string) []sectionUse {
	u, err := sectionResidency(pid, path)
	if err != nil {
		log.Printf("  memory: sections of %s not read: %v", filepath.Base(path), err)
	}
	return u
}

// fileMB is the size of a file in MB (of 2^20 bytes), 0 if it cannot be read.
func fileMB(path string) float64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return float64(fi.Size()) / (1 << 20)
}

func msSince(t time.Time) float64 { return float64(time.Since(t).Microseconds()) / 1000 }

func firstRate(g *group) int {
	for _, c := range g.Cases {
		if c.Rate > 0 {
			return c.Rate
		}
	}
	return 0
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

func randomID() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
