package httpdoor_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lbauthz/lbauthz/authz"
	"github.com/lbauthz/lbauthz/authz/config"
	"github.com/lbauthz/lbauthz/authz/door/httpdoor"
	"github.com/lbauthz/lbauthz/internal/assemble"
	"github.com/lbauthz/lbauthz/internal/authztest"
)

// The loopback benchmark runs each check server in a process of its own (this
// test binary, started again with loopbackServerEnv naming the server), so
// that the CPU it reports is the server's alone, as `make bench` reads it.
const (
	loopbackServerEnv = "LBAUTHZ_LOOPBACK_SERVER"
	// loopbackProfileEnv, when set, is the folder where each server process
	// writes its CPU profile (<server>.pprof) when it stops.
	loopbackProfileEnv = "LBAUTHZ_LOOPBACK_CPUPROFILE"
)

// loopbackServers are the servers the benchmark compares: the floor HTTP
// check of `make bench` (bench/cmd/floor: 200 with one header, with the
// listener timeouts lbauthz serve sets by default), the same floor without
// timeouts ("bare"), and the HTTP doors as lbauthz serve builds them
// (metrics on, the same timeouts).
var loopbackServers = []string{"floor", "bare", "lbauthz"}

// TestLoopbackServerProcess is the server process of
// BenchmarkHTTPCheckLoopback; without loopbackServerEnv it is skipped. It
// prints the address it listens on and a session signed with its own key
// (authztest's is drawn per process), and serves until its stdin closes.
func TestLoopbackServerProcess(t *testing.T) {
	kind := os.Getenv(loopbackServerEnv)
	if kind == "" {
		t.Skip("the server process of BenchmarkHTTPCheckLoopback")
	}
	srv := &http.Server{}
	withTimeouts := func() {
		srv.ReadHeaderTimeout = config.DefaultHTTPReadHeaderTimeout
		srv.ReadTimeout = config.DefaultHTTPReadTimeout
		srv.WriteTimeout = config.DefaultHTTPWriteTimeout
		srv.IdleTimeout = config.DefaultHTTPIdleTimeout
	}
	userID := []string{"floor"}
	floor := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header()["X-User-Id"] = userID
		w.WriteHeader(http.StatusOK)
	})
	switch kind {
	case "floor":
		srv.Handler = floor
		withTimeouts()
	case "bare":
		srv.Handler = floor
	case "lbauthz":
		m := authz.NewMetrics(prometheus.NewRegistry(), "bench")
		e := authztest.Engine(t, authztest.Config, "http://127.0.0.1:9", "sk_bench", assemble.WithMetrics(m))
		mux := http.NewServeMux()
		mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok\n") })
		srv.Handler = httpdoor.New(authz.NewHolder(e), httpdoor.Options{Next: mux, ReadTimeout: config.DefaultHTTPReadTimeout})
		withTimeouts()
	default:
		t.Fatalf("no server %q", kind)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if dir := os.Getenv(loopbackProfileEnv); dir != "" {
		f, err := os.Create(dir + "/" + kind + ".pprof")
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			t.Fatal(err)
		}
		defer pprof.StopCPUProfile()
	}
	go func() { _ = srv.Serve(lis) }()
	fmt.Printf("listening %s %s\n", lis.Addr(), authztest.Session(authztest.Alice()))
	_, _ = io.Copy(io.Discard, os.Stdin)
	_ = srv.Close()
}

// loopbackServer is a server process of the benchmark.
type loopbackServer struct {
	cmd     *exec.Cmd
	in      io.WriteCloser
	addr    string
	session string // a valid session cookie's value for this server
}

func startLoopbackServer(b *testing.B, kind string) *loopbackServer {
	b.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestLoopbackServerProcess$", "-test.v=false")
	// One CPU, as `make bench` pins the server under test to one.
	cmd.Env = append(os.Environ(), loopbackServerEnv+"="+kind, "GOMAXPROCS=1")
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	s := &loopbackServer{cmd: cmd, in: in}
	b.Cleanup(s.stop)
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		b.Fatalf("server %s: %v", kind, err)
	}
	f := strings.Fields(line)
	if len(f) != 3 || f[0] != "listening" {
		b.Fatalf("server %s: %q", kind, line)
	}
	s.addr, s.session = f[1], f[2]
	go func() { _, _ = io.Copy(io.Discard, out) }()
	return s
}

func (s *loopbackServer) stop() {
	_ = s.in.Close()
	done := make(chan struct{})
	go func() { _ = s.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = s.cmd.Process.Kill()
		<-done
	}
}

// cpu is the CPU time the server process has used so far: the sum of its
// threads' run times (/proc/PID/task/*/schedstat, in nanoseconds, where
// /proc/PID/stat counts ticks of 10 ms). A Go program's threads do not
// exit, so the sum only grows.
func (s *loopbackServer) cpu(b *testing.B) time.Duration {
	b.Helper()
	dir := "/proc/" + strconv.Itoa(s.cmd.Process.Pid) + "/task"
	tasks, err := os.ReadDir(dir)
	if err != nil {
		b.Skipf("no /proc: %v", err)
	}
	var sum time.Duration
	for _, t := range tasks {
		raw, err := os.ReadFile(dir + "/" + t.Name() + "/schedstat")
		if err != nil {
			continue
		}
		ns, _ := strconv.ParseInt(strings.Fields(string(raw))[0], 10, 64)
		sum += time.Duration(ns)
	}
	return sum
}

// nginxCheckRequest is the check request nginx sends (deploy/nginx/nginx.conf)
// for a browser's page request through it, as `make bench` sends it: the
// headers the check location sets, then the client's Cookie.
func nginxCheckRequest(door, cookie string) []byte {
	target, original := "/check/nginx", "X-Original-URI: /docs/42?tab=history\r\nX-Original-Method: GET\r\n"
	switch door {
	case "forward":
		target, original = "/check/forward", "X-Forwarded-Uri: /docs/42?tab=history\r\nX-Forwarded-Method: GET\r\n"
	case "envoy":
		target, original = "/check/envoy/docs/42?tab=history", ""
	}
	return []byte("GET " + target + " HTTP/1.1\r\n" + original +
		"Host: 127.0.0.1\r\nX-Forwarded-For: 127.0.0.1\r\nX-Forwarded-Proto: http\r\nX-Forwarded-Host: 127.0.0.1\r\n" +
		"Cookie: " + cookie + "\r\n\r\n")
}

// BenchmarkHTTPCheckLoopback sends each HTTP door's check request, as nginx
// sends it, to servers in processes of their own over kept-alive loopback
// connections, and reports each server's CPU per request: the floor HTTP
// check of `make bench` (floor-ns/op), the same floor without listener
// timeouts (bare-ns/op), and lbauthz's HTTP doors with a cached JWT session
// (lbauthz-ns/op). The servers take turns, a slice of requests each, so
// that what else runs on the machine weighs on all three alike; the ratios
// to the floor (bare-x-floor, lbauthz-x-floor) are the median of the
// slices' ratios to the floor's slice before them. Every answer is checked
// (200 and the identity header).
func BenchmarkHTTPCheckLoopback(b *testing.B) {
	if os.Getenv(loopbackServerEnv) != "" {
		b.Skip("in a server process")
	}
	servers := make([]*loopbackServer, len(loopbackServers))
	for i, kind := range loopbackServers {
		servers[i] = startLoopbackServer(b, kind)
	}
	lbauthz := servers[len(servers)-1]
	// Every server is sent the same bytes: the floors read no cookie.
	cookie := "_ga=GA1.1.1234567890.1700000000; _ga_5QZ1X2Y3W4=GS1.1.1700000000.3.1.1700000123.0.0.0; " +
		"cookie_consent=necessary%2Canalytics; theme=dark; session=" + lbauthz.session +
		"; csrftoken=Yx8s0fTq3UHl7c2ZpQ9wR4vN1mK6bJ0a; _gid=GA1.1.987654321.1700000000"
	for _, door := range []string{"nginx", "forward", "envoy"} {
		req := nginxCheckRequest(door, cookie)
		b.Run(door, func(b *testing.B) {
			clients := make([]*loopbackClient, len(servers))
			for i, s := range servers {
				want := "X-User-Id: floor\r\n"
				if s == lbauthz {
					want = "X-User-Id: alice\r\n"
				}
				clients[i] = dialLoopback(b, s, req, want)
			}
			cpu := make([]time.Duration, len(servers))
			var bare, door []float64 // each slice's ratio to the floor's slice
			for done := 0; done < b.N; {
				n := min(loopbackSlice, b.N-done)
				var slice [3]time.Duration
				for i, c := range clients {
					slice[i] = c.send(b, n)
					cpu[i] += slice[i]
				}
				if slice[0] > 0 {
					bare = append(bare, float64(slice[1])/float64(slice[0]))
					door = append(door, float64(slice[2])/float64(slice[0]))
				}
				done += n
			}
			for i, kind := range loopbackServers {
				b.ReportMetric(float64(cpu[i])/float64(b.N), kind+"-ns/op")
			}
			b.ReportMetric(median(bare), "bare-x-floor")
			b.ReportMetric(median(door), "lbauthz-x-floor")
		})
	}
}

// median is the middle of xs (0 for none): unlike the ratio of the sums,
// it leaves out the slices in which one server was unlucky.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	slices.Sort(xs)
	if len(xs)%2 == 0 {
		return (xs[len(xs)/2-1] + xs[len(xs)/2]) / 2
	}
	return xs[len(xs)/2]
}

// loopbackConns is how many kept-alive connections send requests at once,
// as nginx's upstream keepalive does under load; loopbackSlice is how many
// requests one server answers before the next one's turn.
const (
	loopbackConns = 4
	loopbackSlice = 2000
)

// loopbackClient sends one request over loopbackConns connections to a server.
type loopbackClient struct {
	s     *loopbackServer
	req   []byte
	want  string
	conns []net.Conn
	brs   []*bufio.Reader
}

func dialLoopback(b *testing.B, s *loopbackServer, req []byte, want string) *loopbackClient {
	c := &loopbackClient{s: s, req: req, want: want}
	for range loopbackConns {
		conn, err := net.Dial("tcp", s.addr)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { conn.Close() })
		c.conns = append(c.conns, conn)
		c.brs = append(c.brs, bufio.NewReader(conn))
	}
	return c
}

// send sends n requests and returns the CPU the server spent meanwhile.
func (c *loopbackClient) send(b *testing.B, n int) time.Duration {
	var left atomic.Int64
	left.Store(int64(n))
	var failed atomic.Pointer[string]
	start := c.s.cpu(b)
	var wg sync.WaitGroup
	for i, conn := range c.conns {
		br := c.brs[i]
		wg.Go(func() {
			for left.Add(-1) >= 0 {
				if _, err := conn.Write(c.req); err != nil {
					msg := err.Error()
					failed.Store(&msg)
					return
				}
				if msg := readAnswer(br, c.want); msg != "" {
					failed.Store(&msg)
					return
				}
			}
		})
	}
	wg.Wait()
	spent := c.s.cpu(b) - start
	if msg := failed.Load(); msg != nil {
		b.Fatal(*msg)
	}
	return spent
}

// readAnswer reads one answer without a body and says what is wrong with
// it: not a 200, or without the line want.
func readAnswer(br *bufio.Reader, want string) string {
	status, err := br.ReadString('\n')
	if err != nil {
		return err.Error()
	}
	if !strings.HasPrefix(status, "HTTP/1.1 200 ") {
		return "answer " + strings.TrimSpace(status)
	}
	found := false
	for {
		line, err := br.ReadSlice('\n')
		if err != nil {
			return err.Error()
		}
		if len(line) == 2 {
			break
		}
		found = found || string(line) == want
	}
	if !found {
		return "no " + strings.TrimSpace(want) + " in the answer"
	}
	return ""
}
