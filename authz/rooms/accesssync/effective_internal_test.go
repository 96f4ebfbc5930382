package accesssync

import (
	"slices"
	"strings"
	"testing"

	"github.com/lbauthz/lbauthz/liveblocks"
)

func TestAccessesFor_UserEntryThenGroupsMergedToTheHighestThenDefault(t *testing.T) {
	p := func(s string) []liveblocks.Permission {
		out := []liveblocks.Permission{}
		for _, x := range strings.Split(s, ",") {
			if x != "" {
				out = append(out, liveblocks.Permission(x))
			}
		}
		return out
	}
	a := Accesses{
		Default: p("*:read"),
		Groups: map[string][]liveblocks.Permission{
			"readers":  p("*:read"),
			"writers":  p("*:write,comments:read"),
			"storage":  p("*:read,storage:write"),
			"nothing":  p(""),
			"feedless": p("*:read,feeds:none"),
		},
		Users: map[string][]liveblocks.Permission{"alice": p("*:read,room:presence:write"), "banned": p("")},
	}
	for _, tc := range []struct {
		name, user string
		groups     []string
		want       string
		applies    string
	}{
		{"the user's own entry wins over their groups", "alice", []string{"writers"}, "*:read,room:presence:write", "user"},
		{"an empty user entry is no access, whatever the groups", "banned", []string{"writers"}, "", "user"},
		{"one group", "bob", []string{"readers"}, "*:read", "groups"},
		{"write base beats read, a feature scope kept where it lowers write", "bob", []string{"readers", "writers"}, "*:write,comments:read", "groups"},
		{"a feature raised above the read base", "bob", []string{"readers", "storage"}, "*:read,storage:write", "groups"},
		{"a group with no access adds nothing", "bob", []string{"nothing", "readers"}, "*:read", "groups"},
		{"only a group with no access: none", "bob", []string{"nothing"}, "", "groups"},
		{"a none feature lifted by another group's base", "bob", []string{"feedless", "readers"}, "*:read", "groups"},
		{"no entry: the default", "carol", []string{"strangers"}, "*:read", "default"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, applies := a.For(tc.user, tc.groups)
			s := make([]string, len(got))
			for i, x := range got {
				s[i] = string(x)
			}
			if strings.Join(s, ",") != tc.want || applies != tc.applies {
				t.Fatalf("got %q (%s), want %q (%s)", s, applies, tc.want, tc.applies)
			}
			if len(got) > 0 {
				if err := liveblocks.ValidatePermissions(got); err != nil {
					t.Fatalf("%v is not a valid set: %v", got, err)
				}
			}
		})
	}
}

func TestMySQLQuery_NumberedParametersBecomeQuestionMarksOutsideQuotesAndComments(t *testing.T) {
	for _, tc := range []struct {
		name, query, want string
		order             []int
		err               string
	}{
		{"room id and a capture, reused", "SELECT 'default', '', '' FROM d WHERE id = $2 UNION ALL SELECT 'user', u, r FROM s WHERE d = $2 AND room = $1",
			"SELECT 'default', '', '' FROM d WHERE id = ? UNION ALL SELECT 'user', u, r FROM s WHERE d = ? AND room = ?", []int{2, 2, 1}, ""},
		{"a $1 in a string is text", "SELECT 'cost $1', \"$2\", `$3` FROM t WHERE a = $1", "SELECT 'cost $1', \"$2\", `$3` FROM t WHERE a = ?", []int{1}, ""},
		{"comments are left alone", "SELECT a -- $2 ?\nFROM t # $3 ?\nWHERE b = $1 /* $4 ? */", "SELECT a -- $2 ?\nFROM t # $3 ?\nWHERE b = ? /* $4 ? */", []int{1}, ""},
		{"an escaped quote inside a string", `SELECT 'it\'s $2' FROM t WHERE a = $1`, `SELECT 'it\'s $2' FROM t WHERE a = ?`, []int{1}, ""},
		{"a ? placeholder is refused", "SELECT a FROM t WHERE b = ?", "", nil, "not ?"},
		{"no parameter", "SELECT 'default', '', ''", "", nil, "uses no parameter"},
		{"$0 is no parameter", "SELECT a FROM t WHERE b = $0", "", nil, "$0 is not a parameter"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q, order, err := mysqlQuery(tc.query)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want one saying %q", err, tc.err)
				}
				return
			}
			if err != nil || q != tc.want || !slices.Equal(order, tc.order) {
				t.Fatalf("got %q %v %v\nwant %q %v", q, order, err, tc.want, tc.order)
			}
		})
	}
}
