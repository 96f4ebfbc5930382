package main

import (
	"errors"
	"io/fs"
	"testing"
)

func TestMemoryLimit_FollowsTheCacheTheContainerAndTheEnvironment(t *testing.T) {
	const mib = 1 << 20
	noFile := func(string) ([]byte, error) { return nil, fs.ErrNotExist }
	file := func(content string) func(string) ([]byte, error) {
		return func(p string) ([]byte, error) {
			if p != cgroupMemoryMax {
				return nil, errors.New("unexpected path " + p)
			}
			return []byte(content), nil
		}
	}
	env := func(v string) func(string) string {
		return func(k string) string {
			if k == "GOMEMLIMIT" {
				return v
			}
			return ""
		}
	}
	for _, tc := range []struct {
		name       string
		cache      int64
		getenv     func(string) string
		readFile   func(string) ([]byte, error)
		wantLimit  int64
		wantSource string
	}{
		{"outside a container: the cache's bound and a base", 64 * mib, env(""), noFile, 112 * mib, "session.cache.max_bytes"},
		{"a container without a limit", 64 * mib, env(""), file("max\n"), 112 * mib, "session.cache.max_bytes"},
		{"a container with a lower limit: 90% of it", 64 * mib, env(""), file("104857600\n"), 94371840, cgroupMemoryMax},
		{"a container with a higher limit", 64 * mib, env(""), file("1073741824\n"), 112 * mib, "session.cache.max_bytes"},
		{"an unreadable limit is no limit", 64 * mib, env(""), file("garbage"), 112 * mib, "session.cache.max_bytes"},
		{"the cache disabled: the base alone", 0, env(""), noFile, 48 * mib, "session.cache.max_bytes"},
		{"GOMEMLIMIT decides", 64 * mib, env("300MiB"), file("104857600"), 0, "GOMEMLIMIT"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			limit, source := memoryLimit(tc.cache, tc.getenv, tc.readFile)
			if limit != tc.wantLimit || source != tc.wantSource {
				t.Fatalf("memoryLimit = %d from %s, want %d from %s", limit, source, tc.wantLimit, tc.wantSource)
			}
		})
	}
}
