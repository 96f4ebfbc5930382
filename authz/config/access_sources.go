package config

import (
	"strings"
	"time"

	"github.com/lbauthz/lbauthz/authz/rooms/accesssync"
	configv1 "github.com/lbauthz/lbauthz/proto/lbauthz/config/v1"
)

// MaxAccessSourceAge is the longest rooms.provision[].access_source.max_age:
// a day-old copy of a room's accesses is no longer following the app.
const MaxAccessSourceAge = 24 * time.Hour

// validateAccessSQL checks the sql access source of a provisioning rule:
// its driver, a DSN without a password (never echoed), and a query that
// takes its parameters as $1, $2, ...
func validateAccessSQL(add func(string, string, ...any), field string, q *configv1.SQLAccessSource) {
	switch q.Driver {
	case "", "postgres", "mysql":
	default:
		add(field+".driver", "%q is not one of postgres, mysql", q.Driver)
	}
	if q.Dsn == "" {
		add(field+".dsn", "required")
	} else {
		checkDSN(add, field, q.Dsn, q.Driver == "mysql")
	}
	switch err := accesssync.CheckQuery(q.Driver, q.Query); {
	case !strings.Contains(q.Query, "$"):
		add(field+".query", "required, with the room id as $1 or the room pattern's captures as $2, $3, ...")
	case err != nil:
		add(field+".query", "%s", strings.TrimPrefix(err.Error(), "query: "))
	}
}
