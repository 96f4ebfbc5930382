package directory

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/lbauthz/lbauthz/internal/pgpool"
)

// SQLOptions configures a SQLSource.
type SQLOptions struct {
	// Driver is "postgres" (pgx; the default when empty) or "mysql" (MySQL
	// and MariaDB, go-sql-driver/mysql). The queries below are written for
	// PostgreSQL; for MySQL they take their parameters as ? (see
	// sql_mysql.go).
	Driver string
	// DSN is the connection string without the password, a PostgreSQL URL
	// or key=value string, or a go-sql-driver/mysql DSN.
	DSN      string
	Password string

	// UsersQuery reads users by id; its one parameter ($1) is the ids, a
	// text[]: "SELECT id, name, avatar FROM users WHERE id = ANY($1)". The
	// first column is the id; every other non-null column is a field of the
	// user's info, under the column's name.
	UsersQuery string
	// GroupsQuery reads groups by id, in the same way (name, avatar,
	// description).
	GroupsQuery string
	// RoomsQuery, optional, reads rooms by id, in the same way (name, url).
	RoomsQuery string
	// SearchQuery finds users for a mention: $1 is a LIKE pattern (the
	// lower-case prefix with %, _ and the escape character escaped, then
	// %), $2 the most rows wanted. The escape character is the query's own
	// (c in ESCAPE 'c'), else \, LIKE's default. The first column is the user id; a column named "groups"
	// (text[]) gives the user's groups. For example:
	//
	//	SELECT u.id, array_remove(array_agg(m.team_id), NULL) AS groups
	//	FROM users u LEFT JOIN members m ON m.user_id = u.id
	//	WHERE lower(u.name) LIKE $1 OR lower(u.id) LIKE $1
	//	GROUP BY u.id ORDER BY u.id LIMIT $2
	//
	// An index on lower(name) text_pattern_ops keeps the prefix search off
	// a full scan.
	SearchQuery string

	// ConnectTimeout bounds opening one connection (2s when zero).
	ConnectTimeout time.Duration
	// MaxConns bounds the pool (5 when zero).
	MaxConns int32
}

// SQLSource is a directory in the app's tables, read with configured,
// parameterized queries.
type SQLSource struct {
	pool *pgxpool.Pool // postgres
	db   *sql.DB       // mysql
	opts SQLOptions
	// escape is the search query's LIKE escape character.
	escape rune
}

var _ Source = (*SQLSource)(nil)

// NewSQLSource returns a source; it does not connect until the first
// query.
func NewSQLSource(opts SQLOptions) (*SQLSource, error) {
	if opts.UsersQuery == "" || opts.GroupsQuery == "" || opts.SearchQuery == "" {
		return nil, errors.New("directory sql: the users, groups and search queries are required")
	}
	if opts.ConnectTimeout <= 0 {
		opts.ConnectTimeout = 2 * time.Second
	}
	if opts.MaxConns <= 0 {
		opts.MaxConns = 5
	}
	s := &SQLSource{opts: opts, escape: likeEscape(opts.SearchQuery)}
	switch opts.Driver {
	case "", "postgres":
		pool, err := pgpool.Open(pgpool.Options{DSN: opts.DSN, Password: opts.Password,
			ConnectTimeout: opts.ConnectTimeout, MaxConns: opts.MaxConns})
		if err != nil {
			return nil, fmt.Errorf("directory sql: %w", err)
		}
		s.pool = pool
	case "mysql":
		db, err := openMySQL(opts)
		if err != nil {
			return nil, err
		}
		s.db = db
	default:
		return nil, fmt.Errorf("directory sql: driver %q is not one of postgres, mysql", opts.Driver)
	}
	return s, nil
}

// Close closes the connections.
func (s *SQLSource) Close() {
	if s.pool != nil {
		s.pool.Close()
	}
	if s.db != nil {
		_ = s.db.Close()
	}
}

// Users runs UsersQuery.
func (s *SQLSource) Users(ctx context.Context, ids []string) (map[string]Info, error) {
	return s.byID(ctx, "users", s.opts.UsersQuery, ids)
}

// Groups runs GroupsQuery.
func (s *SQLSource) Groups(ctx context.Context, ids []string) (map[string]Info, error) {
	return s.byID(ctx, "groups", s.opts.GroupsQuery, ids)
}

// Rooms runs RoomsQuery; nil, nil without one.
func (s *SQLSource) Rooms(ctx context.Context, ids []string) (map[string]Info, error) {
	if s.opts.RoomsQuery == "" {
		return nil, nil
	}
	return s.byID(ctx, "rooms", s.opts.RoomsQuery, ids)
}

func (s *SQLSource) byID(ctx context.Context, what, query string, ids []string) (map[string]Info, error) {
	if s.db != nil {
		return s.mysqlByID(ctx, what, query, ids)
	}
	rows, err := s.pool.Query(ctx, query, ids)
	if err != nil {
		return nil, fmt.Errorf("directory sql: %s query: %w", what, err)
	}
	defer rows.Close()
	out := make(map[string]Info, len(ids))
	fields := rows.FieldDescriptions()
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			return nil, fmt.Errorf("directory sql: %s query: %w", what, err)
		}
		id, ok := vals[0].(string)
		if !ok {
			return nil, fmt.Errorf("directory sql: %s query: the first column must be the id, a text", what)
		}
		info := Info{}
		for i := 1; i < len(vals); i++ {
			if vals[i] != nil {
				info[fields[i].Name] = infoValue(vals[i])
			}
		}
		out[id] = info
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("directory sql: %s query: %w", what, err)
	}
	return out, nil
}

// SearchUsers runs SearchQuery with the prefix as an escaped LIKE pattern.
func (s *SQLSource) SearchUsers(ctx context.Context, prefix string, limit int) ([]Candidate, error) {
	if s.db != nil {
		return s.mysqlSearch(ctx, prefix, limit)
	}
	rows, err := s.pool.Query(ctx, s.opts.SearchQuery, likePattern(prefix, s.escape), limit)
	if err != nil {
		return nil, fmt.Errorf("directory sql: search query: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (Candidate, error) {
		vals, err := row.Values()
		if err != nil {
			return Candidate{}, err
		}
		id, ok := vals[0].(string)
		if !ok {
			return Candidate{}, errors.New("the first column must be the user id, a text")
		}
		c := Candidate{ID: id}
		for i, f := range row.FieldDescriptions() {
			if f.Name == "groups" {
				if list, ok := vals[i].([]any); ok {
					for _, g := range list {
						if gs, ok := g.(string); ok && gs != "" {
							c.Groups = append(c.Groups, gs)
						}
					}
				}
			}
		}
		return c, nil
	})
	if err != nil {
		return nil, fmt.Errorf("directory sql: search query: %w", err)
	}
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

// LikePrefix returns the LIKE pattern of the values that start with prefix:
// its %, _ and \ are escaped with \ (LIKE's default escape character), so
// that they match themselves and not any text.
func LikePrefix(prefix string) string { return likePattern(prefix, '\\') }

// likePattern is LikePrefix with the escape character esc.
func likePattern(prefix string, esc rune) string {
	var b strings.Builder
	b.Grow(len(prefix) + 4)
	for _, r := range prefix {
		if r == '%' || r == '_' || r == esc {
			b.WriteRune(esc)
		}
		b.WriteRune(r)
	}
	b.WriteByte('%')
	return b.String()
}

// escapeClause finds a LIKE's ESCAPE clause with a one-character literal.
var escapeClause = regexp.MustCompile(`(?i)\bESCAPE\s+'([^'\\])'`)

// likeEscape is the escape character of a query's LIKE: the one its
// ESCAPE 'c' names, else \, the default of PostgreSQL and of MySQL (unless
// its sql_mode has NO_BACKSLASH_ESCAPES, where a query must say ESCAPE
// with another character, as '\\' then means two characters).
func likeEscape(query string) rune {
	if m := escapeClause.FindStringSubmatch(query); m != nil {
		return []rune(m[1])[0]
	}
	return '\\'
}

// infoValue turns a column's value into a JSON value.
func infoValue(v any) any {
	switch x := v.(type) {
	case string, bool, int16, int32, int64, float32, float64, map[string]any, []any:
		return x
	case time.Time:
		return x.UTC().Format(time.RFC3339)
	case []byte:
		return string(x)
	}
	return fmt.Sprint(v)
}
