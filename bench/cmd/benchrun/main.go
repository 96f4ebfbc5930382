// Command benchrun is the benchmark of `make bench`: it starts the sidecar,
// a floor ext_authz server that does nothing, the Express reference of the
// Liveblocks documentation, the Liveblocks dev server, Redis and nginx on
// loopback, drives them with ghz, h2load and wrk, and writes the
// figures as latest.md and latest.json.
//
// Every figure is compared with a baseline measured in the same run (the
// floor server, the direct identify-user call, nginx with the floor's
// check): absolute times on a shared machine drift, ratios much less.
//
// Usage (from the repository, after building bin/lbauthz and bin/floor):
//
//	benchrun [-out bench/results] [-rounds 5] [-only grpc,token,nginx,memory]
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"
)

func main() {
	log.SetFlags(0)
	log.SetPrefix("bench: ")
	root, _ := os.Getwd()
	var st settings
	bin := flag.String("bin", "bin", "folder holding lbauthz and floor")
	out := flag.String("out", filepath.Join("bench", "results"), "folder of latest.md and latest.json")
	only := flag.String("only", "grpc,token,nginx,memory", "groups to run")
	flag.IntVar(&st.Rounds, "rounds", 5, "rounds per group: each figure is the best of them, each ratio the median of their pairs")
	flag.DurationVar(&st.Warmup, "warmup", time.Second, "warm-up per case")
	flag.DurationVar(&st.Sat, "sat", 2*time.Second, "saturation run per case and round")
	flag.DurationVar(&st.Fixed, "fixed", 3*time.Second, "fixed-rate run per case and round")
	flag.IntVar(&st.GRPCRate, "grpc-rate", 5000, "highest fixed rate for the gRPC door (ghz's own limit is near 15,000/s on one CPU)")
	flag.IntVar(&st.HTTPRate, "http-rate", 2000, "highest fixed rate for the HTTP cases")
	flag.Float64Var(&st.RateShare, "rate-share", 0.25, "fixed rate as a share of the slowest case's saturation rate")
	flag.IntVar(&st.Sessions, "sessions", 100000, "distinct sessions cached for the memory figure")
	flag.Parse()
	st.WarmupS, st.SatS, st.FixedS = st.Warmup.Seconds(), st.Sat.Seconds(), st.Fixed.Seconds()

	groups := map[string]bool{}
	for _, g := range strings.Split(*only, ",") {
		groups[strings.TrimSpace(g)] = true
	}
	if missing := lookTools("ghz", "h2load", "wrk"); len(missing) > 0 {
		log.Fatalf("missing load generators: %s (make bench installs them)", strings.Join(missing, ", "))
	}
	for _, b := range []string{"lbauthz", "floor"} {
		if !fileExists(filepath.Join(*bin, b)) {
			log.Fatalf("%s is not built (make bench builds it)", filepath.Join(*bin, b))
		}
	}
	binAbs, _ := filepath.Abs(*bin)
	tmp, err := os.MkdirTemp("", "lbauthz-bench-")
	if err != nil {
		log.Fatal(err)
	}
	if os.Getenv("BENCH_KEEP_TMP") == "" {
		defer os.RemoveAll(tmp)
	} else {
		log.Printf("scratch files kept in %s", tmp)
	}

	e := &env{root: root, bin: binAbs, tmp: tmp, cpu: planCPUs()}
	e.load = &loadGen{cpu: e.cpu.load, dir: tmp}
	e.hmacKey = filepath.Join(tmp, "session-hmac")
	if err := os.WriteFile(e.hmacKey, []byte(hmacSecret), 0o600); err != nil {
		log.Fatal(err)
	}
	// This program's own work (signing sessions, the memory fill) stays off
	// the server's CPU too.
	if e.cpu.load != "" {
		_ = pinSelf(e.cpu.load)
	}

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		<-sig
		stopAll()
		os.Exit(130)
	}()
	defer stopAll()

	rep := &report{
		Date:     time.Now().UTC().Format("2006-01-02 15:04 MST"),
		Command:  "make bench",
		Settings: st,
		Machine: machine{
			CPUs: runtime.NumCPU(), CPUModel: cpuModel(), Pinning: e.cpu.String(),
			GoVersion: runtime.Version(), Kernel: firstLine("/proc/sys/kernel/osrelease"),
			LoadAvg: strings.Join(strings.Fields(firstLine("/proc/loadavg"))[:3], " "),
		},
	}
	t0 := time.Now()
	log.Printf("%s", e.cpu)

	var dev *server
	if groups["token"] || groups["grpc"] || groups["nginx"] || groups["memory"] {
		// The sidecar's config names Liveblocks even where it is not called.
		if dev, err = e.startDevServer(); err != nil {
			log.Printf("Liveblocks dev server: %v", err)
			dev = nil
			e.devURL = "http://127.0.0.1:9"
		} else {
			e.devURL = "http://" + dev.http
		}
	}
	if groups["grpc"] {
		log.Printf("gRPC door")
		rep.Groups = append(rep.Groups, e.grpcGroup(st))
	}
	if groups["token"] {
		log.Printf("token path")
		rep.Groups = append(rep.Groups, e.tokenGroup(st, dev))
	}
	if groups["nginx"] {
		log.Printf("nginx door")
		rep.Groups = append(rep.Groups, e.nginxGroup(st))
	}
	if groups["memory"] {
		log.Printf("memory")
		rep.Memory = e.memoryGroup(st.Sessions)
	}
	stopAll()
	rep.evaluate()

	md := rep.markdown()
	js, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		log.Fatalf("latest.json: %v", err)
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		log.Fatal(err)
	}
	for name, data := range map[string][]byte{"latest.md": []byte(md), "latest.json": append(js, '\n')} {
		if err := os.WriteFile(filepath.Join(*out, name), data, 0o644); err != nil {
			log.Fatal(err)
		}
	}
	fmt.Println()
	fmt.Print(md)
	log.Printf("done in %s; written to %s", time.Since(t0).Round(time.Second), filepath.Join(*out, "latest.{md,json}"))
}

// pinSelf moves this program to the CPUs given.
func pinSelf(cpu string) error {
	return pinned("", "taskset", "-a", "-p", "-c", cpu, fmt.Sprint(os.Getpid())).Run()
}

func cpuModel() string {
	b, _ := os.ReadFile("/proc/cpuinfo")
	for _, l := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return runtime.GOARCH
}

func firstLine(path string) string {
	b, _ := os.ReadFile(path)
	l, _, _ := strings.Cut(string(b), "\n")
	return strings.TrimSpace(l)
}
