package config

import (
	"net/url"
	"strconv"
	"strings"

	configv1 "github.com/lbauthz/lbauthz/proto/lbauthz/config/v1"
)

// validateDirectory checks the directory section: one source, with what it
// needs, and endpoint paths that do not collide with the auth path.
func validateDirectory(add func(string, string, ...any), cfg *configv1.Config) {
	d := cfg.GetDirectory()
	if d == nil {
		return
	}
	n := 0
	if q := d.GetSql(); q != nil {
		n++
		validateDirectorySQL(add, q)
	}
	if h := d.GetHttp(); h != nil {
		n++
		for field, u := range map[string]string{"users_url": h.UsersUrl, "groups_url": h.GroupsUrl, "search_url": h.SearchUrl, "rooms_url": h.RoomsUrl} {
			if u == "" && field == "rooms_url" {
				continue
			}
			if p, err := url.Parse(u); err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
				add("directory.http."+field, "%q is not an http(s) URL", u)
			}
		}
	}
	if d.File != "" {
		n++
	}
	if n != 1 {
		add("directory", "give exactly one source: sql, http or file (got %d)", n)
	}
	seen := map[string]string{cfg.GetLiveblocks().GetAuthPath(): "liveblocks.auth_path"}
	for field, p := range map[string]string{"users_path": d.UsersPath, "mentions_path": d.MentionsPath, "groups_path": d.GroupsPath, "rooms_path": d.RoomsPath} {
		if p == "" {
			continue
		}
		if !strings.HasPrefix(p, "/") || strings.ContainsAny(p, "?# \t%") {
			add("directory."+field, "%q must be a path starting with / (no query, fragment, space or escapes)", p)
		}
		if other, dup := seen[p]; dup {
			add("directory."+field, "%q is also %s", p, other)
		}
		seen[p] = "directory." + field
	}
	checkPositive(add, "directory.ttl", d.Ttl, true)
	if d.MaxSuggestions < 0 || d.MaxSuggestions > 100 {
		add("directory.max_suggestions", "%d: must be between 1 and 100 (0 for the default, 10)", d.MaxSuggestions)
	}
}

// validateAccessSources checks the access source of each provisioning
// rule.
func validateAccessSources(add func(string, string, ...any), cfg *configv1.Config) {
	for i, r := range cfg.GetRooms().GetProvision() {
		a := r.GetAccessSource()
		if a == nil {
			continue
		}
		field := "rooms.provision[" + strconv.Itoa(i) + "].access_source"
		if (a.Sql == nil) == (a.Http == nil) {
			add(field, "give exactly one of sql and http")
		}
		if q := a.Sql; q != nil {
			validateAccessSQL(add, field+".sql", q) // access_sources.go
		}
		if h := a.Http; h != nil {
			if p, err := url.Parse(h.Url); err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
				add(field+".http.url", "%q is not an http(s) URL", h.Url)
			}
		}
		checkPositive(add, field+".max_age", a.MaxAge, true)
		if a.MaxAge.AsDuration() > MaxAccessSourceAge {
			add(field+".max_age", "%s is over the limit of %s", a.MaxAge.AsDuration(), MaxAccessSourceAge)
		}
	}
}

// validateDirectorySQL checks the directory's SQL source: a DSN without a
// password, and queries taking their parameters the driver's way.
func validateDirectorySQL(add func(string, string, ...any), q *configv1.DirectorySQL) {
	mysqlDriver := q.Driver == "mysql"
	if q.Driver != "" && q.Driver != "postgres" && !mysqlDriver {
		add("directory.sql.driver", "%q is not one of postgres, mysql", q.Driver)
		return
	}
	if q.Dsn == "" {
		add("directory.sql.dsn", "required")
	} else {
		checkDSN(add, "directory.sql", q.Dsn, mysqlDriver)
	}
	for _, f := range []struct {
		field, query string
		required     bool
	}{
		{"users_query", q.UsersQuery, true}, {"groups_query", q.GroupsQuery, true},
		{"rooms_query", q.RoomsQuery, false}, {"search_query", q.SearchQuery, true},
	} {
		switch {
		case f.query == "":
			if f.required {
				add("directory.sql."+f.field, "required")
			}
		case mysqlDriver && f.field == "search_query":
			if mysqlParams(f.query) < 2 {
				add("directory.sql."+f.field, "the query must take the pattern as ? (one or more) and the row limit as the last ?")
			}
		case mysqlDriver:
			if mysqlParams(f.query) != 1 {
				add("directory.sql."+f.field, "the query must take the ids as one ?, as in WHERE id IN (?)")
			}
		case f.field == "search_query":
			if !strings.Contains(f.query, "$1") || !strings.Contains(f.query, "$2") {
				add("directory.sql."+f.field, "the query must take the pattern as $1 and the row limit as $2")
			}
		case !strings.Contains(f.query, "$1"):
			add("directory.sql."+f.field, "the query must take the ids as $1")
		}
	}
}
