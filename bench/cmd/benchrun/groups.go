package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log"
	"os"
	"sync"
	"sync/atomic"
	"time"

	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
)

const (
	pagePath = "/docs/42?tab=history"
	authPath = "/api/liveblocks-auth"
	roomBody = `{"room":"bench-room"}`
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
	defer func() {
		for _, c := range cases {
			if c.srv != nil {
				c.srv.stop()
			}
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
	runCases(cases, st, shareOfSlowest(st.RateShare, st.HTTPRate))
	g.Note = fmt.Sprintf("saturation: wrk; fixed rate: %d req/s, evenly spaced (benchrun's own open-loop driver)", firstRate(g))
	return g
}

// nginxGroup: nginx's auth_request (deploy/nginx/nginx.conf) in front of an
// app, with the floor's HTTP check, then with the sidecar's /check/nginx.
func (e *env) nginxGroup(st settings) *group {
	g := &group{ID: "nginx", Title: "nginx auth_request door (deploy/nginx/nginx.conf), through nginx to an app",
		Baseline: "nginx + floor check"}
	names := []string{"nginx + floor check", "nginx + lbauthz /check/nginx, JWT session"}
	if missing := lookTools("nginx"); len(missing) > 0 && !fileExists("/usr/sbin/nginx") {
		for _, n := range names {
			g.add(n, "").Status = "pending: nginx is not installed"
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
	app, err := e.startApp()
	if err != nil {
		for _, n := range names {
			g.add(n, "").Status = "failed: the app: " + err.Error()
		}
		return g
	}
	started = append(started, app)
	var cases []*benchCase
	add := func(name, door, user string, startCheck func() (*server, error)) {
		res := g.add(name, door)
		chk, err := startCheck()
		if err != nil {
			res.Status = "failed: " + err.Error()
			return
		}
		started = append(started, chk)
		ng, err := e.startNginx(chk.http, app.http)
		if err != nil {
			res.Status = "failed: nginx: " + err.Error()
			return
		}
		started = append(started, ng)
		cases = append(cases, e.httpCase(res, chk, httpSpec{Method: "GET", URL: "http://" + ng.http + pagePath,
			Header: [][2]string{{"Cookie", browserCookie(alice)}}}, 200, user))
	}
	add(names[0], "floor HTTP check", "floor", func() (*server, error) { return e.startFloor(false, true) })
	add(names[1], "lbauthz HTTP /check/nginx", "alice", func() (*server, error) { return e.startSidecar(e.jwtSession()) })
	runCases(cases, st, shareOfSlowest(st.RateShare, st.HTTPRate))
	g.Note = fmt.Sprintf("saturation: wrk; fixed rate: %d req/s, evenly spaced (benchrun's own open-loop driver); CPU and memory are the check server's", firstRate(g))
	return g
}

// memory is the sidecar's resident memory idle and with many sessions
// cached.
type memory struct {
	Status      string  `json:"status"`
	IdleRSSMB   float64 `json:"idle_rss_mb"`
	Sessions    int     `json:"sessions"`
	Allowed     int64   `json:"allowed"`
	FillSeconds float64 `json:"fill_seconds"`
	FilledRSSMB float64 `json:"filled_rss_mb"` // right after the fill
	SteadyRSSMB float64 `json:"steady_rss_mb"` // after traffic on the cached sessions
	SteadyCalls int64   `json:"steady_calls"`  // Checks of that traffic
	PeakRSSMB   float64 `json:"peak_rss_mb"`
}

// memoryGroup starts a sidecar, reads its idle RSS, then sends one Check
// for each of n distinct valid JWT sessions (each is verified and cached)
// and reads its RSS again.
func (e *env) memoryGroup(n int) *memory {
	m := &memory{Sessions: n, Status: "ok"}
	sc, err := e.startSidecar(e.jwtSession())
	if err != nil {
		m.Status = "failed: " + err.Error()
		return m
	}
	defer sc.stop()
	time.Sleep(time.Second)
	m.IdleRSSMB, _ = memMB(sc.pid(), "VmRSS")

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
	// Each goroutine takes the next index until stop says so; check checks
	// the session of an index.
	drive := func(stop func(i int) bool, check func(i int) error) (int64, error) {
		var next, done atomic.Int64
		var firstErr error
		var once sync.Once
		var wg sync.WaitGroup
		for range 16 {
			wg.Go(func() {
				for {
					i := int(next.Add(1) - 1)
					if stop(i) {
						return
					}
					if err := check(i); err != nil {
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
	checkSession := func(i int) error {
		resp, err := c.check(checkRequest("GET", pagePath, cookies[i%n], ""))
		if err == nil {
			err = allowsAs(fmt.Sprintf("user-%06d", i%n))(resp)
		}
		return err
	}
	t0 := time.Now()
	allowed, err := drive(func(i int) bool { return i >= n }, checkSession)
	m.FillSeconds, m.Allowed = time.Since(t0).Seconds(), allowed
	if err != nil {
		m.Status = fmt.Sprintf("failed: %d of %d sessions not allowed: %v", int64(n)-allowed, n, err)
		return m
	}
	time.Sleep(time.Second)
	m.FilledRSSMB, _ = memMB(sc.pid(), "VmRSS")
	// Right after a burst of new sessions, the heap still holds the garbage
	// of their verification: no collection runs while nothing allocates.
	// Traffic on the cached sessions (which, like any request, allocates in
	// the gRPC server) lets the collector catch up: the steady state of a
	// sidecar that holds this many sessions.
	t1 := time.Now()
	m.SteadyCalls, err = drive(func(i int) bool { return time.Since(t1) > 3*time.Second }, checkSession)
	if err != nil {
		m.Status = "failed: a cached session was not allowed: " + err.Error()
		return m
	}
	time.Sleep(2 * time.Second)
	m.SteadyRSSMB, _ = memMB(sc.pid(), "VmRSS")
	m.PeakRSSMB, _ = memMB(sc.pid(), "VmHWM")
	log.Printf("  memory: idle %.1f MB; %d sessions cached in %.1fs: %.1f MB, %.1f MB after %d more Checks (peak %.1f MB)",
		m.IdleRSSMB, m.Allowed, m.FillSeconds, m.FilledRSSMB, m.SteadyRSSMB, m.SteadyCalls, m.PeakRSSMB)
	return m
}

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
