// Package mysqlpool opens the MySQL and MariaDB connection pools of
// lbauthz's SQL readers (the session store, the directory, the access
// sources) one way, as pgpool does for PostgreSQL.
package mysqlpool

import (
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
)

// Options are what every SQL reader configures of its pool.
type Options struct {
	// DSN is the connection string without the password, in the driver's
	// form ("app@tcp(db:3306)/app").
	DSN string
	// Password, when set, replaces the DSN's.
	Password string
	// ConnectTimeout bounds opening one connection.
	ConnectTimeout time.Duration
	// Backstop is the read and write timeout of a connection when the DSN
	// sets none: every query's context already bounds it.
	Backstop time.Duration
	// MaxConns bounds the pool.
	MaxConns int32
}

// Open returns a pool; it does not connect until the first query. A DSN
// that does not parse is an error beginning "dsn: " (the driver's DSN errors
// name the part that is wrong, not the DSN).
//
// Values always travel as parameters of prepared statements, never written
// into a query's text by the driver, and one query is one statement.
// DATETIME and TIMESTAMP columns are read as time.Time: the DSN's loc (UTC
// unless set) says which zone DATETIME values are in, and with it left at
// UTC the connection's time_zone is UTC too, so TIMESTAMP values and NOW()
// agree with it (a time_zone in the DSN wins).
func Open(o Options) (*sql.DB, error) {
	cfg, err := mysql.ParseDSN(o.DSN)
	if err != nil {
		return nil, fmt.Errorf("dsn: %w", err)
	}
	if o.Password != "" {
		cfg.Passwd = o.Password
	}
	cfg.Timeout = o.ConnectTimeout
	if cfg.ReadTimeout == 0 {
		cfg.ReadTimeout = o.Backstop
	}
	if cfg.WriteTimeout == 0 {
		cfg.WriteTimeout = o.Backstop
	}
	cfg.InterpolateParams = false
	cfg.MultiStatements = false
	cfg.AllowAllFiles = false
	cfg.ParseTime = true
	if cfg.Loc == time.UTC {
		if _, ok := cfg.Params["time_zone"]; !ok {
			if cfg.Params == nil {
				cfg.Params = map[string]string{}
			}
			cfg.Params["time_zone"] = "'+00:00'"
		}
	}
	// The driver logs broken connections by itself; the readers return
	// them as errors instead.
	cfg.Logger = quiet{}
	conn, err := mysql.NewConnector(cfg)
	if err != nil {
		return nil, err
	}
	db := sql.OpenDB(conn)
	db.SetMaxOpenConns(int(o.MaxConns))
	db.SetMaxIdleConns(int(o.MaxConns))
	db.SetConnMaxIdleTime(5 * time.Minute)
	db.SetConnMaxLifetime(time.Hour)
	return db, nil
}

type quiet struct{}

func (quiet) Print(...any) {}

// Placeholders returns the offsets of the ? parameters of a MySQL query,
// outside quoted strings and names and comments (see Find).
func Placeholders(q string) []int {
	return Find(q, func(q string, i int) bool { return q[i] == '?' })
}

// Find returns the offsets i of a MySQL query at which match(q, i) is true,
// outside quoted strings and names ('...', "...", `...`) and comments (-- ,
// #, /* */). An unterminated string or comment runs to the end of q.
func Find(q string, match func(q string, i int) bool) []int {
	var at []int
	for i := 0; i < len(q); i++ {
		switch c := q[i]; {
		case c == '\'' || c == '"' || c == '`':
			for i++; i < len(q) && q[i] != c; i++ {
				if q[i] == '\\' && c != '`' {
					i++
				}
			}
		case c == '#' || (c == '-' && strings.HasPrefix(q[i:], "-- ")):
			for i < len(q) && q[i] != '\n' {
				i++
			}
		case c == '/' && strings.HasPrefix(q[i:], "/*"):
			end := strings.Index(q[i+2:], "*/")
			if end < 0 {
				return at
			}
			i += end + 3
		case match(q, i):
			at = append(at, i)
		}
	}
	return at
}
