package directory

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/lbauthz/lbauthz/internal/mysqlpool"
)

// The queries of a MySQL or MariaDB directory take their parameters as ?:
//
//   - UsersQuery, GroupsQuery and RoomsQuery have one ?, which stands for
//     the list of ids: it is sent as "?, ?, ..." with one parameter per id,
//     so the query says "WHERE id IN (?)".
//   - SearchQuery's last ? is the row limit and every other ? the LIKE
//     pattern. Its "groups" column is a JSON array (JSON_ARRAYAGG) or a
//     comma-separated list (GROUP_CONCAT).
//
// For example:
//
//	SELECT u.id, GROUP_CONCAT(m.team_id) AS `groups`
//	FROM users u LEFT JOIN members m ON m.user_id = u.id
//	WHERE LOWER(u.name) LIKE ? OR LOWER(u.id) LIKE ?
//	GROUP BY u.id ORDER BY u.id LIMIT ?

// openMySQL opens a bounded database/sql pool for MySQL or MariaDB. It does
// not connect: the first query does.
func openMySQL(opts SQLOptions) (*sql.DB, error) {
	db, err := mysqlpool.Open(mysqlpool.Options{DSN: opts.DSN, Password: opts.Password,
		ConnectTimeout: opts.ConnectTimeout, Backstop: 10 * time.Second, MaxConns: opts.MaxConns})
	if err != nil {
		return nil, fmt.Errorf("directory sql: %w", err)
	}
	return db, nil
}

// mysqlByID runs a by-id query with its ? spread into one parameter per
// id.
func (s *SQLSource) mysqlByID(ctx context.Context, what, query string, ids []string) (map[string]Info, error) {
	out := make(map[string]Info, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	at := mysqlpool.Placeholders(query)
	if len(at) != 1 {
		return nil, fmt.Errorf("directory sql: %s query: it must take the ids as one ?", what)
	}
	expanded := query[:at[0]] + strings.TrimSuffix(strings.Repeat("?, ", len(ids)), ", ") + query[at[0]+1:]
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	rows, err := s.db.QueryContext(ctx, expanded, args...)
	if err != nil {
		return nil, mysqlError(what, err)
	}
	defer rows.Close()
	types, err := rows.ColumnTypes()
	if err != nil {
		return nil, mysqlError(what, err)
	}
	for rows.Next() {
		vals, err := scanRow(rows, len(types))
		if err != nil {
			return nil, mysqlError(what, err)
		}
		id, ok := textOf(vals[0])
		if !ok {
			return nil, fmt.Errorf("directory sql: %s query: the first column must be the id, a text", what)
		}
		info := Info{}
		for i := 1; i < len(vals); i++ {
			if vals[i] != nil {
				info[types[i].Name()] = mysqlValue(types[i], vals[i])
			}
		}
		out[id] = info
	}
	if err := rows.Err(); err != nil {
		return nil, mysqlError(what, err)
	}
	return out, nil
}

// mysqlSearch runs the search query: the pattern for every ? but the last,
// the limit for the last.
func (s *SQLSource) mysqlSearch(ctx context.Context, prefix string, limit int) ([]Candidate, error) {
	n := len(mysqlpool.Placeholders(s.opts.SearchQuery))
	if n < 2 {
		return nil, errors.New("directory sql: search query: it must take the pattern as ? and the limit as the last ?")
	}
	pattern := likePattern(prefix, s.escape)
	args := make([]any, n)
	for i := range n - 1 {
		args[i] = pattern
	}
	args[n-1] = limit
	rows, err := s.db.QueryContext(ctx, s.opts.SearchQuery, args...)
	if err != nil {
		return nil, mysqlError("search", err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, mysqlError("search", err)
	}
	var out []Candidate
	for rows.Next() && len(out) < limit {
		vals, err := scanRow(rows, len(cols))
		if err != nil {
			return nil, mysqlError("search", err)
		}
		id, ok := textOf(vals[0])
		if !ok {
			return nil, errors.New("directory sql: search query: the first column must be the user id, a text")
		}
		c := Candidate{ID: id}
		for i, name := range cols {
			if name == "groups" {
				c.Groups = groupList(vals[i])
			}
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, mysqlError("search", err)
	}
	return out, nil
}

func scanRow(rows *sql.Rows, n int) ([]any, error) {
	vals := make([]any, n)
	dest := make([]any, n)
	for i := range vals {
		dest[i] = &vals[i]
	}
	return vals, rows.Scan(dest...)
}

// textOf is a text column's value: the driver gives text as []byte.
func textOf(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, x != ""
	case []byte:
		return string(x), len(x) > 0
	}
	return "", false
}

// mysqlValue turns a column's value into a JSON value: a JSON column is
// decoded, other text is a string.
func mysqlValue(ct *sql.ColumnType, v any) any {
	if b, ok := v.([]byte); ok {
		if ct.DatabaseTypeName() == "JSON" {
			var j any
			if json.Unmarshal(b, &j) == nil {
				return j
			}
		}
		return string(b)
	}
	if u, ok := v.(uint64); ok && u <= 1<<53 {
		return int64(u)
	}
	return infoValue(v)
}

// groupList reads a "groups" column: a JSON array of strings, or a
// comma-separated list.
func groupList(v any) []string {
	s, ok := textOf(v)
	if !ok {
		return nil
	}
	var list []string
	if strings.HasPrefix(strings.TrimSpace(s), "[") {
		if json.Unmarshal([]byte(s), &list) != nil {
			return nil
		}
	} else {
		list = strings.Split(s, ",")
	}
	out := list[:0]
	for _, g := range list {
		if g = strings.TrimSpace(g); g != "" {
			out = append(out, g)
		}
	}
	return out
}

// mysqlError says which query failed. A server error keeps only its number
// and SQLSTATE: its message can quote a parameter.
func mysqlError(what string, err error) error {
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		return fmt.Errorf("directory sql: %s query: MySQL error %s SQLSTATE %s", what,
			strconv.Itoa(int(me.Number)), string(me.SQLState[:]))
	}
	return fmt.Errorf("directory sql: %s query: %w", what, err)
}
