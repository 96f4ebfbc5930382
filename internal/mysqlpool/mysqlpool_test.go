package mysqlpool

import (
	"reflect"
	"strings"
	"testing"
)

func TestPlaceholders_OnlyOutsideQuotesAndComments(t *testing.T) {
	for _, tc := range []struct {
		query string
		want  []int
	}{
		{"SELECT a FROM t WHERE id = ?", []int{27}},
		{"SELECT '?', \"?\", `?` FROM t WHERE a = ? AND b = ?", []int{38, 48}},
		{`SELECT 'it\'s ?' FROM t WHERE a = ?`, []int{34}},
		{"SELECT a -- why?\nFROM t # and?\nWHERE a = ? /* ? */ LIMIT ?", []int{41, 57}},
		{"SELECT a FROM t WHERE a = ? /* unterminated ?", []int{26}},
		{"SELECT a-b FROM t", nil},
	} {
		got := Placeholders(tc.query)
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("Placeholders(%q) = %v, want %v", tc.query, got, tc.want)
		}
		for _, at := range got {
			if tc.query[at] != '?' {
				t.Errorf("Placeholders(%q): offset %d is %q, not ?", tc.query, at, tc.query[at])
			}
		}
	}
}

func TestOpen_ABadDSNIsAnErrorWithoutThePassword(t *testing.T) {
	_, err := Open(Options{DSN: "app:s3cret@tcp(db:3306/app", Password: "other-s3cret"})
	if err == nil || !strings.HasPrefix(err.Error(), "dsn: ") {
		t.Fatalf("err = %v, want one beginning \"dsn: \"", err)
	}
	if strings.Contains(err.Error(), "s3cret") {
		t.Fatalf("the error names a password: %v", err)
	}
	db, err := Open(Options{DSN: "app@tcp(127.0.0.1:1)/app", Password: "pw", MaxConns: 2})
	if err != nil {
		t.Fatalf("a good DSN: %v", err)
	}
	if n := db.Stats().MaxOpenConnections; n != 2 {
		t.Fatalf("max open connections %d, want 2", n)
	}
	db.Close()
}
