// The demo's "legacy" app: an intranet page with a login form and its own
// signed session cookie. It has no Liveblocks code and no Liveblocks key.
// nginx sits in front of it, lbauthz answers nginx's questions and the
// browser's POST /api/liveblocks-auth, and the collaborative part of the page
// (web/room.js, bundled by build.mjs) runs in the browser only.
//
// The session cookie is an HS256 JWT signed with the demo key that the demo's
// sidecar verifies (cmd/lbauthz-demo/config.go). The key is public on
// purpose: never use it, or this way of logging in, for anything real.
//
// Environment:
//   DEMO_APP_LISTEN      host:port to listen on (default 127.0.0.1:3000)
//   DEMO_STATIC_DIR      folder with the built room.js (node build.mjs DIR)
//   DEMO_LIVEBLOCKS_URL  where the browser finds Liveblocks (the dev server),
//                        written into the page for the browser's client
//
// Routes: GET /login, POST /login, POST /logout, GET / (the shared board),
// GET /avatars/<user>.svg, GET /static/* (with the Composer's emoji data
// under /static/emojibase/), GET /healthz.
import { createHmac, timingSafeEqual } from "node:crypto";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";
import express from "express";

const DEMO_SESSION_KEY = "lbauthz-demo-session-key-not-a-secret-0001";
const COOKIE = "session";
const SESSION_SECONDS = 12 * 3600;
const ROOM = "demo-board";
const PASSWORD = "demo";

// The demo users. Groups decide what each may do in the room, through the
// provisioning rule of the demo's sidecar (lbauthz-demo serve): team edits, viewers watch,
// anybody else is refused.
const USERS = {
  alice: { name: "Alice Martin", groups: ["team"], access: "can edit" },
  bob: { name: "Bob Chen", groups: ["team"], access: "can edit" },
  carol: { name: "Carol Diaz", groups: ["viewers"], access: "read-only" },
  dave: { name: "Dave Okafor", groups: ["guests"], access: "no access" },
};

const here = path.dirname(fileURLToPath(import.meta.url));
const env = process.env;
const listen = env.DEMO_APP_LISTEN || "127.0.0.1:3000";
const staticDir = env.DEMO_STATIC_DIR;
const liveblocksURL = env.DEMO_LIVEBLOCKS_URL || "http://127.0.0.1:1153";
if (!staticDir) throw new Error("DEMO_STATIC_DIR is required: build the page with node deploy/demo/build.mjs DIR");

const b64url = (buf) => Buffer.from(buf).toString("base64url");

function signSession(id, user) {
  const now = Math.floor(Date.now() / 1000);
  const header = b64url(JSON.stringify({ alg: "HS256", typ: "JWT" }));
  const claims = b64url(
    JSON.stringify({
      sub: id,
      name: user.name,
      groups: user.groups,
      picture: `/avatars/${id}.svg`,
      iat: now,
      exp: now + SESSION_SECONDS,
    }),
  );
  const mac = createHmac("sha256", DEMO_SESSION_KEY).update(`${header}.${claims}`).digest();
  return `${header}.${claims}.${b64url(mac)}`;
}

// readSession returns the signed-in user's claims, or null.
function readSession(req) {
  const raw = (req.headers.cookie || "")
    .split(";")
    .map((c) => c.trim())
    .find((c) => c.startsWith(`${COOKIE}=`));
  if (!raw) return null;
  const [header, claims, sig] = raw.slice(COOKIE.length + 1).split(".");
  if (!header || !claims || !sig) return null;
  const want = createHmac("sha256", DEMO_SESSION_KEY).update(`${header}.${claims}`).digest();
  const got = Buffer.from(sig, "base64url");
  if (got.length !== want.length || !timingSafeEqual(got, want)) return null;
  try {
    const c = JSON.parse(Buffer.from(claims, "base64url").toString("utf8"));
    return c.exp > Date.now() / 1000 && USERS[c.sub] ? c : null;
  } catch {
    return null;
  }
}

const esc = (s) =>
  String(s).replace(/[&<>"']/g, (ch) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[ch]);

// colorOf gives each user a color; web/room.js has the same function for
// the cursors.
const PALETTE = ["#e2553d", "#2f7de1", "#8a4fd8", "#1f9d6b", "#d9860b", "#c2417a"];
function colorOf(id) {
  let h = 0;
  for (const ch of id) h = (h * 17 + ch.charCodeAt(0)) >>> 0;
  return PALETTE[h % PALETTE.length];
}

function page(title, body, head = "") {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(title)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
${head}<link rel="stylesheet" href="/static/style.css"></head>
<body>${body}</body></html>`;
}

const topbar = (right = "") => `<header class="topbar"><span class="brand">Acme Intranet</span>
<span class="legacy">legacy app, unchanged</span><span class="spacer"></span>${right}</header>`;

function loginPage(error = "", username = "") {
  const rows = Object.entries(USERS)
    .map(([id, u]) => `<tr><td><code>${id}</code></td><td>${esc(u.name)}</td><td>${u.groups.join(", ")}</td><td>${u.access}</td></tr>`)
    .join("");
  return page(
    "Sign in · Acme Intranet",
    `${topbar()}
<main class="login">
  <form method="post" action="/login" class="card">
    <h1>Sign in</h1>
    ${error ? `<p class="error" id="login-error">${esc(error)}</p>` : ""}
    <label>User name <input name="username" autocomplete="username" value="${esc(username)}" autofocus></label>
    <label>Password <input name="password" type="password" autocomplete="current-password"></label>
    <button type="submit">Sign in</button>
  </form>
  <section class="card users">
    <h2>Demo users <small>(password: <code>${PASSWORD}</code>)</small></h2>
    <table><tr><th>user</th><th>name</th><th>groups</th><th>in the room</th></tr>${rows}</table>
  </section>
</main>`,
  );
}

function boardPage(user, req) {
  // What nginx passed on from lbauthz: the app could use these instead of
  // its own cookie. Shown so a visitor sees the identity headers at work.
  const seen = ["x-user-id", "x-user-groups"]
    .map((h) => `<code>${h}: ${esc(req.headers[h] ?? "(none)")}</code>`)
    .join(" ");
  return page(
    "Shared board · Acme Intranet",
    `${topbar(`<img class="avatar small" src="${esc(user.picture)}" alt=""><span id="signed-in-as">${esc(user.name)}</span>
<form method="post" action="/logout"><button class="link">Sign out</button></form>`)}
<main class="board-page" data-room="${ROOM}">
  <section class="card board-card">
    <div class="card-head"><h1>Shared board <small>room <code>${ROOM}</code></small></h1>
      <span id="status" class="status" data-status="initial">starting</span></div>
    <div id="refusal" class="refusal" hidden></div>
    <div id="content">
      <div id="board" class="board">
        <div class="counter-box">
          <div class="counter-label">Shared counter</div>
          <div id="counter" class="counter">·</div>
          <div class="buttons"><button id="decrement" disabled>−1</button><button id="increment" disabled>+1</button></div>
          <p id="readonly-note" class="note" hidden>You have read-only access: you see every change as it happens, but cannot edit.</p>
        </div>
        <p class="hint">Move your mouse here: the others see your cursor.</p>
      </div>
      <div class="comments">
        <h2>Comment <small>names, avatars and <code>@</code> suggestions come from lbauthz</small></h2>
        <div id="comments"></div>
        <p class="hint-inline">Type <code>@</code> to mention someone who can enter this room. The Liveblocks dev
        server does not store comments: it refuses to post them.</p>
      </div>
    </div>
  </section>
  <aside class="card people-card">
    <h2>In this room</h2>
    <ul id="people" class="people"></ul>
  </aside>
</main>
<footer class="footer">This page comes from an app that knows nothing about Liveblocks. nginx asked lbauthz about this
request and the app received ${seen}.</footer>
<script type="module" src="/static/room.js"></script>`,
    `<meta name="liveblocks-base-url" content="${esc(liveblocksURL)}"><link rel="stylesheet" href="/static/room.css">`,
  );
}

const app = express();
app.disable("x-powered-by");
app.use(express.urlencoded({ extended: false, limit: "2kb" }));
app.use("/static", express.static(staticDir, { fallthrough: true }));
app.use("/static", express.static(path.join(here, "web"), { index: false }));
// The emoji picker's data, which it would otherwise fetch from a CDN.
const emojibase = path.dirname(createRequire(import.meta.url).resolve("emojibase-data/package.json"));
app.use("/static/emojibase", express.static(emojibase, { index: false }));

app.get("/healthz", (req, res) => res.type("text/plain").send("ok\n"));
app.get("/favicon.ico", (req, res) => res.status(204).end());

app.get("/login", (req, res) => res.type("html").send(loginPage()));

app.post("/login", (req, res) => {
  const id = String(req.body?.username ?? "").trim().toLowerCase();
  const user = Object.hasOwn(USERS, id) ? USERS[id] : null;
  if (!user || req.body?.password !== PASSWORD) {
    res.status(401).type("html").send(loginPage("Unknown user or wrong password.", id));
    return;
  }
  res.cookie(COOKIE, signSession(id, user), { httpOnly: true, sameSite: "lax", path: "/", maxAge: SESSION_SECONDS * 1000 });
  res.redirect(303, "/");
});

app.post("/logout", (req, res) => {
  res.clearCookie(COOKIE, { path: "/" });
  res.redirect(303, "/login");
});

app.get("/", (req, res) => {
  const user = readSession(req);
  if (!user) {
    res.redirect(303, "/login");
    return;
  }
  res.set("cache-control", "no-store").type("html").send(boardPage(user, req));
});

// Initials on a colored disc: the demo needs no network.
app.get("/avatars/:file", (req, res) => {
  const id = req.params.file.replace(/\.svg$/, "");
  const user = Object.hasOwn(USERS, id) ? USERS[id] : null;
  if (!user) {
    res.status(404).type("text/plain").send("no such avatar\n");
    return;
  }
  const initials = user.name
    .split(" ")
    .map((w) => w[0])
    .join("");
  res.type("image/svg+xml").set("cache-control", "public, max-age=3600")
    .send(`<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64" viewBox="0 0 64 64">
<circle cx="32" cy="32" r="32" fill="${colorOf(id)}"/>
<text x="32" y="41" font-family="sans-serif" font-size="24" font-weight="600" fill="#fff" text-anchor="middle">${esc(initials)}</text></svg>`);
});

const [host, port] = [listen.slice(0, listen.lastIndexOf(":")), Number(listen.slice(listen.lastIndexOf(":") + 1))];
const server = app.listen(port, host, (err) => {
  if (err) {
    console.error(`demo app: cannot listen on ${listen}: ${err.message}`);
    process.exit(1);
  }
  console.log(`demo app: listening on http://${listen}`);
});
for (const sig of ["SIGINT", "SIGTERM"]) {
  process.on(sig, () => {
    server.close();
    server.closeAllConnections();
    process.exit(0);
  });
}
