// Package pgpool opens the PostgreSQL connection pools of lbauthz's SQL
// readers (the session store, the directory, the access sources) one way.
package pgpool

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// Options are what every SQL reader configures of its pool.
type Options struct {
	// DSN is the connection string without the password.
	DSN string
	// Password, when set, replaces the DSN's.
	Password string
	// ConnectTimeout bounds opening one connection.
	ConnectTimeout time.Duration
	// MaxConns bounds the pool.
	MaxConns int32
	// Tune, if set, adjusts the rest of the pool's config before it opens.
	Tune func(*pgxpool.Config)
}

// Open returns a pool; it does not connect until the first query. A DSN
// that does not parse is an error beginning "dsn: " (pgx leaves passwords
// out of its parse errors).
func Open(o Options) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(o.DSN)
	if err != nil {
		return nil, fmt.Errorf("dsn: %w", err)
	}
	if o.Password != "" {
		cfg.ConnConfig.Password = o.Password
	}
	cfg.ConnConfig.ConnectTimeout = o.ConnectTimeout
	cfg.MaxConns = o.MaxConns
	if o.Tune != nil {
		o.Tune(cfg)
	}
	return pgxpool.NewWithConfig(context.Background(), cfg)
}
