// room-client.mjs enters one Liveblocks room with the real @liveblocks/client,
// the way a browser tab would, and prints what happened as ONE JSON line on
// stdout. The Go tests run it (see ../roomclient.go) to show that a real client
// gets its token through our auth endpoint and what the room then lets it do.
// Run it from anywhere (ES module imports find node_modules/ from this file's
// folder upwards, not through NODE_PATH): node internal/testenv/js/room-client.mjs '{"authEndpoint":...}'
//
// Input: a JSON object, as the first argument or in LB_ROOM_CLIENT:
//
//   authEndpoint  URL the client POSTs {"room": roomId} to (the string form of
//                 createClient's authEndpoint, so the library does the request)
//   baseUrl       Liveblocks server (the dev server), e.g. http://127.0.0.1:PORT
//   cookie        Cookie header value sent to the auth endpoint's origin only,
//                 as a browser does for a same-origin endpoint; "" = no cookie.
//                 LB_ROOM_CLIENT_COOKIE, when set, takes precedence so the value
//                 stays out of the command line.
//   bearer        when set (LB_ROOM_CLIENT_BEARER only, never the command
//                 line), authEndpoint is given to createClient as a callback,
//                 as a mobile app or an API client does: it POSTs {"room"}
//                 to the URL with "Authorization: Bearer <bearer>" and no
//                 cookie, and returns the endpoint's JSON ({token} or
//                 {error: "forbidden", reason} for a 4xx).
//   roomId        room to enter
//   actions       steps to run once connected, in order (see ACTIONS below),
//                 e.g. [{"type": "storage.increment", "key": "counter"}]
//   timeoutMs     the script prints its result and exits by then, whatever
//                 state the room is in (default 8000)
//
// Output fields: status (the room's last status: "connected", "disconnected",
// "connecting", "reconnecting", "initial"), timedOut, self ({connectionId, id,
// info, canWrite, canComment, presence} or null), closeCode (the code of the
// last WebSocket close before the result was taken, or null), error (the room's last
// "error" event: {code, message}; code -1 means a failure before any socket
// closed, such as the auth endpoint refusing), authStatus (HTTP status of the
// last auth endpoint answer, or null), authCalls, authCookieSent, authToken
// (claims of the last token received: k, uid, gids, perms, ui; never the token),
// authFailure (the library's last log line about a retryable auth failure),
// storageWrite ("ok", "unconfirmed", "refused:<message>", "failed:<message>" or
// null when not asked), storageValue.
//
// The cookie and the tokens are never printed: only booleans and claims.
// Exit code 0 whenever a result line was printed, 2 for bad input.

// The library keeps references to console.warn/error from the moment it is
// loaded, so console is wrapped first and the library imported afterwards.
import WebSocket from "ws";

const DEFAULT_TIMEOUT_MS = 8000;
// After the room turns "disconnected", its "error" event may still be on its
// way; give it this long before reporting.
const SETTLE_MS = 50;

// Anything token-like that a library message might carry is masked before it
// reaches stdout or stderr.
const JWT_RE = /eyJ[\w-]*\.[\w-]*\.[\w-]*/g;
let secretCookie = "";
let secretBearer = "";
// The library reports a retryable auth failure (429, 5xx, a 2xx without a
// token, a timeout) only in its log; the last one is kept for the result.
let lastAuthFailure = null;

function redact(s) {
  let out = String(s).replace(JWT_RE, "<jwt>");
  if (secretCookie) out = out.split(secretCookie).join("<cookie>");
  if (secretBearer) out = out.split(secretBearer).join("<bearer>");
  return out;
}

for (const level of ["log", "info", "warn", "error", "debug"]) {
  const original = console[level].bind(console);
  console[level] = (...args) => {
    const parts = args.map((a) => redact(a instanceof Error ? a.stack || a.message : typeof a === "string" ? a : safeJSON(a)));
    if (level === "error" && parts[0]?.startsWith("Authentication failed")) lastAuthFailure = parts.join(" ");
    original(...parts);
  };
}
const { createClient } = await import("@liveblocks/client");

function safeJSON(v) {
  try {
    return JSON.stringify(v);
  } catch {
    return String(v);
  }
}

function readInput() {
  const raw = process.argv[2] ?? process.env.LB_ROOM_CLIENT;
  if (!raw) throw new Error("no input: pass a JSON object as the first argument or in LB_ROOM_CLIENT");
  let input;
  try {
    input = JSON.parse(raw);
  } catch {
    // The parser's message quotes the input, which may hold the cookie.
    throw new Error("input is not valid JSON");
  }
  for (const field of ["authEndpoint", "baseUrl", "roomId"]) {
    if (typeof input[field] !== "string" || input[field] === "") {
      throw new Error(`input field ${field} must be a non-empty string`);
    }
  }
  for (const field of ["authEndpoint", "baseUrl"]) {
    if (!URL.canParse(input[field])) throw new Error(`input field ${field} must be an absolute URL, got ${JSON.stringify(input[field])}`);
  }
  const envCookie = process.env.LB_ROOM_CLIENT_COOKIE;
  return {
    bearer: process.env.LB_ROOM_CLIENT_BEARER ?? "",
    authEndpoint: input.authEndpoint,
    baseUrl: input.baseUrl,
    cookie: envCookie !== undefined ? envCookie : (input.cookie ?? ""),
    roomId: input.roomId,
    actions: Array.isArray(input.actions) ? input.actions : [],
    timeoutMs: Number(input.timeoutMs) > 0 ? Number(input.timeoutMs) : DEFAULT_TIMEOUT_MS,
  };
}

// tokenClaims decodes a JWT's payload and keeps the claims worth asserting on.
function tokenClaims(token) {
  try {
    const payload = JSON.parse(Buffer.from(token.split(".")[1], "base64url").toString("utf8"));
    const claims = {};
    for (const k of ["k", "pid", "uid", "gids", "perms", "ui"]) {
      if (payload[k] !== undefined) claims[k] = payload[k];
    }
    return claims;
  } catch {
    return { malformed: true };
  }
}

// bearerCallback is authEndpoint as a callback sending a bearer token, as
// the Liveblocks guide shows for custom headers: the library calls it with the
// room id and reads {token}, or {error, reason} ("forbidden" stops its
// retries).
function bearerCallback(url, bearer, result) {
  return async (roomId) => {
    result.authCalls++;
    const res = await fetch(url, {
      method: "POST",
      headers: { Authorization: `Bearer ${bearer}`, "Content-Type": "application/json" },
      body: JSON.stringify({ room: roomId }),
    });
    result.authStatus = res.status;
    const body = await res.json().catch(() => null);
    if (res.ok && typeof body?.token === "string") {
      result.authToken = tokenClaims(body.token);
      return { token: body.token };
    }
    if (res.status >= 400 && res.status < 500) {
      return { error: "forbidden", reason: `the auth endpoint answered ${res.status}` };
    }
    return { error: "unavailable", reason: `the auth endpoint answered ${res.status}` };
  };
}

// makeFetch plays the browser for the auth endpoint: it attaches the cookie to
// requests for the endpoint's origin only, and records what the endpoint said.
function makeFetch(authEndpoint, cookie, result) {
  const authOrigin = new URL(authEndpoint).origin;
  const authURL = new URL(authEndpoint).href;
  return async (input, init = {}) => {
    const url = new URL(typeof input === "string" || input instanceof URL ? input : input.url);
    const headers = new Headers(init.headers ?? (input instanceof Request ? input.headers : undefined));
    const sameOrigin = url.origin === authOrigin;
    if (sameOrigin && cookie) headers.set("Cookie", cookie);
    const isAuthCall = url.href === authURL;
    if (isAuthCall) {
      result.authCalls++;
      result.authCookieSent = sameOrigin && cookie !== "";
    }
    const res = await fetch(url, { ...init, headers });
    if (isAuthCall) {
      result.authStatus = res.status;
      if (res.ok) {
        try {
          const body = await res.clone().json();
          if (typeof body?.token === "string") result.authToken = tokenClaims(body.token);
        } catch {
          // The library reports a non-JSON 2xx itself.
        }
      }
    }
    return res;
  };
}

// makeWebSocket returns a ws subclass that records the server's close code;
// the library only passes it on through the "error" event for some codes.
function makeWebSocket(state) {
  return class ObservedWebSocket extends WebSocket {
    constructor(...args) {
      super(...args);
      this.addEventListener("close", (e) => {
        if (!state.finishing) state.result.closeCode = e.code;
      });
    }
  };
}

function plain(v) {
  if (v !== null && typeof v === "object" && typeof v.toImmutable === "function") return v.toImmutable();
  return v ?? null;
}

function withTimeout(promise, ms, what) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms}ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

// waitSynchronized resolves once the server acknowledged every local storage
// change (true), or after ms (false).
function waitSynchronized(room, ms) {
  if (room.getStorageStatus() === "synchronized") return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      unsub();
      resolve(false);
    }, ms);
    const unsub = room.subscribe("storage-status", (s) => {
      if (s === "synchronized") {
        clearTimeout(timer);
        unsub();
        resolve(true);
      }
    });
  });
}

// waitSelf resolves once the room knows who we are (the server's room state
// arrives just after the status turns "connected"), or rejects after ms.
function waitSelf(room, ms) {
  if (room.getSelf() !== null) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      unsub();
      reject(new Error(`no self within ${ms}ms of connecting`));
    }, ms);
    const unsub = room.events.self.subscribe(() => {
      clearTimeout(timer);
      unsub();
      resolve();
    });
  });
}

// ACTIONS run once the room is connected. Each gets (room, step, result, ms)
// where ms is the time left, and records its outcome in result. Add new
// scenarios here.
const ACTIONS = {
  // storage.increment reads a number at root[key] (0 when absent) and writes
  // it back plus one, like a counter. A read-only user's write is refused by
  // the library before anything is sent.
  async "storage.increment"(room, step, result, ms) {
    const key = typeof step.key === "string" && step.key ? step.key : "counter";
    const { root } = await withTimeout(room.getStorage(), ms, "loading storage");
    const before = plain(root.get(key));
    result.storageValue = before;
    try {
      root.set(key, (typeof before === "number" ? before : 0) + 1);
    } catch (err) {
      result.storageWrite = `refused:${err.message}`;
      return;
    }
    const acked = await waitSynchronized(room, ms);
    result.storageWrite = acked ? "ok" : "unconfirmed";
    result.storageValue = plain(root.get(key));
  },

  // storage.read records root[key] without writing.
  async "storage.read"(room, step, result, ms) {
    const key = typeof step.key === "string" && step.key ? step.key : "counter";
    const { root } = await withTimeout(room.getStorage(), ms, "loading storage");
    result.storageValue = plain(root.get(key));
  },
};

async function main() {
  let input;
  try {
    input = readInput();
  } catch (err) {
    console.error(`room-client: ${err.message}`);
    process.exit(2);
  }
  secretCookie = input.cookie;
  secretBearer = input.bearer;
  for (const step of input.actions) {
    if (!ACTIONS[step?.type]) {
      console.error(`room-client: unknown action ${safeJSON(step?.type)}; known: ${Object.keys(ACTIONS).join(", ")}`);
      process.exit(2);
    }
  }

  const started = Date.now();
  const result = {
    status: "initial",
    timedOut: false,
    self: null,
    closeCode: null,
    error: null,
    authStatus: null,
    authCalls: 0,
    authCookieSent: false,
    authToken: null,
    authFailure: null,
    storageWrite: null,
    storageValue: null,
    elapsedMs: 0,
  };
  const state = { result, finishing: false };

  let room = null;
  let leave = null;
  const finish = () => {
    if (state.finishing) return;
    state.finishing = true;
    if (room) {
      result.status = room.getStatus();
      const self = room.getSelf();
      if (self) {
        result.self = {
          connectionId: self.connectionId,
          id: self.id ?? null,
          info: self.info ?? null,
          canWrite: self.canWrite,
          canComment: self.canComment,
          presence: self.presence ?? null,
        };
      }
    }
    result.authFailure = lastAuthFailure;
    result.elapsedMs = Date.now() - started;
    try {
      leave?.();
    } catch (err) {
      console.error(`room-client: leaving the room: ${err.message}`);
    }
    process.stdout.write(redact(JSON.stringify(result)) + "\n", () => process.exit(0));
  };

  const hardStop = setTimeout(() => {
    result.timedOut = true;
    finish();
  }, input.timeoutMs);

  const client = createClient({
    authEndpoint: input.bearer ? bearerCallback(input.authEndpoint, input.bearer, result) : input.authEndpoint,
    baseUrl: input.baseUrl,
    polyfills: {
      WebSocket: makeWebSocket(state),
      fetch: makeFetch(input.authEndpoint, input.cookie, result),
    },
  });

  let connectedOnce = false;
  const timeLeft = () => Math.max(input.timeoutMs - (Date.now() - started) - SETTLE_MS, 1);
  const onConnected = async () => {
    try {
      await waitSelf(room, timeLeft());
    } catch (err) {
      result.error = result.error ?? { code: null, message: err.message };
      finish();
      return;
    }
    for (const step of input.actions) {
      if (state.finishing) return;
      try {
        await ACTIONS[step.type](room, step, result, timeLeft());
      } catch (err) {
        if (step.type.startsWith("storage.") && result.storageWrite === null && step.type !== "storage.read") {
          result.storageWrite = `failed:${err.message}`;
        } else {
          result.error = result.error ?? { code: null, message: `${step.type}: ${err.message}` };
        }
        break;
      }
    }
    finish();
  };

  ({ room, leave } = client.enterRoom(input.roomId, { initialPresence: {} }));
  room.subscribe("error", (err) => {
    result.error = { code: err.context?.code ?? null, message: err.message };
  });
  const onStatus = (status) => {
    result.status = status;
    if (status === "disconnected") {
      // Final: the library does not retry from here. Also covers a room that
      // drops us while the actions run.
      setTimeout(finish, SETTLE_MS);
    } else if (status === "connected" && !connectedOnce) {
      connectedOnce = true;
      void onConnected();
    }
  };
  room.subscribe("status", onStatus);
  onStatus(room.getStatus());
}

main().catch((err) => {
  console.error(`room-client: ${err?.stack ?? err}`);
  process.exit(1);
});
