package audit

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
)

// sink is where lines are written: standard output, or a rotated file.
type sink interface {
	write(line []byte) error
	flush() error
	close() error
}

type streamSink struct{ w *bufio.Writer }

func (s *streamSink) write(b []byte) error { _, err := s.w.Write(b); return err }
func (s *streamSink) flush() error         { return s.w.Flush() }
func (s *streamSink) close() error         { return s.w.Flush() }

// fileSink appends to path; when a line would make it larger than maxSize,
// the file is renamed path.1 (path.1 becomes path.2, and so on, keeping
// keep old files) and a new one is started. A line is never split across
// two files.
type fileSink struct {
	path    string
	maxSize int64
	keep    int
	f       *os.File
	w       *bufio.Writer
	size    int64
}

func openFileSink(path string, maxSize int64, keep int) (*fileSink, error) {
	s := &fileSink{path: path, maxSize: maxSize, keep: keep}
	if err := s.open(); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *fileSink) open() error {
	f, err := os.OpenFile(s.path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("audit: opening %s: %w", s.path, err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("audit: %w", err)
	}
	s.f, s.w, s.size = f, bufio.NewWriterSize(f, 64<<10), fi.Size()
	return nil
}

func (s *fileSink) write(b []byte) error {
	if s.size > 0 && s.size+int64(len(b)) > s.maxSize {
		if err := s.rotate(); err != nil {
			return err
		}
	}
	n, err := s.w.Write(b)
	s.size += int64(n)
	return err
}

func (s *fileSink) rotate() error {
	if err := s.close(); err != nil {
		return err
	}
	// Drop the oldest, then shift the others up by one.
	_ = os.Remove(s.rotated(s.keep))
	for i := s.keep - 1; i >= 1; i-- {
		if err := os.Rename(s.rotated(i), s.rotated(i+1)); err != nil && !os.IsNotExist(err) {
			return fmt.Errorf("audit: rotating: %w", err)
		}
	}
	if s.keep > 0 {
		if err := os.Rename(s.path, s.rotated(1)); err != nil {
			return fmt.Errorf("audit: rotating: %w", err)
		}
	} else if err := os.Remove(s.path); err != nil {
		return fmt.Errorf("audit: rotating: %w", err)
	}
	return s.open()
}

func (s *fileSink) rotated(i int) string {
	return filepath.Join(filepath.Dir(s.path), filepath.Base(s.path)+"."+strconv.Itoa(i))
}

func (s *fileSink) flush() error { return s.w.Flush() }

func (s *fileSink) close() error {
	ferr := s.w.Flush()
	if err := s.f.Close(); ferr == nil {
		ferr = err
	}
	return ferr
}
