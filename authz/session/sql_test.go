package session

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/lbauthz/lbauthz/internal/testenv"
)

// connectPGSimpleQuery is config.ConnectPGSimpleQuery (config imports this
// package, so it cannot be imported here).
const connectPGSimpleQuery = `SELECT sess, expire::timestamptz AS expire FROM "session" WHERE sid = $1`

// expressPostgres starts real PostgreSQL, a real Express app keeping its
// sessions there with connect-pg-simple (which creates its "session"
// table), and the store of the connect-pg-simple preset.
func expressPostgres(t *testing.T, maxAge time.Duration) (*testenv.Postgres, *testenv.ExpressApp, Store) {
	t.Helper()
	pg := testenv.StartPostgres(t)
	app := testenv.StartExpressApp(t, testenv.ExpressOptions{
		Store: "pg", PostgresURL: pg.URL(), Secrets: []string{expressSecret}, MaxAge: maxAge,
	})
	st, err := NewSQLStore(SQLOptions{DSN: pg.DSN(), Password: testenv.PostgresPassword,
		Query: connectPGSimpleQuery, JSONColumn: "sess", ExpiresColumn: "expire"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	store, err := NewExpressCookie([][]byte{[]byte(expressSecret)}, st)
	if err != nil {
		t.Fatal(err)
	}
	return pg, app, store
}

func exec(t *testing.T, pg *testenv.Postgres, sql string, args ...any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, pg.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

func TestSQL_ConnectPGSimpleSessionOfTheRealAppResolves(t *testing.T) {
	_, app, store := expressPostgres(t, time.Hour)
	cookie := app.Login(t, alice())
	id, err := resolveOnce(t, store, expressMapping(), cookie)
	wantUser(t, id, err, "alice", "eng", "design")
	if d := time.Until(id.Expires()); d > time.Hour+time.Minute || d < 50*time.Minute {
		t.Fatalf("expires in %s, want about an hour (the expire column)", d)
	}
}

func TestSQL_TamperedLoggedOutAndExpiredAreInvalid(t *testing.T) {
	pg, app, store := expressPostgres(t, time.Hour)
	cookie := app.Login(t, alice())
	_, err := resolveOnce(t, store, expressMapping(), tamper(cookie))
	wantInvalid(t, err, "bad cookie signature", cookie)

	app.Logout(t, cookie)
	_, err = resolveOnce(t, store, expressMapping(), cookie)
	wantInvalid(t, err, "unknown session", cookie)

	// connect-pg-simple prunes ended sessions now and then; until it does,
	// the row is there and its expire column says it ended.
	cookie = app.Login(t, map[string]any{"id": "bob"})
	exec(t, pg, `UPDATE "session" SET expire = now() - interval '1 minute'`)
	_, err = resolveOnce(t, store, expressMapping(), cookie)
	wantInvalid(t, err, "expired", cookie)
}

func TestSQL_DownOrSlowIsUnavailableInTimeAndRecoversWithoutRestart(t *testing.T) {
	pg, app, store := expressPostgres(t, time.Hour)
	first := app.Login(t, alice())
	second := app.Login(t, map[string]any{"id": "bob"})
	res := NewResolver(store, expressMapping(), CacheOptions{TTL: time.Minute, NegativeTTL: time.Second, MaxEntries: 100})
	ask := func(cookie string, deadline time.Duration) (*Identity, time.Duration, error) {
		ctx, cancel := context.WithTimeout(context.Background(), deadline)
		defer cancel()
		start := time.Now()
		id, err := res.Resolve(ctx, cookie)
		return id, time.Since(start), err
	}
	if _, _, err := ask(first, 2*time.Second); err != nil {
		t.Fatal(err)
	}
	pg.Stop()
	_, took, err := ask(second, 200*time.Millisecond)
	wantUnavailable(t, err, second)
	if took > 250*time.Millisecond {
		t.Fatalf("a stopped PostgreSQL took %s to report (deadline 200ms)", took)
	}
	pg.Start(t)
	id, _, err := ask(second, 2*time.Second)
	wantUser(t, id, err, "bob")

	third := app.Login(t, map[string]any{"id": "carol"})
	pg.Pause()
	_, took, err = ask(third, 200*time.Millisecond)
	wantUnavailable(t, err, third)
	if took > 300*time.Millisecond {
		t.Fatalf("a frozen PostgreSQL took %s to report (deadline 200ms)", took)
	}
	pg.Resume()
	id, _, err = ask(third, 2*time.Second)
	wantUser(t, id, err, "carol")
}

// A table of sessions keyed by a plain id, joined to users, with groups
// from a second query: the shape of django-user-sessions' table and
// Django's auth_user_groups.
const djangoSchema = `
CREATE TABLE auth_user (id int PRIMARY KEY, username text NOT NULL, first_name text, is_staff bool NOT NULL, meta jsonb);
CREATE TABLE auth_group (id int PRIMARY KEY, name text NOT NULL);
CREATE TABLE auth_user_groups (user_id int REFERENCES auth_user, group_id int REFERENCES auth_group);
CREATE TABLE user_sessions_session (session_key varchar(40) PRIMARY KEY, user_id int REFERENCES auth_user, expire_date timestamptz NOT NULL);
INSERT INTO auth_user VALUES (42, 'alice', 'Alice', true, '{"avatar": "https://example.test/a.png"}'), (43, 'bob', 'Bob', false, NULL);
INSERT INTO auth_group VALUES (1, 'eng'), (2, 'design'), (3, 'admins');
INSERT INTO auth_user_groups VALUES (42, 1), (42, 3);
INSERT INTO user_sessions_session VALUES
  ('k5b1lyy1c1eh1s7l9tmsm4zn0z5v4q7c', 42, now() + interval '1 hour'),
  ('nobodysession0000000000000000000', 43, now() + interval '1 hour'),
  ('oldsession0000000000000000000000', 42, now() - interval '1 hour');
`

func djangoStore(t *testing.T, pg *testenv.Postgres) *SQLStore {
	t.Helper()
	st, err := NewSQLStore(SQLOptions{DSN: pg.DSN(), Password: testenv.PostgresPassword,
		Query: `SELECT u.id AS user_id, u.username, u.first_name, u.is_staff, u.meta, s.expire_date
		        FROM user_sessions_session s JOIN auth_user u ON u.id = s.user_id WHERE s.session_key = $1`,
		ExpiresColumn: "expire_date",
		GroupsQuery: `SELECT g.name FROM auth_user_groups ug JOIN auth_group g ON g.id = ug.group_id
		              WHERE ug.user_id = $1 ORDER BY g.name`,
		UserIDPath: "user_id"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func TestSQL_NamedColumnsAndAGroupsQuery(t *testing.T) {
	pg := testenv.StartPostgres(t)
	exec(t, pg, djangoSchema)
	store := djangoStore(t, pg)
	m := &Mapping{UserID: "user_id", GroupIDs: "groups", UserInfo: map[string]string{"name": "first_name", "avatar": "meta.avatar", "staff": "is_staff"}}

	id, err := resolveOnce(t, store, m, "k5b1lyy1c1eh1s7l9tmsm4zn0z5v4q7c")
	wantUser(t, id, err, "42", "admins", "eng")
	if id.UserInfo()["name"] != "Alice" || id.UserInfo()["avatar"] != "https://example.test/a.png" || id.UserInfo()["staff"] != true {
		t.Fatalf("userInfo = %v", id.UserInfo())
	}
	id, err = resolveOnce(t, store, m, "nobodysession0000000000000000000")
	wantUser(t, id, err, "43") // no groups, no avatar
	if _, ok := id.UserInfo()["avatar"]; ok {
		t.Fatalf("userInfo = %v", id.UserInfo())
	}
	_, err = resolveOnce(t, store, m, "oldsession0000000000000000000000")
	wantInvalid(t, err, "expired")
	_, err = resolveOnce(t, store, m, "unknownsession000000000000000000")
	wantInvalid(t, err, "unknown session")
}

func TestSQL_TheSessionIDIsAParameterNeverSQL(t *testing.T) {
	pg := testenv.StartPostgres(t)
	exec(t, pg, djangoSchema)
	store := djangoStore(t, pg)
	m := &Mapping{UserID: "user_id", GroupIDs: "groups"}
	for _, injection := range []string{
		"' OR '1'='1",
		"x'; DROP TABLE auth_user; --",
		`k5b1lyy1c1eh1s7l9tmsm4zn0z5v4q7c' --`,
	} {
		_, err := resolveOnce(t, store, m, injection)
		wantInvalid(t, err, "unknown session", injection)
	}
	// The table is still there and the real session still resolves.
	id, err := resolveOnce(t, store, m, "k5b1lyy1c1eh1s7l9tmsm4zn0z5v4q7c")
	wantUser(t, id, err, "42", "admins", "eng")
}

func TestSQL_AnIDOfTheWrongTypeIsInvalidAndNotQuoted(t *testing.T) {
	pg := testenv.StartPostgres(t)
	exec(t, pg, `CREATE TABLE s (id uuid PRIMARY KEY, user_id text NOT NULL);
		INSERT INTO s VALUES ('1b4e28ba-2fa1-11d2-883f-0016d3cca427', 'alice')`)
	st, err := NewSQLStore(SQLOptions{DSN: pg.DSN(), Password: testenv.PostgresPassword,
		Query: `SELECT user_id FROM s WHERE id = $1`})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	m := &Mapping{UserID: "user_id"}
	id, err := resolveOnce(t, st, m, "1b4e28ba-2fa1-11d2-883f-0016d3cca427")
	wantUser(t, id, err, "alice")
	const notUUID = "not-a-uuid-secret-value"
	_, err = resolveOnce(t, st, m, notUUID)
	wantInvalid(t, err, "not accepted", notUUID)
}

func TestSQL_AWrongPasswordIsUnavailableWithoutThePassword(t *testing.T) {
	pg := testenv.StartPostgres(t)
	const wrong = "wrong-password-value"
	st, err := NewSQLStore(SQLOptions{DSN: pg.DSN(), Password: wrong, Query: `SELECT 1 AS user_id WHERE $1::text IS NOT NULL`})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	_, err = resolveOnce(t, st, &Mapping{UserID: "user_id"}, "x")
	wantUnavailable(t, err, wrong)
	if !strings.Contains(err.Error(), "28P01") && !strings.Contains(err.Error(), "password") {
		t.Fatalf("the error does not say what failed: %v", err)
	}
}

// An idle column (Laravel's last_activity, seconds since 1970) ends the
// session max idle after it; a row without one is refused, not kept
// forever.
func TestSQL_IdleColumnEndsTheSessionMaxIdleAfterIt(t *testing.T) {
	pg := testenv.StartPostgres(t)
	exec(t, pg, `CREATE TABLE sessions (id varchar(255) PRIMARY KEY, payload text NOT NULL, last_activity integer)`)
	now := time.Now().Unix()
	for id, last := range map[string]any{"fresh": now - 60, "idle": now - 7300, "never": nil} {
		exec(t, pg, `INSERT INTO sessions (id, payload, last_activity) VALUES ($1, $2, $3)`, id, `{"user":"alice"}`, last)
	}
	st, err := NewSQLStore(SQLOptions{DSN: pg.DSN(), Password: testenv.PostgresPassword,
		Query: `SELECT payload, last_activity FROM sessions WHERE id = $1`, JSONColumn: "payload",
		IdleColumn: "last_activity", MaxIdle: 7200 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	d, err := st.Lookup(context.Background(), "fresh")
	if err != nil || d.Doc["user"] != "alice" || time.Until(d.Expires) > 7200*time.Second || time.Until(d.Expires) < 7000*time.Second {
		t.Fatalf("fresh: %v %v", d, err)
	}
	for id, reason := range map[string]string{"idle": "expired", "never": "not a time"} {
		if _, err := st.Lookup(context.Background(), id); !IsInvalid(err) || !strings.Contains(err.Error(), reason) {
			t.Fatalf("%s: %v, want invalid (%s)", id, err, reason)
		}
	}
	if _, err := NewSQLStore(SQLOptions{DSN: pg.DSN(), Query: "SELECT 1 WHERE $1 = ''", IdleColumn: "x"}); err == nil {
		t.Fatal("an idle column without a max idle time was accepted")
	}
}
