package audit

import (
	"bufio"
	"errors"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
)

// Options say where the audit trail goes.
type Options struct {
	// Path is the file the records are appended to; "-" means standard
	// output (the logs go to standard error, so the two stay apart).
	Path string
	// MaxSizeBytes is the size past which the file is rotated (100 MiB when
	// zero).
	MaxSizeBytes int64
	// Keep is how many rotated files are kept (path.1 ... path.N; 5 when
	// zero, none when negative).
	Keep int
	// Buffer is how many records may wait for the sink (4096 when zero);
	// past it records are dropped and counted.
	Buffer int
}

// Log is an open audit trail. Record may be called from any goroutine and
// never blocks; Close writes what is buffered.
type Log struct {
	records chan Record
	sink    sink
	log     *zap.Logger
	m       *Metrics
	done    chan struct{}

	mu     sync.RWMutex // held for reading by Record, for writing by Close
	closed bool
	// lastDropLog is when dropping was last logged (Unix ns): a stuck sink
	// is logged at most once a minute, not once per record.
	lastDropLog atomic.Int64
}

// Open opens the sink and starts the writer. log and m may be nil.
func Open(opts Options, log *zap.Logger, m *Metrics) (*Log, error) {
	if log == nil {
		log = zap.NewNop()
	}
	if opts.MaxSizeBytes <= 0 {
		opts.MaxSizeBytes = 100 << 20
	}
	switch {
	case opts.Keep == 0:
		opts.Keep = 5
	case opts.Keep < 0:
		opts.Keep = 0
	}
	if opts.Buffer <= 0 {
		opts.Buffer = 4096
	}
	var s sink
	switch opts.Path {
	case "":
		return nil, errors.New("audit.path: empty (a file, or - for standard output)")
	case "-":
		s = &streamSink{w: bufio.NewWriterSize(os.Stdout, 64<<10)}
	default:
		fs, err := openFileSink(opts.Path, opts.MaxSizeBytes, opts.Keep)
		if err != nil {
			return nil, err
		}
		s = fs
	}
	return start(s, opts.Buffer, log, m), nil
}

func start(s sink, buffer int, log *zap.Logger, m *Metrics) *Log {
	l := &Log{records: make(chan Record, buffer), sink: s, log: log, m: m, done: make(chan struct{})}
	go l.write()
	return l
}

// Record queues one record. When the buffer is full (the sink is stuck or
// slower than the requests), the record is dropped and counted; it never
// waits. A Time left zero is set to now.
func (l *Log) Record(r Record) {
	if r.Time.IsZero() {
		r.Time = time.Now()
	}
	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.closed {
		l.m.drop()
		return
	}
	select {
	case l.records <- r:
	default:
		l.m.drop()
		now, last := time.Now().UnixNano(), l.lastDropLog.Load()
		if now-last > int64(time.Minute) && l.lastDropLog.CompareAndSwap(last, now) {
			l.log.Error("audit sink is not keeping up: audit records are being dropped (see lbauthz_audit_dropped_total)")
		}
	}
}

// write is the one writer: it flushes whenever no record is waiting, so a
// record reaches the sink at once under light load and in batches under
// heavy load.
func (l *Log) write() {
	defer close(l.done)
	var lastErr time.Time
	for r := range l.records {
		err := l.writeOne(&r)
		if err == nil && len(l.records) == 0 {
			err = l.sink.flush()
		}
		if err != nil {
			l.m.writeError()
			if time.Since(lastErr) > time.Minute {
				lastErr = time.Now()
				l.log.Error("writing the audit trail failed", zap.Error(err))
			}
			continue
		}
		l.m.written(r.Outcome)
	}
}

func (l *Log) writeOne(r *Record) error {
	b, err := r.line()
	if err != nil {
		return err
	}
	return l.sink.write(b)
}

// Close stops accepting records, writes those buffered and closes the sink.
func (l *Log) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.closed = true
	close(l.records)
	l.mu.Unlock()
	<-l.done
	return l.sink.close()
}

// Metrics count the audit trail's records. A nil *Metrics counts nothing.
type Metrics struct {
	records   *prometheus.CounterVec
	dropped   prometheus.Counter
	errorsTot prometheus.Counter
}

// NewMetrics makes the metrics and registers them in reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		records: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lbauthz_audit_records_total",
			Help: "Audit records written, by outcome (issued, refused).",
		}, []string{"outcome"}),
		dropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "lbauthz_audit_dropped_total",
			Help: "Audit records dropped because the sink did not keep up (its buffer was full). Alert when it grows.",
		}),
		errorsTot: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "lbauthz_audit_write_errors_total",
			Help: "Audit records the sink refused (a write error: disk full, closed stream).",
		}),
	}
	m.records.WithLabelValues(Issued)
	m.records.WithLabelValues(Refused)
	reg.MustRegister(m.records, m.dropped, m.errorsTot)
	return m
}

func (m *Metrics) drop() {
	if m != nil {
		m.dropped.Inc()
	}
}

func (m *Metrics) writeError() {
	if m != nil {
		m.errorsTot.Inc()
	}
}

func (m *Metrics) written(outcome string) {
	if m != nil {
		if outcome != Issued {
			outcome = Refused
		}
		m.records.WithLabelValues(outcome).Inc()
	}
}
