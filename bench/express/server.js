// The reference the benchmark compares the sidecar's token path with: the
// auth endpoint of the Liveblocks documentation ("Authenticate with ID
// tokens": Express, @liveblocks/node identifyUser), behind the same session
// check the sidecar makes (an HS256 JWT in the "session" cookie).
//
// Environment: PORT (and HOST, default 127.0.0.1), LIVEBLOCKS_BASE_URL,
// LIVEBLOCKS_SECRET_KEY, SESSION_HMAC_SECRET.
"use strict";

const express = require("express");
const cookieParser = require("cookie-parser");
const jwt = require("jsonwebtoken");
const { Liveblocks } = require("@liveblocks/node");

const secret = process.env.SESSION_HMAC_SECRET;
if (!secret) {
  console.error("SESSION_HMAC_SECRET is required");
  process.exit(2);
}
const liveblocks = new Liveblocks({
  secret: process.env.LIVEBLOCKS_SECRET_KEY,
  baseUrl: process.env.LIVEBLOCKS_BASE_URL,
});

const app = express();
app.disable("x-powered-by");
app.use(express.json());
app.use(cookieParser());

// The app's own session check: the current user from the session cookie.
function currentUser(req) {
  const token = req.cookies.session;
  if (!token) return null;
  try {
    return jwt.verify(token, secret, { algorithms: ["HS256"] });
  } catch {
    return null;
  }
}

app.post("/api/liveblocks-auth", async (req, res) => {
  const user = currentUser(req);
  if (!user) {
    return res.status(401).json({ error: "unauthorized" });
  }
  // Identify the user and return the result, as in the documentation.
  const { status, body } = await liveblocks.identifyUser(
    { userId: user.sub, groupIds: user.groups },
    { userInfo: { name: user.name, avatar: user.picture } },
  );
  return res.status(status).end(body);
});

app.get("/healthz", (_req, res) => res.end("ok\n"));

const port = Number(process.env.PORT || 3000);
app.listen(port, process.env.HOST || "127.0.0.1", () => {
  console.log(`express reference listening on ${port}`);
});
