package accesssync

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/lbauthz/lbauthz/internal/pgpool"
	"github.com/lbauthz/lbauthz/liveblocks"
)

// SQLOptions configures a SQLSource.
type SQLOptions struct {
	// Driver is "postgres" (pgx, the default) or "mysql" (MySQL and
	// MariaDB, go-sql-driver/mysql).
	Driver string
	// DSN is the connection string without the password: a PostgreSQL URL
	// or key=value string, or a go-sql-driver/mysql DSN.
	DSN      string
	Password string
	// Query reads a room's accesses from the app's sharing tables; its
	// parameter $1 is the room id, and $2, $3, ... are what Args gives
	// (with either driver: for mysql, each $N outside quotes and comments
	// becomes a ? of the prepared statement). Each row is (kind, id, permissions):
	// kind is "default", "group" or "user"; id is the group or user id
	// (ignored for "default"); permissions is a text[] or a comma-separated
	// text ("*:write" or "room:read,room:presence:write"), empty for no
	// access. A room the app knows always gives a "default" row (with
	// empty permissions for no default access): no row at all means the app
	// does not know the room, which is left alone. Several rows for one
	// entry merge their permissions. For example:
	//
	//	SELECT 'default', '', CASE WHEN d.public THEN '*:read' ELSE '' END
	//	  FROM documents d WHERE d.id = $1
	//	UNION ALL SELECT 'user', s.user_id, CASE s.role WHEN 'editor' THEN '*:write' ELSE '*:read' END
	//	  FROM shares s WHERE s.document_id = $1
	Query string
	// Args, if not nil, gives the parameters after the room id, e.g. the
	// captures of the room pattern ("doc-{id}" gives $2 = the id). Only as
	// many are sent as the query uses.
	Args func(roomID string) []any
	// ConnectTimeout bounds opening one connection (2s when zero).
	ConnectTimeout time.Duration
	// MaxConns bounds the pool (5 when zero).
	MaxConns int32
}

// SQLSource reads rooms' accesses from the app's tables.
type SQLSource struct {
	pool    *pgxpool.Pool // postgres
	db      *sql.DB       // mysql
	order   []int         // mysql: the $N of each ?, in order
	query   string
	args    func(string) []any
	nParams int // the highest $N the query uses
	where   string
}

var _ Source = (*SQLSource)(nil)

// NewSQLSource returns a source; it does not connect until the first query.
func NewSQLSource(opts SQLOptions) (*SQLSource, error) {
	if opts.Query == "" {
		return nil, errors.New("access source sql: no query")
	}
	if opts.ConnectTimeout <= 0 {
		opts.ConnectTimeout = 2 * time.Second
	}
	if opts.MaxConns <= 0 {
		opts.MaxConns = 5
	}
	switch opts.Driver {
	case "", "postgres":
	case "mysql":
		return newMySQLSource(opts) // sql_mysql.go
	default:
		return nil, fmt.Errorf("access source sql: driver %q is not one of postgres, mysql", opts.Driver)
	}
	pool, err := pgpool.Open(pgpool.Options{DSN: opts.DSN, Password: opts.Password,
		ConnectTimeout: opts.ConnectTimeout, MaxConns: opts.MaxConns})
	if err != nil {
		return nil, fmt.Errorf("access source sql: %w", err)
	}
	where := "postgres"
	if c := pool.Config().ConnConfig; c != nil {
		where += " " + c.Host + ":" + strconv.Itoa(int(c.Port)) + "/" + c.Database
	}
	query := opts.Query
	if !usesParam(query, 1) {
		// PostgreSQL cannot type a parameter the query never uses: a query
		// of the captures alone gets $1 typed around it.
		query = "SELECT * FROM (" + query + ") AS accesses WHERE $1::text IS NOT NULL"
	}
	return &SQLSource{pool: pool, query: query, args: opts.Args, nParams: highestParam(query), where: where}, nil
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

// Describe names the source's database: the driver, host, port and
// database, never a user or password.
func (s *SQLSource) Describe() string { return s.where }

// Accesses runs the query for roomID.
func (s *SQLSource) Accesses(ctx context.Context, roomID string) (Accesses, bool, error) {
	args := []any{roomID}
	if s.args != nil {
		args = append(args, s.args(roomID)...)
	}
	if s.db != nil {
		return s.mysqlAccesses(ctx, roomID, args)
	}
	if len(args) > s.nParams {
		args = args[:max(s.nParams, 1)]
	}
	rows, err := s.pool.Query(ctx, s.query, args...)
	if err != nil {
		return Accesses{}, false, fmt.Errorf("access source sql: %w", err)
	}
	defer rows.Close()
	b := newBuilder()
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			return Accesses{}, false, fmt.Errorf("access source sql: %w", err)
		}
		if len(vals) != 3 {
			return Accesses{}, false, fmt.Errorf("access source sql: a row has %d columns, want 3 (kind, id, permissions)", len(vals))
		}
		kind, _ := vals[0].(string)
		id, _ := vals[1].(string)
		if err := b.add(kind, id, permStrings(vals[2])); err != nil {
			return Accesses{}, false, fmt.Errorf("access source sql: room %q: %w", roomID, err)
		}
	}
	if err := rows.Err(); err != nil {
		return Accesses{}, false, fmt.Errorf("access source sql: %w", err)
	}
	return b.result()
}

// usesParam reports whether query holds the placeholder $n (not $n0 ...).
func usesParam(query string, n int) bool {
	ph := "$" + strconv.Itoa(n)
	for i := strings.Index(query, ph); i >= 0; {
		end := i + len(ph)
		if end == len(query) || query[end] < '0' || query[end] > '9' {
			return true
		}
		j := strings.Index(query[end:], ph)
		if j < 0 {
			break
		}
		i = end + j
	}
	return false
}

// highestParam returns the highest $N placeholder in query.
func highestParam(query string) int {
	n := 0
	for i := 0; i < len(query); i++ {
		if query[i] != '$' {
			continue
		}
		j := i + 1
		for j < len(query) && query[j] >= '0' && query[j] <= '9' {
			j++
		}
		if v, err := strconv.Atoi(query[i+1 : j]); err == nil && v > n {
			n = v
		}
	}
	return n
}

// permStrings reads a permissions column: a text[] or a comma-separated
// text.
func permStrings(v any) []string {
	var out []string
	if b, ok := v.([]byte); ok {
		v = string(b)
	}
	switch x := v.(type) {
	case string:
		for _, p := range strings.Split(x, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
	case []any:
		for _, p := range x {
			if s, ok := p.(string); ok && strings.TrimSpace(s) != "" {
				out = append(out, strings.TrimSpace(s))
			}
		}
	}
	return out
}

// builder gathers a source's rows into Accesses.
type builder struct {
	a          Accesses
	hasDefault bool
}

func newBuilder() *builder {
	return &builder{a: Accesses{Groups: map[string][]liveblocks.Permission{}, Users: map[string][]liveblocks.Permission{}}}
}

func (b *builder) add(kind, id string, perms []string) error {
	ps := make([]liveblocks.Permission, 0, len(perms))
	for _, p := range perms {
		ps = append(ps, liveblocks.Permission(p))
	}
	var target *[]liveblocks.Permission
	switch kind {
	case "default":
		b.hasDefault = true
		target = &b.a.Default
	case "group", "user":
		if id == "" {
			return fmt.Errorf("a %s row has no id", kind)
		}
		m := b.a.Groups
		if kind == "user" {
			m = b.a.Users
		}
		cur := m[id]
		target = &cur
		defer func() { m[id] = cur }()
	default:
		return fmt.Errorf("row kind %q is not default, group or user", kind)
	}
	for _, p := range ps {
		if !containsPerm(*target, p) {
			*target = append(*target, p)
		}
	}
	if *target == nil {
		*target = []liveblocks.Permission{}
	}
	return nil
}

// highest keeps write over read when rows merged both into one entry (a
// user shared a document twice, say): a set holds one base scope.
func highest(ps []liveblocks.Permission) []liveblocks.Permission {
	if !containsPerm(ps, liveblocks.Write) && !containsPerm(ps, "room:write") {
		return ps
	}
	out := ps[:0:0]
	for _, p := range ps {
		if p != liveblocks.Read && p != "room:read" {
			out = append(out, p)
		}
	}
	return out
}

func containsPerm(ps []liveblocks.Permission, p liveblocks.Permission) bool {
	for _, q := range ps {
		if q == p {
			return true
		}
	}
	return false
}

// result checks the gathered accesses as Liveblocks would; an app's bad row
// is an error, not a room left half-written.
func (b *builder) result() (Accesses, bool, error) {
	if !b.hasDefault {
		return Accesses{}, false, nil
	}
	b.a.Default = highest(b.a.Default)
	for _, m := range []map[string][]liveblocks.Permission{b.a.Groups, b.a.Users} {
		for id, ps := range m {
			m[id] = highest(ps)
		}
	}
	if err := liveblocks.ValidateAccesses(b.a.Default); err != nil {
		return Accesses{}, false, fmt.Errorf("default accesses: %w", err)
	}
	for kind, m := range map[string]map[string][]liveblocks.Permission{"group": b.a.Groups, "user": b.a.Users} {
		for id, ps := range m {
			if err := liveblocks.ValidateAccesses(ps); err != nil {
				return Accesses{}, false, fmt.Errorf("%s %q: %w", kind, id, err)
			}
		}
	}
	return b.a, true, nil
}

// CheckQuery reports whether query can be a source's query for driver
// ("postgres", "" or "mysql"): with mysql, its parameters must be written
// $1, $2, ... and not ?.
func CheckQuery(driver, query string) error {
	if driver != "mysql" {
		return nil
	}
	_, _, err := mysqlQuery(query)
	return err
}
