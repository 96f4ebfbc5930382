package session_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"net/url"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"

	"github.com/lbauthz/lbauthz/authz/session"
	"github.com/lbauthz/lbauthz/internal/storetest"
	"github.com/lbauthz/lbauthz/internal/testenv"
)

// Every session store runs the same conformance suite (internal/storetest),
// against its real backend.

// randomID is a session id as session libraries make them.
func randomID(t *testing.T) string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

func TestConformance_JWT(t *testing.T) {
	key, other := []byte(randomID(t)+randomID(t)), []byte(randomID(t)+randomID(t))
	store, err := session.NewJWTStore(session.JWTOptions{Algorithms: []string{"HS256"}, HMACSecret: key})
	if err != nil {
		t.Fatal(err)
	}
	sign := func(key []byte, user string, exp time.Time) string {
		s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"sub": user, "exp": exp.Unix()}).SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	storetest.Run(t, storetest.Harness{
		Store: store, UserIDPath: "sub",
		Put: func(t *testing.T, user string, exp time.Time) string { return sign(key, user, exp) },
		// A JWT names no stored session: one the app did not sign is the
		// missing one.
		Missing: sign(other, "alice", time.Now().Add(time.Hour)),
	})
}

func TestConformance_Redis(t *testing.T) {
	r := testenv.StartRedis(t)
	store, err := session.NewRedisStore(session.RedisOptions{Address: r.Addr, KeyTemplate: "sess:{id}",
		ExpiresPath: "cookie.expires", Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	client := redis.NewClient(&redis.Options{Addr: r.Addr})
	t.Cleanup(func() { client.Close() })
	storetest.Run(t, storetest.Harness{
		Store: store, UserIDPath: "user.id",
		// As connect-redis writes it: the key's TTL and cookie.expires
		// both say when the session ends (a past end has no TTL to give).
		Put: func(t *testing.T, user string, exp time.Time) string {
			id := randomID(t)
			doc, _ := json.Marshal(map[string]any{"cookie": map[string]any{"expires": exp.UTC().Format(time.RFC3339Nano)},
				"user": map[string]any{"id": user}})
			if err := client.Set(context.Background(), "sess:"+id, doc, max(time.Until(exp), 0)).Err(); err != nil {
				t.Fatal(err)
			}
			return id
		},
		Missing: randomID(t),
		Down:    func(*testing.T) { r.Stop() },
	})
}

func TestConformance_PostgreSQL(t *testing.T) {
	pg := testenv.StartPostgres(t)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, pg.URL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	if _, err := conn.Exec(ctx, `CREATE TABLE sessions (sid text PRIMARY KEY, sess json NOT NULL, expire timestamptz NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	store, err := session.NewSQLStore(session.SQLOptions{DSN: pg.DSN(), Password: testenv.PostgresPassword,
		Query: `SELECT sess, expire FROM sessions WHERE sid = $1`, JSONColumn: "sess", ExpiresColumn: "expire", Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	storetest.Run(t, storetest.Harness{
		Store: store, UserIDPath: "user.id",
		Put: func(t *testing.T, user string, exp time.Time) string {
			id := randomID(t)
			doc, _ := json.Marshal(map[string]any{"user": map[string]any{"id": user}})
			if _, err := conn.Exec(ctx, `INSERT INTO sessions VALUES ($1, $2, $3)`, id, string(doc), exp); err != nil {
				t.Fatal(err)
			}
			return id
		},
		Missing: randomID(t),
		Down:    func(*testing.T) { conn.Close(context.Background()); pg.Stop() },
	})
}

func TestConformance_MySQL(t *testing.T) {
	m := testenv.StartMariaDB(t)
	db, err := sql.Open("mysql", m.DSNWithPassword())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	// The table of express-mysql-session: the end in seconds since 1970.
	if _, err := db.Exec(`CREATE TABLE sessions (session_id varchar(128) COLLATE utf8mb4_bin NOT NULL PRIMARY KEY,
		expires int(11) unsigned NOT NULL, data mediumtext COLLATE utf8mb4_bin)`); err != nil {
		t.Fatal(err)
	}
	store, err := session.NewSQLStore(session.SQLOptions{Driver: "mysql", DSN: m.DSN(), Password: testenv.MariaDBPassword,
		Query: `SELECT data, expires FROM sessions WHERE session_id = ?`, JSONColumn: "data", ExpiresColumn: "expires", Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	storetest.Run(t, storetest.Harness{
		Store: store, UserIDPath: "user.id",
		Put: func(t *testing.T, user string, exp time.Time) string {
			id := randomID(t)
			doc, _ := json.Marshal(map[string]any{"user": map[string]any{"id": user}})
			if _, err := db.Exec(`INSERT INTO sessions VALUES (?, ?, ?)`, id, exp.Unix(), string(doc)); err != nil {
				t.Fatal(err)
			}
			return id
		},
		Missing: randomID(t),
		Down:    func(*testing.T) { db.Close(); m.Stop() },
	})
}

func TestConformance_Introspection(t *testing.T) {
	const secret = "the express app's cookie secret, long enough 0123456789"
	r := testenv.StartRedis(t)
	app := testenv.StartExpressApp(t, testenv.ExpressOptions{Store: "redis", RedisURL: r.URL(), Secrets: []string{secret}})
	store, err := session.NewIntrospectionStore(session.IntrospectionOptions{URL: app.URL + "/api/me", CookieName: "connect.sid", Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	storetest.Run(t, storetest.Harness{
		Store: store, UserIDPath: "id",
		Put: func(t *testing.T, user string, _ time.Time) string {
			return app.Login(t, map[string]any{"id": user})
		},
		// The app forgets a session once it ends: there is no ended session
		// to ask it about.
		NoEnd: true,
		// Signed as the app signs, for an id the app never gave.
		Missing: url.QueryEscape(session.SignExpress(randomID(t), []byte(secret))),
		Down:    func(*testing.T) { app.Stop() },
	})
}
