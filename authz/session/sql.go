package session

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/lbauthz/lbauthz/internal/pgpool"
)

// SQLOptions configures a SQLStore.
type SQLOptions struct {
	// Driver is "postgres" (pgx, the default) or "mysql" (MySQL and
	// MariaDB, go-sql-driver/mysql).
	Driver string
	// DSN is the connection string, without the password: a PostgreSQL URL
	// or key=value string, or a go-sql-driver/mysql DSN
	// (user@tcp(host:3306)/dbname).
	DSN      string
	Password string

	// Query reads one session; its one parameter is the session id, written
	// the driver's way: $1 for PostgreSQL, ? for MySQL.
	Query string
	// JSONColumn names the column holding the session document. When
	// empty, each column of the row is a key of the document.
	JSONColumn string
	// DecodeColumn reads JSONColumn's value; nil reads a JSON document
	// (DecodeDocument). It returns an *InvalidError for a bad session.
	DecodeColumn func([]byte) (map[string]any, error)
	// ExpiresColumn names a column holding when the session ends.
	ExpiresColumn string
	// IdleColumn names a column holding when the session was last used;
	// the session ends MaxIdle after it (Laravel's last_activity and
	// SESSION_LIFETIME).
	IdleColumn string
	MaxIdle    time.Duration
	// GroupsQuery, when set, reads the user's group ids (the first column of
	// each row); its one parameter ($1, or ? for MySQL) is the user id found
	// at UserIDPath.
	// The ids go in the document under GroupsKey.
	GroupsQuery string
	UserIDPath  string
	GroupsKey   string

	// UserQuery, when set, reads the session's user: its one parameter
	// ($1, or ? for MySQL) is the user id at UserIDPath, and its first row's columns
	// go to CheckUser, which refuses a session its user no longer holds.
	// No row: the user is gone, and the session invalid.
	UserQuery string
	CheckUser func(doc, user map[string]any) error

	// Timeout bounds one lookup, both queries (1s when zero).
	Timeout time.Duration
	// ConnectTimeout bounds opening one connection (2s when zero).
	ConnectTimeout time.Duration
	// MaxConns bounds the pool (10 when zero).
	MaxConns int32
}

// SQLStore reads sessions from PostgreSQL, MySQL or MariaDB with
// configured, parameterized queries.
type SQLStore struct {
	pool *pgxpool.Pool // postgres
	db   *sql.DB       // mysql
	opts SQLOptions
	now  func() time.Time
}

// NewSQLStore returns a store; it does not connect until the first lookup,
// so the sidecar starts while the database is down.
func NewSQLStore(opts SQLOptions) (*SQLStore, error) {
	if opts.Query == "" {
		return nil, errors.New("sql: no query")
	}
	if opts.GroupsQuery != "" && opts.UserIDPath == "" {
		return nil, errors.New("sql: the groups query needs the user id path")
	}
	if opts.GroupsKey == "" {
		opts.GroupsKey = "groups"
	}
	if opts.UserQuery != "" && (opts.CheckUser == nil || opts.UserIDPath == "") {
		return nil, errors.New("sql: the user query needs a check and the user id path")
	}
	if opts.IdleColumn != "" && opts.MaxIdle <= 0 {
		return nil, errors.New("sql: the idle column needs a positive max idle time")
	}
	if opts.DecodeColumn == nil {
		opts.DecodeColumn = DecodeDocument
	}
	if opts.Timeout <= 0 {
		opts.Timeout = time.Second
	}
	if opts.ConnectTimeout <= 0 {
		opts.ConnectTimeout = 2 * time.Second
	}
	if opts.MaxConns <= 0 {
		opts.MaxConns = 10
	}
	switch opts.Driver {
	case "", "postgres":
	case "mysql":
		db, err := openMySQL(opts)
		if err != nil {
			return nil, err
		}
		return &SQLStore{db: db, opts: opts, now: time.Now}, nil
	default:
		return nil, fmt.Errorf("sql: driver %q is not one of postgres, mysql", opts.Driver)
	}
	pool, err := pgpool.Open(pgpool.Options{DSN: opts.DSN, Password: opts.Password,
		ConnectTimeout: opts.ConnectTimeout, MaxConns: opts.MaxConns,
		Tune: func(cfg *pgxpool.Config) {
			cfg.MaxConnIdleTime = 5 * time.Minute
			cfg.HealthCheckPeriod = 15 * time.Second
		}})
	if err != nil {
		return nil, fmt.Errorf("sql: %w", err)
	}
	return &SQLStore{pool: pool, opts: opts, now: time.Now}, nil
}

// Lookup runs the session query (and the groups query) for one id.
func (s *SQLStore) Lookup(ctx context.Context, id string) (Data, error) {
	if id == "" {
		return Data{}, Invalid("empty session id")
	}
	ctx, cancel := context.WithTimeout(ctx, s.opts.Timeout)
	defer cancel()
	var doc map[string]any
	var expires time.Time
	var err error
	if s.db != nil {
		doc, expires, err = s.mysqlSession(ctx, id)
	} else {
		var rows pgx.Rows
		if rows, err = s.pool.Query(ctx, s.opts.Query, id); err != nil {
			return Data{}, sqlError(err, id)
		}
		doc, expires, err = s.readSession(rows, id)
	}
	if err != nil {
		return Data{}, err
	}
	if !expires.IsZero() && !s.now().Before(expires) {
		return Data{}, Invalid("expired")
	}
	if s.opts.UserQuery != "" {
		if uid := lookup(doc, s.opts.UserIDPath); uid != nil {
			if err := s.checkUser(ctx, doc, uid); err != nil {
				return Data{}, err
			}
		}
	}
	if s.opts.GroupsQuery != "" {
		if uid := lookup(doc, s.opts.UserIDPath); uid != nil {
			groups, err := s.groups(ctx, uid)
			if err != nil {
				return Data{}, err
			}
			doc[s.opts.GroupsKey] = groups
		}
	}
	return Data{Doc: doc, Expires: expires}, nil
}

func (s *SQLStore) readSession(rows pgx.Rows, id string) (map[string]any, time.Time, error) {
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return nil, time.Time{}, sqlError(err, id)
		}
		return nil, time.Time{}, Invalid("unknown session")
	}
	fields := rows.FieldDescriptions()
	dest := make([]any, len(fields))
	for i, f := range fields {
		if f.DataTypeOID == pgtype.JSONOID || f.DataTypeOID == pgtype.JSONBOID || f.Name == s.opts.JSONColumn {
			dest[i] = new([]byte)
		} else {
			dest[i] = new(any)
		}
	}
	if err := rows.Scan(dest...); err != nil {
		return nil, time.Time{}, sqlError(err, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, time.Time{}, sqlError(err, id)
	}

	names := make([]string, len(fields))
	for i, f := range fields {
		names[i] = f.Name
	}
	return s.document(names, dest)
}

// document builds the session document from one row: names are the
// columns' names, dest what they were scanned into (*[]byte for JSON
// columns, *any for others).
func (s *SQLStore) document(names []string, dest []any) (map[string]any, time.Time, error) {
	var doc map[string]any
	var expires time.Time
	jsonFound := s.opts.JSONColumn == ""
	if jsonFound {
		doc = make(map[string]any, len(names))
	}
	for i, name := range names {
		var v any
		switch d := dest[i].(type) {
		case *[]byte:
			if name == s.opts.JSONColumn {
				jsonFound = true
				if *d == nil {
					return nil, time.Time{}, Invalid("the session document is null")
				}
				m, err := s.opts.DecodeColumn(*d)
				if err != nil {
					return nil, time.Time{}, err
				}
				doc = m
				continue
			}
			if *d != nil {
				if err := json.Unmarshal(*d, &v); err != nil {
					return nil, time.Time{}, Invalid("column " + strconv.Quote(name) + " is not JSON")
				}
			}
		case *any:
			v = sqlValue(*d)
		}
		if name == s.opts.ExpiresColumn {
			if t, ok := expiresAt(v); ok {
				expires = earliest(expires, t)
			}
		}
		if name == s.opts.IdleColumn {
			t, ok := expiresAt(v)
			if !ok {
				return nil, time.Time{}, Invalid("column " + strconv.Quote(name) + " is not a time")
			}
			expires = earliest(expires, t.Add(s.opts.MaxIdle))
		}
		if s.opts.JSONColumn == "" {
			doc[name] = v
		}
	}
	if !jsonFound {
		return nil, time.Time{}, &UnavailableError{Err: fmt.Errorf("sql: the query has no column %q", s.opts.JSONColumn)}
	}
	return doc, expires, nil
}

func (s *SQLStore) groups(ctx context.Context, uid any) ([]any, error) {
	if s.db != nil {
		return s.mysqlGroups(ctx, uid)
	}
	param := fmt.Sprint(uid)
	rows, err := s.pool.Query(ctx, s.opts.GroupsQuery, uid)
	if err != nil {
		return nil, sqlError(err, param)
	}
	defer rows.Close()
	groups := []any{}
	for rows.Next() {
		var v any
		if err := rows.Scan(&v); err != nil {
			return nil, sqlError(err, param)
		}
		if g := sqlValue(v); g != nil {
			groups = append(groups, g)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, sqlError(err, param)
	}
	return groups, nil
}

// checkUser runs the user query and the check of its row.
func (s *SQLStore) checkUser(ctx context.Context, doc map[string]any, uid any) error {
	if s.db != nil {
		return s.mysqlCheckUser(ctx, doc, uid)
	}
	param := fmt.Sprint(uid)
	rows, err := s.pool.Query(ctx, s.opts.UserQuery, uid)
	if err != nil {
		return sqlError(err, param)
	}
	users, err := pgx.CollectRows(rows, pgx.RowToMap)
	if err != nil {
		return sqlError(err, param)
	}
	if len(users) == 0 {
		return Invalid("the session's user is gone")
	}
	return s.opts.CheckUser(doc, users[0])
}

// Close closes the connection pool.
func (s *SQLStore) Close() error {
	if s.db != nil {
		return s.db.Close()
	}
	s.pool.Close()
	return nil
}

// sqlValue turns a value pgx or go-sql-driver/mysql decoded into one a
// session document holds: strings, int64, float64, bool, nil, lists and
// objects.
func sqlValue(v any) any {
	switch x := v.(type) {
	case nil, string, bool, int64, float64, map[string]any:
		return x
	case int8:
		return int64(x)
	case int16:
		return int64(x)
	case int32:
		return int64(x)
	case int:
		return int64(x)
	case uint8:
		return int64(x)
	case uint16:
		return int64(x)
	case uint32:
		return int64(x)
	case uint64: // MySQL's BIGINT UNSIGNED
		if x > math.MaxInt64 {
			return json.Number(strconv.FormatUint(x, 10))
		}
		return int64(x)
	case float32:
		return float64(x)
	case []byte:
		return string(x)
	case time.Time:
		return x.UTC().Format(time.RFC3339Nano)
	case [16]byte: // uuid
		return pgtype.UUID{Bytes: x, Valid: true}.String()
	case pgtype.Numeric:
		if b, err := x.MarshalJSON(); err == nil {
			return json.Number(b)
		}
		return nil
	case *big.Int:
		return json.Number(x.String())
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = sqlValue(e)
		}
		return out
	case fmt.Stringer:
		return x.String()
	}
	return nil
}

// sqlError turns a database error into a store error. Messages can quote
// the parameter, which is the session id or the user id (PostgreSQL's
// `invalid input syntax for type uuid: "..."`, pgx's `unable to encode
// "..."`): only the SQLSTATE code of a database error is kept, and other
// messages have the parameter cut out. A parameter that does not fit the
// column's type (SQLSTATE class 22, or pgx refusing to encode it) means no
// such session.
func sqlError(err error, param string) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		if len(pe.Code) == 5 && pe.Code[:2] == "22" {
			return Invalid("session id not accepted by the query (SQLSTATE " + pe.Code + ")")
		}
		return &UnavailableError{Err: errors.New("sql: " + pe.Severity + " SQLSTATE " + pe.Code)}
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return &UnavailableError{Err: errors.New("sql: timeout")}
	case errors.Is(err, context.Canceled):
		return &UnavailableError{Err: errors.New("sql: canceled")}
	}
	msg := err.Error()
	if strings.Contains(msg, "failed to encode args") {
		return Invalid("session id not accepted by the query (its type)")
	}
	if param != "" {
		msg = strings.ReplaceAll(msg, param, "<parameter>")
	}
	return &UnavailableError{Err: errors.New("sql: " + msg)}
}
