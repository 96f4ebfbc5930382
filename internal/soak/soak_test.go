package soak_test

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/lbauthz/lbauthz/internal/authztest"
	"github.com/lbauthz/lbauthz/internal/testenv"
)

// settings of one run: `make test` runs the short one, `make soak` the long.
type settings struct {
	phase time.Duration // how long each phase sends traffic
	rate  int           // requests per second, all kinds together
}

func soakSettings() settings {
	if os.Getenv("LBAUTHZ_SOAK") == "long" {
		return settings{phase: 20 * time.Second, rate: 300}
	}
	return settings{phase: 3 * time.Second, rate: 150}
}

const (
	sessions     = 50 // s-0 ... s-49, user u-<n>, in Redis and in PostgreSQL
	recoverLimit = 5 * time.Second
	// The deadline of each request: the Liveblocks client gives the auth
	// endpoint 10 s; nothing may come near it.
	requestDeadline = 5 * time.Second
)

// configTemplate is the sidecar's config; STORE is the session store
// section (Redis or PostgreSQL), swapped by a reload.
const configTemplate = `
listen:
  grpc: "GRPC_ADDR"
  http: "HTTP_ADDR"
  shutdown_grace: 8s
liveblocks:
  base_url: "LB_URL"
  secret_key_file: "LB_KEY_FILE"
  timeout: 3s
session:
  cookie: "sid"
  on_store_error: anonymous
  cache: { ttl: 1s, negative_ttl: 1s }
STORE
# The soak's traffic stands for many users but comes from two addresses
# and 50 sessions, far above the per-user and per-address budgets of real
# browsers: the limits have tests of their own.
auth_limits:
  per_user: { disabled: true }
  per_address: { disabled: true }
identity:
  user_id: "user.id"
  group_ids: "user.groups"
  user_info: { name: "user.name" }
log:
  level: warn
`

const redisStore = `  redis:
    address: "REDIS_ADDR"
    key_template: "sess:{id}"
    timeout: 300ms
`

const sqlStore = `  sql:
    dsn: "PG_DSN"
    password_file: "PG_PASSWORD_FILE"
    query: "SELECT sess FROM soak_sessions WHERE sid = $1"
    json_column: "sess"
    timeout: 300ms
`

// TestSoak_FaultsReloadsAndShutdownUnderLoad is the soak: steady mixed
// traffic (pages and token requests, with and without a session) through
// a real nginx with deploy/nginx/nginx.conf and through the gRPC door, at a
// fixed rate, while the parts the sidecar depends on fail and come back.
//
// Pass: pages never fail (anonymous while the store is down, as
// on_store_error says); the auth path answers 200, 401 or 503 only, never
// 401 to a valid session and never past the deadline; each part is used
// again within seconds of coming back; goroutines and heap return to their
// level; the process never exits before SIGTERM, and SIGTERM under load
// drops none of the requests in flight.
func TestSoak_FaultsReloadsAndShutdownUnderLoad(t *testing.T) {
	testenv.SkipShort(t, "the sidecar, nginx, Liveblocks, Redis and PostgreSQL") // before building the sidecar
	set := soakSettings()
	nginxBin, ok := testenv.LookPath("nginx")
	if !ok {
		testenv.Missing(t, "nginx is not installed (apt-get install nginx-light)")
	}
	bin := testenv.GoBuild(t, "./cmd/lbauthz")
	dir := t.TempDir()

	// The parts, each on a fixed address that a restart uses again.
	lbAddr := testenv.FreeAddr(t)
	dev := testenv.StartLiveblocksAt(t, lbAddr)
	rds := testenv.StartRedis(t)
	pg := testenv.StartPostgres(t)
	seedSessions(t, rds, pg)
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{"app": "yes", "user": r.Header.Get("X-User-Id")})
	}))
	t.Cleanup(app.Close)

	grpcAddr, httpAddr := testenv.FreeAddr(t), testenv.FreeAddr(t)
	writeFile(t, filepath.Join(dir, "lb-key"), testenv.DevSecretKey)
	writeFile(t, filepath.Join(dir, "pg-password"), testenv.PostgresPassword)
	cfgPath := filepath.Join(dir, "config.yaml")
	writeConfig := func(store string) {
		s := strings.NewReplacer("STORE", store).Replace(configTemplate)
		s = strings.NewReplacer("GRPC_ADDR", grpcAddr, "HTTP_ADDR", httpAddr, "LB_URL", "http://"+lbAddr,
			"LB_KEY_FILE", filepath.Join(dir, "lb-key"), "REDIS_ADDR", rds.Addr, "PG_DSN", pg.DSN(),
			"PG_PASSWORD_FILE", filepath.Join(dir, "pg-password")).Replace(s)
		// Written beside and renamed, as an operator's tooling does: the
		// sidecar never reads half a file.
		writeFile(t, cfgPath+".new", s)
		if err := os.Rename(cfgPath+".new", cfgPath); err != nil {
			t.Fatal(err)
		}
	}
	writeConfig(redisStore)

	cmd := exec.Command(bin, "serve", "--config", cfgPath)
	cmd.Env = append(filterEnv(os.Environ(), "LIVEBLOCKS_"), "GOTRACEBACK=all")
	sidecar := testenv.Start(t, "lbauthz", cmd)
	testenv.WaitHTTP(t, sidecar, "http://"+httpAddr+"/readyz", 15*time.Second)

	nginxAddr := testenv.FreeAddr(t)
	prefix, conf := renderNginx(t, nginxAddr, httpAddr, strings.TrimPrefix(app.URL, "http://"))
	ngx := testenv.Start(t, "nginx", exec.Command(nginxBin, "-p", prefix+"/", "-c", conf, "-g", "daemon off;"))
	testenv.WaitTCP(t, ngx, nginxAddr, 10*time.Second)

	conn, err := grpc.NewClient(grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	tr := &traffic{
		nginx: "http://" + nginxAddr, grpc: authv3.NewAuthorizationClient(conn),
		http: &http.Client{Timeout: requestDeadline, Transport: &http.Transport{MaxIdleConnsPerHost: 256}},
	}

	// probe waits until a request of a kind gets its healthy answer, and
	// returns how long that took.
	probe := func(what string, k kind, sid string, wantUser string) time.Duration {
		t.Helper()
		start := time.Now()
		for time.Since(start) < 3*recoverLimit {
			if r := tr.send(k, sid); r.healthy(k) && r.user == wantUser {
				return time.Since(start)
			}
			time.Sleep(20 * time.Millisecond)
		}
		t.Fatalf("%s: no healthy %s answer within %s", what, k, 3*recoverLimit)
		return 0
	}
	recovered := map[string]time.Duration{}
	alive := func(phase string) {
		t.Helper()
		if sidecar.Exited() {
			t.Fatalf("the sidecar exited during %q:\n%s", phase, sidecar.Output())
		}
	}
	var phases []*phaseResult
	run := func(name string, healthy bool) {
		t.Helper()
		p := tr.run(name, set, healthy)
		phases = append(phases, p)
		alive(name)
	}

	run("baseline", true)
	base := scrapeRuntime(t, httpAddr)

	dev.Kill()
	run("liveblocks killed", false)
	dev = testenv.StartLiveblocksAt(t, lbAddr)
	recovered["liveblocks"] = probe("liveblocks back", authValid, "s-1", "u-1")
	run("liveblocks back", true)

	rds.Stop()
	run("redis stopped", false)
	rds.Start(t)
	recovered["redis"] = probe("redis back", pageValidGRPC, "s-2", "u-2")
	run("redis back", true)

	writeConfig(sqlStore)
	_ = sidecar.Cmd.Process.Signal(syscall.SIGHUP)
	recovered["reload to postgres"] = probe("reload to postgres", pageValidGRPC, "pg-only", "u-pg")
	run("postgres (reloaded)", true)

	pg.Stop()
	run("postgres stopped", false)
	pg.Start(t)
	recovered["postgres"] = probe("postgres back", pageValidGRPC, "s-3", "u-3")
	run("postgres back", true)

	writeConfig(redisStore)
	_ = sidecar.Cmd.Process.Signal(syscall.SIGHUP)
	recovered["reload to redis"] = probe("reload to redis", pageValidGRPC, "redis-only", "u-redis")
	run("redis (reloaded)", true)

	// Goroutines and heap back to their level, once the engines swapped out
	// by the reloads are closed (shutdown_grace after each) and idle
	// connections have gone.
	var end runtimeStats
	deadline := time.Now().Add(20 * time.Second)
	for {
		end = scrapeRuntime(t, httpAddr)
		if end.goroutines <= base.goroutines+25 && end.heapInuse <= max(3*base.heapInuse, base.heapInuse+48<<20) {
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("goroutines %d (baseline %d), heap in use %d MB (baseline %d MB): not back to their level",
				end.goroutines, base.goroutines, end.heapInuse>>20, base.heapInuse>>20)
			break
		}
		time.Sleep(500 * time.Millisecond)
	}

	// SIGTERM under load: token requests held in flight (the dev server is
	// frozen, so the sidecar waits on Liveblocks), then SIGTERM, then the
	// dev server goes on: every one of them gets its token.
	shutdown := tr.shutdownUnderLoad(t, sidecar, dev, set)
	phases = append(phases, shutdown)

	report(t, set, phases, recovered, base, end)
	for name, d := range recovered {
		if d > recoverLimit {
			t.Errorf("%s: recovered in %s, want within %s", name, d.Round(time.Millisecond), recoverLimit)
		}
	}
	for _, p := range phases {
		for _, bad := range p.bad {
			t.Errorf("%s: %s", p.name, bad)
		}
	}
}

// kind is one kind of request of the traffic.
type kind int

const (
	pageValidNginx kind = iota // GET /docs through nginx with a session
	pageAnonNginx              // GET /docs through nginx without one
	authValidNginx             // POST the auth path through nginx with a session
	authAnonNginx              // ... without one
	pageValidGRPC              // a Check of GET /docs with a session
	authValid                  // a Check of POST the auth path with a session
	authAnonGRPC               // ... without one
	kinds
)

var kindNames = [...]string{"nginx page+session", "nginx page anonymous", "nginx auth+session", "nginx auth anonymous",
	"grpc page+session", "grpc auth+session", "grpc auth anonymous"}

func (k kind) String() string { return kindNames[k] }

func (k kind) auth() bool {
	return k == authValidNginx || k == authAnonNginx || k == authValid || k == authAnonGRPC
}

func (k kind) withSession() bool {
	return k == pageValidNginx || k == authValidNginx || k == pageValidGRPC || k == authValid
}

// result is one answer, reduced.
type result struct {
	label   string // "200", "401", "503", "grpc Unavailable", "error: ..."
	status  int    // the HTTP status the client got (0 for none)
	allowed bool   // the request went on to the app
	user    string // the identity the app got, or the token's uid
	took    time.Duration
}

// healthy reports whether r is what k gets when every part is up.
func (r result) healthy(k kind) bool {
	switch {
	case !k.auth():
		return r.allowed && r.status == 200 && (r.user != "") == k.withSession()
	case k.withSession():
		return !r.allowed && r.status == 200 && r.user != ""
	}
	return !r.allowed && r.status == 401
}

// acceptable reports whether r is an answer k may get while a part is down:
// a page always goes through (anonymous when the store is down); a token
// request with a session gets its token or a 503 (never a 401, which would
// stop the browser's retries); one without gets 401.
func (r result) acceptable(k kind) bool {
	if r.took > requestDeadline {
		return false
	}
	switch {
	case !k.auth():
		return r.allowed && r.status == 200
	case k.withSession():
		return !r.allowed && (r.status == 200 && r.user != "" || r.status == 503)
	}
	return !r.allowed && r.status == 401
}

type traffic struct {
	nginx string
	grpc  authv3.AuthorizationClient
	http  *http.Client
	n     atomic.Int64
}

// send sends one request of kind k with session sid.
func (tr *traffic) send(k kind, sid string) result {
	start := time.Now()
	var r result
	if k == pageValidGRPC || k == authValid || k == authAnonGRPC {
		r = tr.sendGRPC(k, sid)
	} else {
		r = tr.sendNginx(k, sid)
	}
	r.took = time.Since(start)
	return r
}

func (tr *traffic) sendNginx(k kind, sid string) result {
	method, path, body := "GET", "/docs?n=1", ""
	if k.auth() {
		method, path, body = "POST", authztest.AuthPath, `{"room":"soak"}`
	}
	req, _ := http.NewRequest(method, tr.nginx+path, strings.NewReader(body))
	if k.withSession() {
		req.Header.Set("Cookie", "sid="+sid)
	}
	req.Header.Set("X-User-Id", "mallory")
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := tr.http.Do(req)
	if err != nil {
		return result{label: "error: " + errClass(err)}
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	r := result{label: strconv.Itoa(resp.StatusCode), status: resp.StatusCode}
	var a map[string]string
	if json.Unmarshal(b, &a) == nil && a["app"] == "yes" {
		r.allowed, r.user = true, a["user"]
		r.label = passLabel(r.label, r.user)
		if r.user == "mallory" {
			r.label = "SPOOFED IDENTITY REACHED THE APP"
			r.status = 0
		}
		return r
	}
	if resp.StatusCode == 200 {
		r.user = tokenUser(b)
	}
	return r
}

func (tr *traffic) sendGRPC(k kind, sid string) result {
	method, path, body := "GET", "/docs?n=1", ""
	if k.auth() {
		method, path, body = "POST", authztest.AuthPath, `{"room":"soak"}`
	}
	h := map[string]string{"x-user-id": "mallory"}
	if k.withSession() {
		h["cookie"] = "sid=" + sid
	}
	ctx, cancel := context.WithTimeout(context.Background(), requestDeadline)
	defer cancel()
	resp, err := tr.grpc.Check(ctx, authztest.CheckRequest(method, path, h, body))
	if err != nil {
		return result{label: "grpc " + status.Code(err).String()}
	}
	if resp.GetStatus().GetCode() == int32(codes.OK) {
		r := result{label: "ok", status: 200, allowed: true}
		for _, hv := range resp.GetOkResponse().GetHeaders() {
			if hv.GetHeader().GetKey() == "x-user-id" {
				r.user = hv.GetHeader().GetValue()
			}
		}
		r.label = passLabel(r.label, r.user)
		return r
	}
	d := resp.GetDeniedResponse()
	r := result{status: int(d.GetStatus().GetCode())}
	r.label = strconv.Itoa(r.status)
	if r.status == 200 {
		r.user = tokenUser([]byte(d.GetBody()))
	}
	return r
}

// passLabel tells a request let through with an identity from one let
// through anonymous.
func passLabel(status, user string) string {
	if user == "" {
		return status + " anonymous"
	}
	return status + " identity"
}

func tokenUser(body []byte) string {
	var tok struct{ Token string }
	if json.Unmarshal(body, &tok) != nil || tok.Token == "" {
		return ""
	}
	parts := strings.Split(tok.Token, ".")
	if len(parts) < 2 {
		return ""
	}
	var claims struct{ UID string }
	b, _ := base64.RawURLEncoding.DecodeString(parts[1])
	_ = json.Unmarshal(b, &claims)
	return claims.UID
}

// phaseResult counts the answers of one phase, per kind and label.
type phaseResult struct {
	name    string
	healthy bool
	mu      sync.Mutex
	counts  [kinds]map[string]int
	sent    int
	skipped int // ticks with every request slot busy
	slowest time.Duration
	bad     []string
}

func (p *phaseResult) add(k kind, r result) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.counts[k] == nil {
		p.counts[k] = map[string]int{}
	}
	p.counts[k][r.label]++
	p.slowest = max(p.slowest, r.took)
	ok := r.acceptable(k)
	if p.healthy {
		ok = ok && r.healthy(k)
	}
	if !ok && len(p.bad) < 10 {
		p.bad = append(p.bad, fmt.Sprintf("%s answered %s (allowed %v, user %q) in %s", k, r.label, r.allowed, r.user, r.took.Round(time.Millisecond)))
	}
}

// run sends traffic at the settings' rate for one phase: every kind in
// turn, sessions in turn, at most 256 requests in flight.
func (tr *traffic) run(name string, set settings, healthy bool) *phaseResult {
	p := &phaseResult{name: name, healthy: healthy}
	tick := time.NewTicker(time.Second / time.Duration(set.rate))
	defer tick.Stop()
	slots := make(chan struct{}, 256)
	var wg sync.WaitGroup
	end := time.Now().Add(set.phase)
	for now := range tick.C {
		if now.After(end) {
			break
		}
		i := tr.n.Add(1)
		k, sid := kind(i%int64(kinds)), "s-"+strconv.Itoa(int(i/int64(kinds))%sessions)
		select {
		case slots <- struct{}{}:
		default:
			p.skipped++
			continue
		}
		p.sent++
		wg.Go(func() {
			defer func() { <-slots }()
			p.add(k, tr.send(k, sid))
		})
	}
	wg.Wait()
	if p.skipped > 0 {
		p.bad = append(p.bad, fmt.Sprintf("%d requests not sent: every slot was busy (answers too slow)", p.skipped))
	}
	return p
}

// shutdownUnderLoad holds token requests in flight at the sidecar, sends
// SIGTERM with steady traffic running, and checks that each held request
// gets its token and the process exits 0.
func (tr *traffic) shutdownUnderLoad(t *testing.T, sidecar *testenv.Process, dev *testenv.DevServer, set settings) *phaseResult {
	t.Helper()
	p := &phaseResult{name: "SIGTERM under load"}
	const held = 16
	_ = syscall.Kill(-dev.Cmd.Process.Pid, syscall.SIGSTOP)
	resumed := false
	resume := func() {
		if !resumed {
			resumed = true
			_ = syscall.Kill(-dev.Cmd.Process.Pid, syscall.SIGCONT)
		}
	}
	defer resume()
	var wg sync.WaitGroup
	var heldResults [2 * held]result
	for i := range 2 * held {
		k := authValid
		if i%2 == 1 {
			k = authValidNginx
		}
		wg.Go(func() { heldResults[i] = tr.send(k, "s-"+strconv.Itoa(i%sessions)) })
	}
	// Steady traffic around the SIGTERM, counted but not judged: once the
	// listeners close, nginx answers 503 and gRPC calls fail, as they must.
	bg := make(chan *phaseResult, 1)
	go func() {
		bg <- tr.run("steady traffic around SIGTERM (not judged)", settings{phase: 2 * time.Second, rate: set.rate}, false)
	}()
	time.Sleep(500 * time.Millisecond)
	if err := sidecar.Cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond)
	if sidecar.Exited() {
		t.Errorf("the sidecar exited with requests in flight")
	}
	resume()
	wg.Wait()
	for i, r := range heldResults {
		k := authValid
		if i%2 == 1 {
			k = authValidNginx
		}
		p.add(k, r)
		if !r.healthy(k) {
			p.bad = append(p.bad, fmt.Sprintf("in flight at SIGTERM: %s answered %s", k, r.label))
		}
	}
	done := make(chan error, 1)
	go func() { done <- sidecar.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			p.bad = append(p.bad, fmt.Sprintf("the sidecar exited with %v after SIGTERM, want 0", err))
		}
	case <-time.After(10 * time.Second):
		p.bad = append(p.bad, "the sidecar did not exit within 10 s of SIGTERM")
	}
	steady := <-bg
	steady.bad = nil
	p.mu.Lock()
	defer p.mu.Unlock()
	// The held requests first, then the background traffic's counts.
	for k := range kinds {
		for label, n := range steady.counts[k] {
			if p.counts[k] == nil {
				p.counts[k] = map[string]int{}
			}
			p.counts[k]["steady "+label] += n
		}
	}
	p.sent = 2*held + steady.sent
	return p
}

// report prints the counts of every phase, the recovery times and the
// runtime figures.
func report(t *testing.T, set settings, phases []*phaseResult, recovered map[string]time.Duration, base, end runtimeStats) {
	var b strings.Builder
	fmt.Fprintf(&b, "soak: %d req/s, %s per phase\n", set.rate, set.phase)
	for _, p := range phases {
		fmt.Fprintf(&b, "%-28s sent %5d  slowest %6s\n", p.name, p.sent, p.slowest.Round(time.Millisecond))
		for k := range kinds {
			if len(p.counts[k]) == 0 {
				continue
			}
			labels := make([]string, 0, len(p.counts[k]))
			for l := range p.counts[k] {
				labels = append(labels, l)
			}
			sort.Strings(labels)
			var parts []string
			for _, l := range labels {
				parts = append(parts, fmt.Sprintf("%s: %d", l, p.counts[k][l]))
			}
			fmt.Fprintf(&b, "    %-22s %s\n", kind(k), strings.Join(parts, ", "))
		}
	}
	names := make([]string, 0, len(recovered))
	for n := range recovered {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(&b, "recovered after %-20s %s\n", n+":", recovered[n].Round(time.Millisecond))
	}
	fmt.Fprintf(&b, "goroutines %d -> %d, heap in use %.1f MB -> %.1f MB\n",
		base.goroutines, end.goroutines, float64(base.heapInuse)/(1<<20), float64(end.heapInuse)/(1<<20))
	t.Log("\n" + b.String())
	if f := os.Getenv("LBAUTHZ_SOAK_REPORT"); f != "" {
		_ = os.WriteFile(f, []byte(b.String()), 0o644)
	}
}

type runtimeStats struct {
	goroutines int
	heapInuse  int64
}

// scrapeRuntime reads the sidecar's goroutines and heap from its /metrics
// (the Go collector's go_goroutines and go_memstats_heap_inuse_bytes).
func scrapeRuntime(t *testing.T, httpAddr string) runtimeStats {
	t.Helper()
	resp, err := http.Get("http://" + httpAddr + "/metrics")
	if err != nil {
		t.Fatalf("scraping /metrics: %v", err)
	}
	defer resp.Body.Close()
	var s runtimeStats
	found := 0
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 2 {
			continue
		}
		v, err := strconv.ParseFloat(f[1], 64)
		if err != nil {
			continue
		}
		switch f[0] {
		case "go_goroutines":
			s.goroutines, found = int(v), found+1
		case "go_memstats_heap_inuse_bytes":
			s.heapInuse, found = int64(v), found+1
		}
	}
	if resp.StatusCode != 200 || found != 2 {
		t.Fatalf("the sidecar's HTTP listener answered /metrics with %d, without go_goroutines and go_memstats_heap_inuse_bytes", resp.StatusCode)
	}
	return s
}

// seedSessions writes the sessions s-0 ... s-49 to Redis and PostgreSQL
// (what the app would have stored), plus one only in each.
func seedSessions(t *testing.T, rds *testenv.Redis, pg *testenv.Postgres) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	doc := func(user string) string {
		b, _ := json.Marshal(map[string]any{"user": map[string]any{"id": user, "groups": []string{"team"}, "name": "User " + user}})
		return string(b)
	}
	rc := redis.NewClient(&redis.Options{Addr: rds.Addr})
	defer rc.Close()
	db, err := pgx.Connect(ctx, pg.URL())
	if err != nil {
		t.Fatalf("connecting to PostgreSQL: %v", err)
	}
	defer db.Close(ctx)
	if _, err := db.Exec(ctx, `CREATE TABLE soak_sessions (sid text PRIMARY KEY, sess json NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	put := func(sid, user string, toRedis, toPG bool) {
		if toRedis {
			if err := rc.Set(ctx, "sess:"+sid, doc(user), 0).Err(); err != nil {
				t.Fatalf("seeding Redis: %v", err)
			}
		}
		if toPG {
			if _, err := db.Exec(ctx, `INSERT INTO soak_sessions (sid, sess) VALUES ($1, $2)`, sid, doc(user)); err != nil {
				t.Fatalf("seeding PostgreSQL: %v", err)
			}
		}
	}
	for i := range sessions {
		put("s-"+strconv.Itoa(i), "u-"+strconv.Itoa(i), true, true)
	}
	put("redis-only", "u-redis", true, false)
	put("pg-only", "u-pg", false, true)
}

// renderNginx writes deploy/nginx/nginx.conf with its documented values
// replaced (see deploy/nginx/README.md) into a fresh prefix folder.
func renderNginx(t *testing.T, listen, lbauthz, app string) (prefix, conf string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(testenv.RepoRoot(), "deploy", "nginx", "nginx.conf"))
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for _, r := range [][2]string{
		{"listen 8080;", "listen " + listen + ";"},
		{"server 127.0.0.1:8181;", "server " + lbauthz + ";"},
		{"server 127.0.0.1:3000;", "server " + app + ";"},
	} {
		if strings.Count(s, r[0]) != 1 {
			t.Fatalf("nginx.conf: %q is not there exactly once", r[0])
		}
		s = strings.Replace(s, r[0], r[1], 1)
	}
	prefix = t.TempDir()
	if err := os.Chmod(prefix, 0o755); err != nil { // the workers run as nobody under root
		t.Fatal(err)
	}
	conf = filepath.Join(prefix, "nginx.conf")
	writeFile(t, conf, s)
	return prefix, conf
}

func writeFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

func filterEnv(env []string, prefix string) []string {
	var out []string
	for _, kv := range env {
		if !strings.HasPrefix(kv, prefix) {
			out = append(out, kv)
		}
	}
	return out
}

// errClass names a transport error without its addresses.
func errClass(err error) string {
	s := err.Error()
	switch {
	case strings.Contains(s, "connection refused"):
		return "connection refused"
	case strings.Contains(s, "Client.Timeout"), strings.Contains(s, "deadline exceeded"):
		return "timeout"
	case strings.Contains(s, "EOF"), strings.Contains(s, "reset"):
		return "connection closed"
	}
	return "other"
}
