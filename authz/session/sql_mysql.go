package session

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

// openMySQL opens a bounded database/sql pool for MySQL or MariaDB. It does
// not connect: the first lookup does.
func openMySQL(opts SQLOptions) (*sql.DB, error) {
	db, err := mysqlpool.Open(mysqlpool.Options{DSN: opts.DSN, Password: opts.Password,
		ConnectTimeout: opts.ConnectTimeout, Backstop: opts.Timeout + opts.ConnectTimeout, MaxConns: opts.MaxConns})
	if err != nil {
		return nil, fmt.Errorf("sql: %w", err)
	}
	return db, nil
}

// mysqlSession runs the session query and reads its first row.
func (s *SQLStore) mysqlSession(ctx context.Context, id string) (map[string]any, time.Time, error) {
	rows, err := s.db.QueryContext(ctx, s.opts.Query, id)
	if err != nil {
		return nil, time.Time{}, mysqlError(err, id)
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return nil, time.Time{}, mysqlError(err, id)
		}
		return nil, time.Time{}, Invalid("unknown session")
	}
	types, err := rows.ColumnTypes()
	if err != nil {
		return nil, time.Time{}, mysqlError(err, id)
	}
	names := make([]string, len(types))
	dest := make([]any, len(types))
	for i, ct := range types {
		names[i] = ct.Name()
		// MySQL's JSON type; MariaDB's JSON is text, read as JSON only
		// when it is json_column.
		if ct.DatabaseTypeName() == "JSON" || ct.Name() == s.opts.JSONColumn {
			dest[i] = new([]byte)
		} else {
			dest[i] = new(any)
		}
	}
	if err := rows.Scan(dest...); err != nil {
		return nil, time.Time{}, mysqlError(err, id)
	}
	if err := rows.Close(); err != nil {
		return nil, time.Time{}, mysqlError(err, id)
	}
	if err := rows.Err(); err != nil {
		return nil, time.Time{}, mysqlError(err, id)
	}
	return s.document(names, dest)
}

// mysqlGroups runs the groups query for one user id.
func (s *SQLStore) mysqlGroups(ctx context.Context, uid any) ([]any, error) {
	param := fmt.Sprint(uid)
	rows, err := s.db.QueryContext(ctx, s.opts.GroupsQuery, uid)
	if err != nil {
		return nil, mysqlError(err, param)
	}
	defer rows.Close()
	groups := []any{}
	for rows.Next() {
		var v any
		if err := rows.Scan(&v); err != nil {
			return nil, mysqlError(err, param)
		}
		if g := sqlValue(v); g != nil {
			groups = append(groups, g)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, mysqlError(err, param)
	}
	return groups, nil
}

// mysqlCheckUser runs the user query and the check of its first row, whose
// columns are read as the session query's are.
func (s *SQLStore) mysqlCheckUser(ctx context.Context, doc map[string]any, uid any) error {
	param := fmt.Sprint(uid)
	rows, err := s.db.QueryContext(ctx, s.opts.UserQuery, uid)
	if err != nil {
		return mysqlError(err, param)
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return mysqlError(err, param)
		}
		return Invalid("the session's user is gone")
	}
	names, err := rows.Columns()
	if err != nil {
		return mysqlError(err, param)
	}
	dest := make([]any, len(names))
	for i := range dest {
		dest[i] = new(any)
	}
	if err := rows.Scan(dest...); err != nil {
		return mysqlError(err, param)
	}
	user := make(map[string]any, len(names))
	for i, name := range names {
		user[name] = sqlValue(*dest[i].(*any))
	}
	return s.opts.CheckUser(doc, user)
}

// mysqlError turns a MySQL error into a store error. Server messages can
// quote the parameter (`Incorrect DATETIME value: '...'`): only the error
// number and SQLSTATE are kept. A parameter that does not fit the column
// (SQLSTATE class 22), or that database/sql cannot send, means no such
// session.
func mysqlError(err error, param string) error {
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		state := string(me.SQLState[:])
		if strings.HasPrefix(state, "22") {
			return Invalid("session id not accepted by the query (SQLSTATE " + state + ")")
		}
		return &UnavailableError{Err: errors.New("sql: MySQL error " + strconv.Itoa(int(me.Number)) + " SQLSTATE " + state)}
	}
	if strings.Contains(err.Error(), "converting argument") {
		return Invalid("session id not accepted by the query (its type)")
	}
	return sqlError(err, param)
}
