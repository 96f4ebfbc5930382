//go:build !unix

package config

import "os"

// fileGroup reports no group where files have none.
func fileGroup(os.FileInfo) (int, bool) { return 0, false }
