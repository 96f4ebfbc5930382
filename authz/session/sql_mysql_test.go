package session

import (
	"context"
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"

	_ "github.com/go-sql-driver/mysql"

	"github.com/lbauthz/lbauthz/internal/testenv"
)

func mysqlStore(t *testing.T, m *testenv.MariaDB, opts SQLOptions) *SQLStore {
	t.Helper()
	opts.Driver, opts.DSN = "mysql", m.DSN()
	if opts.Password == "" {
		opts.Password = testenv.MariaDBPassword
	}
	st, err := NewSQLStore(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// The table express-mysql-session creates: the session as JSON text, its
// end as seconds since 1970.
const expressMySQLSchema = `
CREATE TABLE sessions (session_id varchar(128) COLLATE utf8mb4_bin NOT NULL PRIMARY KEY,
  expires int(11) unsigned NOT NULL, data mediumtext COLLATE utf8mb4_bin);
INSERT INTO sessions VALUES
  ('alicesessionid0000000000000000aa', UNIX_TIMESTAMP() + 3600,
   '{"cookie":{"originalMaxAge":3600000,"httpOnly":true,"path":"/"},"user":{"id":"alice","name":"Alice","groups":["eng","design"]}}'),
  ('endedsessionid0000000000000000bb', UNIX_TIMESTAMP() - 60, '{"cookie":{},"user":{"id":"bob"}}'),
  ('nullsessionid00000000000000000cc', UNIX_TIMESTAMP() + 3600, NULL);
`

const expressMySQLQuery = `SELECT data, expires FROM sessions WHERE session_id = ?`

// The django schema of sql_test.go in MariaDB's words. MariaDB's JSON is
// text, so the query reads the avatar out of it with JSON_VALUE; BOOL is
// TINYINT(1), read as 0 or 1.
const djangoMySQLSchema = `
CREATE TABLE auth_user (id int PRIMARY KEY, username varchar(150) NOT NULL, first_name varchar(150), is_staff bool NOT NULL, meta json);
CREATE TABLE auth_group (id int PRIMARY KEY, name varchar(150) NOT NULL);
CREATE TABLE auth_user_groups (user_id int REFERENCES auth_user (id), group_id int REFERENCES auth_group (id));
CREATE TABLE user_sessions_session (session_key varchar(40) PRIMARY KEY, user_id int REFERENCES auth_user (id), expire_date datetime(6) NOT NULL);
INSERT INTO auth_user VALUES (42, 'alice', 'Alice', true, '{"avatar": "https://example.test/a.png"}'), (43, 'bob', 'Bob', false, NULL);
INSERT INTO auth_group VALUES (1, 'eng'), (2, 'design'), (3, 'admins');
INSERT INTO auth_user_groups VALUES (42, 1), (42, 3);
INSERT INTO user_sessions_session VALUES
  ('k5b1lyy1c1eh1s7l9tmsm4zn0z5v4q7c', 42, UTC_TIMESTAMP(6) + INTERVAL 1 HOUR),
  ('nobodysession0000000000000000000', 43, UTC_TIMESTAMP(6) + INTERVAL 1 HOUR),
  ('oldsession0000000000000000000000', 42, UTC_TIMESTAMP(6) - INTERVAL 1 HOUR);
`

func djangoMySQLStore(t *testing.T, m *testenv.MariaDB) *SQLStore {
	return mysqlStore(t, m, SQLOptions{
		Query: `SELECT u.id AS user_id, u.username, u.first_name, u.is_staff,
		          JSON_VALUE(u.meta, '$.avatar') AS avatar, s.expire_date
		        FROM user_sessions_session s JOIN auth_user u ON u.id = s.user_id WHERE s.session_key = ?`,
		ExpiresColumn: "expire_date",
		GroupsQuery: `SELECT g.name FROM auth_user_groups ug JOIN auth_group g ON g.id = ug.group_id
		              WHERE ug.user_id = ? ORDER BY g.name`,
		UserIDPath: "user_id"})
}

// One real MariaDB for the lookups that leave it running.
func TestMySQL_SessionsOfARealMariaDB(t *testing.T) {
	m := testenv.StartMariaDB(t)
	m.Exec(t, expressMySQLSchema+djangoMySQLSchema)

	t.Run("a JSON column: valid, expired, unknown, null, tampered", func(t *testing.T) {
		st := mysqlStore(t, m, SQLOptions{Query: expressMySQLQuery, JSONColumn: "data", ExpiresColumn: "expires"})
		store, err := NewExpressCookie([][]byte{[]byte(expressSecret)}, st)
		if err != nil {
			t.Fatal(err)
		}
		cookie := func(id string) string { return url.QueryEscape(SignExpress(id, []byte(expressSecret))) }

		alice := cookie("alicesessionid0000000000000000aa")
		id, err := resolveOnce(t, store, expressMapping(), alice)
		wantUser(t, id, err, "alice", "eng", "design")
		if id.UserInfo()["name"] != "Alice" {
			t.Fatalf("userInfo = %v", id.UserInfo())
		}
		if d := time.Until(id.Expires()); d > time.Hour+time.Minute || d < 50*time.Minute {
			t.Fatalf("expires in %s, want about an hour (the expires column)", d)
		}
		_, err = resolveOnce(t, store, expressMapping(), tamper(alice))
		wantInvalid(t, err, "bad cookie signature", alice)
		ended := cookie("endedsessionid0000000000000000bb")
		_, err = resolveOnce(t, store, expressMapping(), ended)
		wantInvalid(t, err, "expired", ended)
		unknown := cookie("unknownsessionid00000000000000dd")
		_, err = resolveOnce(t, store, expressMapping(), unknown)
		wantInvalid(t, err, "unknown session", unknown)
		null := cookie("nullsessionid00000000000000000cc")
		_, err = resolveOnce(t, store, expressMapping(), null)
		wantInvalid(t, err, "null", null)
	})

	t.Run("named columns and a groups query", func(t *testing.T) {
		store := djangoMySQLStore(t, m)
		mp := &Mapping{UserID: "user_id", GroupIDs: "groups", UserInfo: map[string]string{"name": "first_name", "avatar": "avatar", "staff": "is_staff"}}
		id, err := resolveOnce(t, store, mp, "k5b1lyy1c1eh1s7l9tmsm4zn0z5v4q7c")
		wantUser(t, id, err, "42", "admins", "eng")
		if id.UserInfo()["name"] != "Alice" || id.UserInfo()["avatar"] != "https://example.test/a.png" || id.UserInfo()["staff"] != json.Number("1") {
			t.Fatalf("userInfo = %#v", id.UserInfo())
		}
		if d := time.Until(id.Expires()); d > time.Hour+time.Minute || d < 50*time.Minute {
			t.Fatalf("expires in %s, want about an hour (a UTC datetime column)", d)
		}
		id, err = resolveOnce(t, store, mp, "nobodysession0000000000000000000")
		wantUser(t, id, err, "43") // no groups, no avatar
		if v, ok := id.UserInfo()["avatar"]; ok {
			t.Fatalf("avatar = %#v, want none", v)
		}
		_, err = resolveOnce(t, store, mp, "oldsession0000000000000000000000")
		wantInvalid(t, err, "expired")
		_, err = resolveOnce(t, store, mp, "unknownsession000000000000000000")
		wantInvalid(t, err, "unknown session")
	})

	t.Run("the session id is a parameter, never SQL", func(t *testing.T) {
		store := djangoMySQLStore(t, m)
		mp := &Mapping{UserID: "user_id", GroupIDs: "groups"}
		for _, injection := range []string{
			"' OR '1'='1",
			"x'; DROP TABLE auth_user; --",
			`k5b1lyy1c1eh1s7l9tmsm4zn0z5v4q7c' -- `,
			`\' OR 1=1 #`,
			"? OR 1=1",
		} {
			_, err := resolveOnce(t, store, mp, injection)
			wantInvalid(t, err, "unknown session", injection)
		}
		// The table is still there and the real session still resolves.
		id, err := resolveOnce(t, store, mp, "k5b1lyy1c1eh1s7l9tmsm4zn0z5v4q7c")
		wantUser(t, id, err, "42", "admins", "eng")
	})

	t.Run("a wrong password is unavailable, without the password", func(t *testing.T) {
		const wrong = "wrong-password-value"
		st := mysqlStore(t, m, SQLOptions{Password: wrong, Query: `SELECT 1 AS user_id FROM DUAL WHERE ? IS NOT NULL`})
		_, err := resolveOnce(t, st, &Mapping{UserID: "user_id"}, "x")
		wantUnavailable(t, err, wrong)
		if !strings.Contains(err.Error(), "1045") {
			t.Fatalf("the error does not say what failed: %v", err)
		}
	})
}

func TestMySQL_DownOrSlowIsUnavailableInTimeAndRecoversWithoutRestart(t *testing.T) {
	m := testenv.StartMariaDB(t)
	m.Exec(t, djangoMySQLSchema+`
INSERT INTO auth_user VALUES (44, 'carol', 'Carol', false, NULL);
INSERT INTO user_sessions_session VALUES ('carolsession00000000000000000000', 44, UTC_TIMESTAMP(6) + INTERVAL 1 HOUR);`)
	res := NewResolver(djangoMySQLStore(t, m), &Mapping{UserID: "user_id", GroupIDs: "groups"},
		CacheOptions{TTL: time.Minute, NegativeTTL: time.Second, MaxEntries: 100})
	ask := func(session string, deadline time.Duration) (*Identity, time.Duration, error) {
		ctx, cancel := context.WithTimeout(context.Background(), deadline)
		defer cancel()
		start := time.Now()
		id, err := res.Resolve(ctx, session)
		return id, time.Since(start), err
	}
	const first, second, third = "k5b1lyy1c1eh1s7l9tmsm4zn0z5v4q7c", "nobodysession0000000000000000000", "carolsession00000000000000000000"
	if _, _, err := ask(first, 2*time.Second); err != nil {
		t.Fatal(err)
	}
	m.Stop()
	_, took, err := ask(second, 200*time.Millisecond)
	wantUnavailable(t, err, second)
	if took > 250*time.Millisecond {
		t.Fatalf("a stopped MariaDB took %s to report (deadline 200ms)", took)
	}
	m.Start(t)
	id, _, err := ask(second, 2*time.Second)
	wantUser(t, id, err, "43")

	m.Pause()
	_, took, err = ask(third, 200*time.Millisecond)
	wantUnavailable(t, err, third)
	if took > 300*time.Millisecond {
		t.Fatalf("a frozen MariaDB took %s to report (deadline 200ms)", took)
	}
	m.Resume()
	id, _, err = ask(third, 2*time.Second)
	wantUser(t, id, err, "44")
}
