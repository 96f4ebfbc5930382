package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/lbauthz/lbauthz/internal/testenv"
)

// cpus says where things run. With two CPUs or more, the server under test
// has CPU 1 to itself and everything else (load generators, nginx, Redis,
// the Liveblocks dev server, this program) runs on CPU 0, so the load never
// takes CPU from the server it measures. With one CPU nothing is pinned.
type cpus struct {
	server, load string // taskset CPU lists; "" when not pinned
}

func planCPUs() cpus {
	if runtime.NumCPU() < 2 {
		return cpus{}
	}
	if _, err := exec.LookPath("taskset"); err != nil {
		return cpus{}
	}
	return cpus{server: "1", load: "0"}
}

func (c cpus) String() string {
	if c.server == "" {
		return fmt.Sprintf("%d CPU(s), not pinned", runtime.NumCPU())
	}
	return fmt.Sprintf("%d CPUs: server under test on CPU %s, load generators and backing services on CPU %s",
		runtime.NumCPU(), c.server, c.load)
}

// pinned returns the command running argv on the CPUs given ("" runs it
// unpinned). taskset execs the program, so the PID is the program's own.
func pinned(cpu string, argv ...string) *exec.Cmd {
	if cpu != "" {
		argv = append([]string{"taskset", "-c", cpu}, argv...)
	}
	return exec.Command(argv[0], argv[1:]...)
}

// proc is a process this program started, in a process group of its own
// (testenv's, as the tests start theirs), its output in a log file.
type proc struct {
	*testenv.Process
}

// procs are the processes started so far, stopped at the end (or when this
// program is interrupted).
var procs []*proc

// start starts cmd, its output in dir/name.log.
func start(dir, name string, cmd *exec.Cmd) (*proc, error) {
	// Killed with this program if it dies first.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	tp, err := testenv.StartLogged(name, cmd, filepath.Join(dir, name+".log"))
	if err != nil {
		return nil, err
	}
	p := &proc{tp}
	procs = append(procs, p)
	return p, nil
}

func (p *proc) pid() int     { return p.Pid() }
func (p *proc) exited() bool { return p.Exited() }

// stop ends the process group: SIGTERM, then SIGKILL after a grace period.
func (p *proc) stop() { p.Stop() }

func stopAll() {
	for i := len(procs) - 1; i >= 0; i-- {
		procs[i].stop()
	}
	procs = nil
}

// tail returns the end of the process's log, for an error message.
func (p *proc) tail() string {
	s := strings.TrimSpace(p.Output())
	if len(s) > 1500 {
		s = "..." + s[len(s)-1500:]
	}
	return s
}

// waitReady polls ready until it succeeds, the process exits or timeout.
func (p *proc) waitReady(timeout time.Duration, ready func() error) error {
	deadline := time.Now().Add(timeout)
	for {
		err := ready()
		if err == nil {
			return nil
		}
		if p.exited() {
			return fmt.Errorf("%s exited: %s", p.Name, p.tail())
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not ready after %s: %v\n%s", p.Name, timeout, err, p.tail())
		}
		// Often at first, so that a start is timed closely (memoryGroup).
		if time.Until(deadline) > timeout-time.Second {
			time.Sleep(2 * time.Millisecond)
		} else {
			time.Sleep(25 * time.Millisecond)
		}
	}
}

func tcpReady(addr string) func() error {
	return func() error {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
		}
		return err
	}
}

func httpReady(url string) func() error {
	return func() error {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("GET %s: %s", url, resp.Status)
		}
		return nil
	}
}

// freeAddr returns a loopback address with a port free right now.
func freeAddr() string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// cpuSeconds returns the user plus system CPU time the process has used
// (utime + stime of /proc/PID/stat).
func cpuSeconds(pid int) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name (field 2) may hold spaces: fields are counted after
	// its closing parenthesis, where field 3 (the state) begins.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, errors.New("malformed /proc stat")
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return 0, errors.New("malformed /proc stat")
	}
	utime, err1 := strconv.ParseUint(f[11], 10, 64) // field 14
	stime, err2 := strconv.ParseUint(f[12], 10, 64) // field 15
	if err1 != nil || err2 != nil {
		return 0, errors.New("malformed /proc stat")
	}
	return float64(utime+stime) / clockTicks, nil
}

// clockTicks is USER_HZ, the unit of /proc's CPU times: 100 on Linux.
const clockTicks = 100

// memMB returns a field of /proc/PID/status in MB (VmRSS, VmHWM).
func memMB(pid int, field string) (float64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, rest, ok := strings.Cut(sc.Text(), ":")
		if !ok || name != field {
			continue
		}
		kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
		if err != nil {
			return 0, err
		}
		return kb / 1024, nil
	}
	return 0, fmt.Errorf("no %s in /proc/%d/status", field, pid)
}
