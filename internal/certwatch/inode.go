package certwatch

import (
	"os"
	"syscall"
)

// inodeOf returns the file's inode number, or 0 where the platform has none.
func inodeOf(fi os.FileInfo) uint64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return uint64(st.Ino)
	}
	return 0
}
