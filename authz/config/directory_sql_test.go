package config_test

import (
	"strings"
	"testing"

	"github.com/lbauthz/lbauthz/authz/config"
)

func TestParse_DirectorySQLQueriesTakeTheDriversParameters(t *testing.T) {
	base := "session:\n  cookie: s\n  redis: {address: \"h:1\", key_template: \"sess:{id}\"}\ndirectory:\n  sql:\n"
	mysqlOK := `    driver: mysql
    dsn: "app@tcp(db:3306)/app"
    users_query: "SELECT id, name FROM users WHERE id IN (?)"
    groups_query: "SELECT id, name FROM teams WHERE id IN (?)"
    search_query: "SELECT id FROM users WHERE LOWER(name) LIKE ? OR LOWER(id) LIKE ? LIMIT ?"
`
	cases := []struct{ name, yaml, want string }{
		{"an unknown driver", base + "    driver: oracle\n    dsn: x\n", `directory.sql.driver: "oracle" is not one of postgres, mysql`},
		{"a MySQL DSN with a password", base + strings.Replace(mysqlOK, "app@tcp", "app:hunter2@tcp", 1), "directory.sql.dsn: holds a password"},
		{"not a MySQL DSN", base + strings.Replace(mysqlOK, "app@tcp(db:3306)/app", "postgres://app@db/app", 1), "directory.sql.dsn: not a MySQL DSN"},
		{"MySQL ids as $1", base + strings.Replace(mysqlOK, "id IN (?)", "id = ANY($1)", 1), "directory.sql.users_query: the query must take the ids as one ?"},
		{"MySQL ids as two ?", base + strings.Replace(mysqlOK, "id IN (?)", "id IN (?, ?)", 1), "directory.sql.users_query: the query must take the ids as one ?"},
		{"MySQL search without a limit", base + strings.Replace(mysqlOK, "OR LOWER(id) LIKE ? LIMIT ?", "LIMIT 10", 1), "directory.sql.search_query: the query must take the pattern as ?"},
		{"PostgreSQL search without a limit", base + "    dsn: \"postgres://app@db/app\"\n    users_query: \"SELECT 1 WHERE $1\"\n    groups_query: \"SELECT 1 WHERE $1\"\n    search_query: \"SELECT id FROM users WHERE name LIKE $1\"\n",
			"directory.sql.search_query: the query must take the pattern as $1 and the row limit as $2"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := config.Parse("c.yaml", []byte(tc.yaml), noEnv)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("want an error with %q, got %v", tc.want, err)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Fatal("the error holds the DSN's password")
			}
		})
	}
	if _, err := config.Parse("c.yaml", []byte(base+mysqlOK), noEnv); err != nil {
		t.Fatalf("a valid MySQL directory: %v", err)
	}
}
