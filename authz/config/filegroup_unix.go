//go:build unix

package config

import (
	"os"
	"syscall"
)

// fileGroup returns the group that owns a file.
func fileGroup(fi os.FileInfo) (int, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, false
	}
	return int(st.Gid), true
}
