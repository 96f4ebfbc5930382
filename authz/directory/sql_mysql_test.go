package directory_test

import (
	"context"
	"strings"
	"testing"
	"time"

	_ "github.com/go-sql-driver/mysql"

	"github.com/lbauthz/lbauthz/authz/directory"
	"github.com/lbauthz/lbauthz/internal/testenv"
)

// appMySQLSchema is appSchema for MariaDB.
const appMySQLSchema = `
CREATE TABLE users (id varchar(64) PRIMARY KEY, name varchar(200) NOT NULL, avatar text, title text, KEY users_name (name));
CREATE TABLE teams (id varchar(64) PRIMARY KEY, name text NOT NULL, description text);
CREATE TABLE members (user_id varchar(64) REFERENCES users (id), team_id varchar(64) REFERENCES teams (id));
CREATE TABLE documents (id varchar(64) PRIMARY KEY, title text NOT NULL);
INSERT INTO users VALUES
  ('alice', 'Alice', 'https://example.test/alice.png', 'CTO'),
  ('bob',   'Bob',   'https://example.test/bob.png',   NULL),
  ('carol', 'Carol', NULL, NULL),
  ('dave',  'Dave',  NULL, NULL),
  ('a_b',   'A_b',   NULL, NULL),
  ('brenda','Brenda', NULL, NULL);
INSERT INTO teams VALUES ('team', 'The Team', 'Everyone building it');
INSERT INTO members VALUES ('alice', 'team'), ('bob', 'team'), ('a_b', 'team');
INSERT INTO documents VALUES ('doc-1', 'Launch plan');
`

// mysqlOptions are the directory's queries written for MySQL: the ids as
// one ? spread into a list, the search's pattern as every ? but the last.
func mysqlOptions(m *testenv.MariaDB, dsnParams, escape string) directory.SQLOptions {
	return directory.SQLOptions{
		Driver: "mysql", DSN: m.DSN() + dsnParams, Password: testenv.MariaDBPassword,
		UsersQuery:  "SELECT id, name, avatar, title FROM users WHERE id IN (?)",
		GroupsQuery: "SELECT id, name, description FROM teams WHERE id IN (?)",
		RoomsQuery:  "SELECT id, title AS name, CONCAT('/docs/', id) AS url FROM documents WHERE id IN (?)",
		SearchQuery: "SELECT u.id, GROUP_CONCAT(m.team_id) AS `groups` -- who may be ?\n" +
			"FROM users u LEFT JOIN members m ON m.user_id = u.id " +
			"WHERE LOWER(u.name) LIKE ?" + escape + " OR LOWER(u.id) LIKE ?" + escape + " " +
			"GROUP BY u.id ORDER BY CAST(u.id AS BINARY) LIMIT ?",
	}
}

func TestDirectory_AnswersTheResolversFromMariaDB(t *testing.T) {
	m := testenv.StartMariaDB(t)
	m.Exec(t, appMySQLSchema)
	for _, tt := range []struct{ name, dsnParams, escape string }{
		// MySQL's default sql_mode: LIKE escapes with \.
		{"default sql_mode", "", ""},
		// With NO_BACKSLASH_ESCAPES, LIKE has no default escape character
		// and '\\' is two characters: the query names its own.
		{"NO_BACKSLASH_ESCAPES with ESCAPE '!'", "?sql_mode=%27NO_BACKSLASH_ESCAPES%27", " ESCAPE '!'"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			src, err := directory.NewSQLSource(mysqlOptions(m, tt.dsnParams, tt.escape))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(src.Close)
			testResolvers(t, newFixture(t, src))
		})
	}
}

func TestDirectory_MariaDBDownIsAnErrorWithoutThePassword(t *testing.T) {
	opts := directory.SQLOptions{
		Driver: "mysql", DSN: "app@tcp(" + testenv.FreeAddr(t) + ")/app", Password: "mysql-secret-9c1e",
		UsersQuery: "SELECT id, name FROM users WHERE id IN (?)", GroupsQuery: "SELECT id FROM teams WHERE id IN (?)",
		SearchQuery: "SELECT id FROM users WHERE name LIKE ? LIMIT ?", ConnectTimeout: time.Second,
	}
	src, err := directory.NewSQLSource(opts)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	_, err = src.Users(context.Background(), []string{"alice"})
	if err == nil {
		t.Fatal("no error from a database that is not there")
	}
	if msg := err.Error(); strings.Contains(msg, opts.Password) {
		t.Fatalf("the error holds the password: %s", msg)
	}
}
