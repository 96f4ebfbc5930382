package accesssync

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/lbauthz/lbauthz/internal/mysqlpool"
)

// newMySQLSource opens a bounded database/sql pool for MySQL or MariaDB. It
// does not connect: the first query does.
func newMySQLSource(opts SQLOptions) (*SQLSource, error) {
	query, order, err := mysqlQuery(opts.Query)
	if err != nil {
		return nil, fmt.Errorf("access source sql: %w", err)
	}
	cfg, err := mysql.ParseDSN(opts.DSN)
	if err != nil {
		// The driver's DSN errors name the part that is wrong, not the DSN.
		return nil, fmt.Errorf("access source sql: dsn: %w", err)
	}
	db, err := mysqlpool.Open(mysqlpool.Options{DSN: opts.DSN, Password: opts.Password,
		ConnectTimeout: opts.ConnectTimeout, Backstop: 10 * time.Second, MaxConns: opts.MaxConns})
	if err != nil {
		return nil, fmt.Errorf("access source sql: %w", err)
	}
	where := "mysql " + cfg.Addr + "/" + cfg.DBName
	return &SQLSource{db: db, order: order, query: query, args: opts.Args, where: where}, nil
}

// mysqlQuery turns the $1, $2, ... of query into ? placeholders, and
// returns the N of each, in order. Quoted strings and names ('...', "...",
// `...`) and comments (-- , #, /* */) are left as they are
// (mysqlpool.Find); a ? outside them is an error, since the parameters are
// named by number.
func mysqlQuery(q string) (string, []int, error) {
	at := mysqlpool.Find(q, func(q string, i int) bool {
		return q[i] == '?' || (q[i] == '$' && i+1 < len(q) && isDigit(q[i+1]))
	})
	var b strings.Builder
	var order []int
	done := 0
	for _, i := range at {
		if q[i] == '?' {
			return "", nil, errors.New("query: write the parameters as $1 (the room id), $2, ... (the room pattern's captures), not ?")
		}
		j := i + 1
		for j < len(q) && isDigit(q[j]) {
			j++
		}
		n, err := strconv.Atoi(q[i+1 : j])
		if err != nil || n < 1 {
			return "", nil, fmt.Errorf("query: %s is not a parameter ($1 is the room id)", q[i:j])
		}
		order = append(order, n)
		b.WriteString(q[done:i])
		b.WriteByte('?')
		done = j
	}
	if len(order) == 0 {
		return "", nil, errors.New("query: uses no parameter; $1 is the room id, $2, ... the room pattern's captures")
	}
	b.WriteString(q[done:])
	return b.String(), order, nil
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// mysqlAccesses runs the query with args ($1 first) for roomID.
func (s *SQLSource) mysqlAccesses(ctx context.Context, roomID string, args []any) (Accesses, bool, error) {
	params := make([]any, len(s.order))
	for i, n := range s.order {
		if n > len(args) {
			return Accesses{}, false, fmt.Errorf("access source sql: the query uses $%d, but the room pattern has %d captures", n, len(args)-1)
		}
		params[i] = args[n-1]
	}
	rows, err := s.db.QueryContext(ctx, s.query, params...)
	if err != nil {
		return Accesses{}, false, mysqlError(err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return Accesses{}, false, mysqlError(err)
	}
	if len(cols) != 3 {
		return Accesses{}, false, fmt.Errorf("access source sql: a row has %d columns, want 3 (kind, id, permissions)", len(cols))
	}
	b := newBuilder()
	for rows.Next() {
		var kind, id, perms sql.NullString
		if err := rows.Scan(&kind, &id, &perms); err != nil {
			return Accesses{}, false, mysqlError(err)
		}
		if err := b.add(kind.String, id.String, permStrings(perms.String)); err != nil {
			return Accesses{}, false, fmt.Errorf("access source sql: room %q: %w", roomID, err)
		}
	}
	if err := rows.Err(); err != nil {
		return Accesses{}, false, mysqlError(err)
	}
	return b.result()
}

// mysqlError keeps a server error's number and SQLSTATE, and the message of
// any other error (the driver's never hold the password).
func mysqlError(err error) error {
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		return fmt.Errorf("access source sql: MySQL error %d SQLSTATE %s: %s", me.Number, string(me.SQLState[:]), me.Message)
	}
	return fmt.Errorf("access source sql: %w", err)
}
