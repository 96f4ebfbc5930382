package main

import (
	"os"
	"testing"
)

// The test process reads its own sections: its code has run, so some of
// .text is mapped, and never more of a section than its pages.
func TestSectionResidency_OfThisProcess(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	u, err := sectionResidency(os.Getpid(), exe)
	if err != nil {
		t.Skipf("pagemap not readable here: %v", err)
	}
	if len(u) != len(residentSections) {
		t.Fatalf("sections %+v, want %v", u, residentSections)
	}
	page := float64(os.Getpagesize()) / (1 << 20)
	for i, s := range u {
		if s.Name != residentSections[i] {
			t.Errorf("section %d is %s, want %s", i, s.Name, residentSections[i])
		}
		if s.ResidentMB > s.SizeMB+2*page {
			t.Errorf("%s: %.2f MB mapped of %.2f MB", s.Name, s.ResidentMB, s.SizeMB)
		}
	}
	if u[0].ResidentMB == 0 {
		t.Errorf("none of .text is mapped, though this code runs from it: %+v", u[0])
	}
}

// A file that is not an executable of fixed addresses is refused, not
// misread.
func TestSectionResidency_RefusesAnotherKindOfFile(t *testing.T) {
	if _, err := sectionResidency(os.Getpid(), "residency.go"); err == nil {
		t.Fatal("a file that is not an executable was read")
	}
}
