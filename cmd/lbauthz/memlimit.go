package main

import (
	"os"
	"runtime/debug"
	"strconv"
	"strings"
)

// memoryLimitBase is the memory the sidecar needs besides its session cache
// (the runtime, the listeners' buffers, the garbage of requests in flight):
// the default memory limit is this plus the cache's bound.
const memoryLimitBase = 48 << 20

// cgroupMemoryMax is where a container's memory limit is (cgroup v2).
const cgroupMemoryMax = "/sys/fs/cgroup/memory.max"

// memoryLimit is the soft memory limit the collector keeps the heap under,
// and where it comes from: GOMEMLIMIT when set (the runtime has applied it;
// the limit is then 0), else the session cache's bound plus
// memoryLimitBase, lowered to 90% of the container's memory limit when
// there is a lower one. Without a limit, Go's collector lets the heap grow
// to twice what it found live.
func memoryLimit(cacheBytes int64, getenv func(string) string, readFile func(string) ([]byte, error)) (limit int64, source string) {
	if getenv("GOMEMLIMIT") != "" {
		return 0, "GOMEMLIMIT"
	}
	limit, source = cacheBytes+memoryLimitBase, "session.cache.max_bytes"
	if b, err := readFile(cgroupMemoryMax); err == nil {
		// "max" when the container has no limit.
		if c, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64); err == nil && c > 0 && c/10*9 < limit {
			limit, source = c/10*9, cgroupMemoryMax
		}
	}
	return limit, source
}

// setMemoryLimit applies memoryLimit and returns it (0 and the source when
// GOMEMLIMIT decides).
func setMemoryLimit(cacheBytes int64) (int64, string) {
	limit, source := memoryLimit(cacheBytes, os.Getenv, os.ReadFile)
	if limit > 0 {
		debug.SetMemoryLimit(limit)
	}
	return limit, source
}
