package main

import (
	"debug/elf"
	"encoding/binary"
	"fmt"
	"os"
)

// sectionUse is how much of one section of a binary a process has mapped in
// memory: the section's pages present in the process's page table.
type sectionUse struct {
	Name       string  `json:"name"`
	SizeMB     float64 `json:"size_mb"`
	ResidentMB float64 `json:"resident_mb"`
}

// residentSections are the sections of a Go binary that make up most of its
// file-backed RSS: its code, its read-only data (types, strings, the
// protobuf descriptors) and the function table the runtime reads to walk
// stacks.
var residentSections = []string{".text", ".rodata", ".gopclntab"}

// sectionResidency reads, for each of residentSections, how many of its
// pages the process pid has present (/proc/PID/pagemap, bit 63 of each
// page's entry). The binary must be the one the process runs, built
// without position independence (as `make build` builds), so that its
// sections' addresses are those of the process.
func sectionResidency(pid int, path string) ([]sectionUse, error) {
	f, err := elf.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if f.Type != elf.ET_EXEC {
		return nil, fmt.Errorf("%s is position independent: its sections' addresses are not the process's", path)
	}
	pm, err := os.Open(fmt.Sprintf("/proc/%d/pagemap", pid))
	if err != nil {
		return nil, err
	}
	defer pm.Close()
	page := uint64(os.Getpagesize())
	var out []sectionUse
	for _, name := range residentSections {
		s := f.Section(name)
		if s == nil || s.Size == 0 {
			continue
		}
		first, last := s.Addr/page, (s.Addr+s.Size-1)/page
		entries := make([]byte, (last-first+1)*8)
		if _, err := pm.ReadAt(entries, int64(first*8)); err != nil {
			return nil, fmt.Errorf("pagemap of %s: %w", name, err)
		}
		var present uint64
		for i := 0; i < len(entries); i += 8 {
			if binary.LittleEndian.Uint64(entries[i:])>>63 == 1 {
				present++
			}
		}
		out = append(out, sectionUse{Name: name, SizeMB: float64(s.Size) / (1 << 20),
			ResidentMB: float64(present*page) / (1 << 20)})
	}
	return out, nil
}
