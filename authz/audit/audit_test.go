package audit

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

func sample(i int) Record {
	return Record{
		Outcome: Issued, Status: 200, User: "user-" + string(rune('a'+i%26)), Groups: []string{"eng", "ops"},
		Room: "org-1:doc-" + strings.Repeat("x", i%7), Organization: "org-1", Mode: "access_token",
		Session: "0123456789abcdef0123456789abcdef", Door: "nginx", ClientAddr: "203.0.113.9", TraceID: "4bf92f3577b34da6a3ce929d0e0e4736",
	}
}

func readLines(t *testing.T, path string) []map[string]any {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []map[string]any
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("line %q is not JSON: %v", sc.Text(), err)
		}
		out = append(out, m)
	}
	return out
}

func TestLog_WritesOneJSONLinePerRecordWithEveryField(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	m := NewMetrics(prometheus.NewRegistry())
	l, err := Open(Options{Path: path}, nil, m)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 30, 4, 0, 0, 0, time.UTC)
	r := sample(0)
	r.Time = at
	l.Record(r)
	l.Record(Record{Outcome: Refused, Reason: "rate_limited", Status: 429, User: "user-b", Door: "envoy_grpc"})
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	lines := readLines(t, path)
	if len(lines) != 2 {
		t.Fatalf("%d lines, want 2", len(lines))
	}
	want := map[string]any{
		"stream": "lbauthz.audit", "time": "2026-11-30T04:00:00Z", "outcome": "issued", "status": 200.0,
		"user": "user-a", "room": "org-1:doc-", "organization": "org-1", "mode": "access_token",
		"session": "0123456789abcdef0123456789abcdef", "door": "nginx", "client_addr": "203.0.113.9",
		"trace_id": "4bf92f3577b34da6a3ce929d0e0e4736",
	}
	for k, v := range want {
		if lines[0][k] != v {
			t.Errorf("%s = %v, want %v", k, lines[0][k], v)
		}
	}
	if g, _ := lines[0]["groups"].([]any); len(g) != 2 {
		t.Errorf("groups = %v", lines[0]["groups"])
	}
	if lines[1]["reason"] != "rate_limited" || lines[1]["outcome"] != "refused" || lines[1]["time"] == nil {
		t.Errorf("refusal line %v", lines[1])
	}
	if _, ok := lines[1]["room"]; ok {
		t.Error("an empty field is written")
	}
	if testutil.ToFloat64(m.records.WithLabelValues(Issued)) != 1 || testutil.ToFloat64(m.records.WithLabelValues(Refused)) != 1 {
		t.Error("records not counted by outcome")
	}
}

func TestLog_RotatesBySizeAndKeepsN(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "audit.jsonl")
	l, err := Open(Options{Path: path, MaxSizeBytes: 2000, Keep: 2}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	const n = 200
	for i := range n {
		l.Record(sample(i))
		if i%10 == 0 {
			time.Sleep(time.Millisecond) // let the writer rotate several times
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(path + "*")
	if len(files) != 3 {
		t.Fatalf("files %v, want the current one and 2 rotated", files)
	}
	for _, f := range files {
		fi, _ := os.Stat(f)
		if fi.Size() > 2000 {
			t.Errorf("%s is %d bytes, over the 2000 of MaxSizeBytes", f, fi.Size())
		}
		for _, line := range readLines(t, f) { // whole lines only
			if line["outcome"] != "issued" {
				t.Errorf("%s: a broken record %v", f, line)
			}
		}
	}
	if _, err := os.Stat(path + ".3"); !os.IsNotExist(err) {
		t.Error("more rotated files kept than Keep")
	}
}

func TestLog_AStuckSinkDropsAndCountsWithoutBlockingTheCaller(t *testing.T) {
	// A pipe nobody reads is a real stuck stream (a collector that stopped
	// reading standard output): its writes block once the kernel's buffer is
	// full.
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	core, logs := observer.New(zapcore.WarnLevel)
	m := NewMetrics(prometheus.NewRegistry())
	l := start(&streamSink{w: bufio.NewWriterSize(pw, 4096)}, 64, zap.New(core), m)

	const n = 20000
	startAt := time.Now()
	for i := range n {
		l.Record(sample(i))
	}
	elapsed := time.Since(startAt)
	if elapsed > 2*time.Second {
		t.Fatalf("%d records took %v to queue: recording waits on the sink", n, elapsed)
	}
	dropped := testutil.ToFloat64(m.dropped)
	if dropped == 0 || dropped >= n {
		t.Fatalf("dropped %v of %d, want some (the pipe holds far less than all of them) but not all", dropped, n)
	}
	if got := logs.FilterMessageSnippet("being dropped").Len(); got != 1 {
		t.Fatalf("%d log lines about dropping, want 1 (at most one a minute)", got)
	}
	// Reading the stream unsticks it: the writer drains the buffer.
	go func() {
		buf := make([]byte, 64<<10)
		for {
			if _, err := pr.Read(buf); err != nil {
				return
			}
		}
	}()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	written := testutil.ToFloat64(m.records.WithLabelValues(Issued))
	if written+dropped != n || testutil.ToFloat64(m.errorsTot) != 0 {
		t.Fatalf("written %v + dropped %v != %d: a record was lost without being counted", written, dropped, n)
	}
}

func TestOpen_RefusesAnEmptyPathAndAnUnwritableFile(t *testing.T) {
	if _, err := Open(Options{}, nil, nil); err == nil {
		t.Error("empty path accepted")
	}
	if _, err := Open(Options{Path: filepath.Join(t.TempDir(), "missing", "audit.jsonl")}, nil, nil); err == nil {
		t.Error("a file in a missing folder accepted")
	}
}
