// A real Express app with express-session, its sessions kept by
// connect-redis (STORE=redis) or connect-pg-simple (STORE=pg), as an app
// that lbauthz sits in front of would have them. The tests log users in
// through it and use the Set-Cookie it answers.
//
// Environment: PORT, STORE (redis | pg), REDIS_URL, PG_URL, SECRETS (a JSON
// list: express-session's `secret`, the first one signs), MAX_AGE_MS (the
// session cookie's maxAge; none when unset).
//
// Routes: POST /login {user: {...}} puts the user in the session;
// GET /api/me answers the session's user or 401; POST /logout ends the
// session; GET /health answers 200.
import express from "express";
import session from "express-session";

const env = process.env;
const secrets = JSON.parse(env.SECRETS || "[]");
if (secrets.length === 0) throw new Error("SECRETS is required");

let store;
if (env.STORE === "redis") {
  const { createClient } = await import("redis");
  const { RedisStore } = await import("connect-redis");
  const client = createClient({ url: env.REDIS_URL });
  client.on("error", (err) => console.error("redis:", err.message));
  await client.connect();
  store = new RedisStore({ client }); // default prefix "sess:"
} else if (env.STORE === "pg") {
  const pg = (await import("pg")).default;
  const connectPgSimple = (await import("connect-pg-simple")).default;
  const pool = new pg.Pool({ connectionString: env.PG_URL });
  pool.on("error", (err) => console.error("pg:", err.message)); // a restart must not end the app
  const PGStore = connectPgSimple(session);
  store = new PGStore({ pool, createTableIfMissing: true });
} else {
  throw new Error(`STORE must be redis or pg, got ${env.STORE}`);
}

const app = express();
app.use(express.json());
app.use(
  session({
    store,
    secret: secrets,
    resave: false,
    saveUninitialized: false,
    cookie: env.MAX_AGE_MS ? { maxAge: Number(env.MAX_AGE_MS) } : {},
  }),
);

app.get("/health", (req, res) => res.json({ status: "ok" }));

app.post("/login", (req, res, next) => {
  req.session.regenerate((err) => {
    if (err) return next(err);
    req.session.user = req.body.user;
    req.session.save((err) => (err ? next(err) : res.json({ ok: true })));
  });
});

app.get("/api/me", (req, res) => {
  if (!req.session.user) return res.status(401).json({ error: "not logged in" });
  res.json(req.session.user);
});

app.post("/logout", (req, res, next) => {
  req.session.destroy((err) => (err ? next(err) : res.json({ ok: true })));
});

app.use((err, req, res, next) => {
  console.error("error:", err.message);
  res.status(500).json({ error: "internal" });
});

const server = app.listen(Number(env.PORT), "127.0.0.1", () => {
  console.log(`express-session app on ${server.address().port} with ${env.STORE}`);
});
