package session

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestPHPFilesStore_ReadsRefusesAndNeverLeavesTheFolder(t *testing.T) {
	dir := t.TempDir()
	outside := filepath.Join(filepath.Dir(dir), "sess_outside")
	if err := os.WriteFile(outside, []byte(`user_id|i:1;`), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove(outside) })
	write := func(id, data string, age time.Duration) {
		p := filepath.Join(dir, "sess_"+id)
		if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
		at := time.Now().Add(-age)
		if err := os.Chtimes(p, at, at); err != nil {
			t.Fatal(err)
		}
	}
	write("alive", `user_id|i:42;`, 0)
	write("old", `user_id|i:42;`, time.Hour)
	write("object", `user_id|O:4:"Evil":0:{}`, 0)
	st, err := NewPHPFilesStore(PHPFilesOptions{Dir: dir, MaxIdle: 30 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	d, err := st.Lookup(context.Background(), "alive")
	if err != nil || d.Doc["user_id"] != int64(42) || d.Expires.IsZero() {
		t.Fatalf("doc=%v expires=%v err=%v", d.Doc, d.Expires, err)
	}
	for id, reason := range map[string]string{
		"old":          "session file: expired",
		"object":       "php session: object (PHP objects are not read)",
		"missing":      "unknown session",
		"../outside":   "php session: malformed (not a PHP session id)",
		"..%2foutside": "php session: malformed (not a PHP session id)",
		"":             "php session: malformed (not a PHP session id)",
		"a\x00b":       "php session: malformed (not a PHP session id)",
		"alive/../old": "php session: malformed (not a PHP session id)",
	} {
		if _, err := st.Lookup(context.Background(), id); !IsInvalid(err) || err.(*InvalidError).Reason != reason {
			t.Errorf("Lookup(%q) = %v, want %q", id, err, reason)
		}
	}
}
