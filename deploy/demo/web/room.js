// The collaborative part of the demo page, in the browser only: who is in
// the room, live cursors, a shared counter and a comment Composer. build.mjs
// bundles it with @liveblocks/react and @liveblocks/react-ui. The token comes
// from /api/liveblocks-auth on the page's own origin, which nginx routes to
// lbauthz: the app behind nginx has no Liveblocks code. So do the names,
// avatars and "@" suggestions of the Composer (resolvers.js). The WebSocket
// goes to the Liveblocks server named in the page (the dev server, for the
// demo).
import { LiveblocksProvider, RoomProvider, useRoom } from "@liveblocks/react";
import { Composer, LiveblocksUiConfig } from "@liveblocks/react-ui";
import "@liveblocks/react-ui/styles.css";
import { useEffect } from "react";
import { createRoot } from "react-dom/client";
import { resolvers } from "./resolvers.js";

const $ = (id) => document.getElementById(id);
const main = document.querySelector("[data-room]");
const roomId = main.dataset.room;
const baseUrl = document.querySelector('meta[name="liveblocks-base-url"]').content;

// Same colors as the avatars the app draws (colorOf in app.mjs).
const PALETTE = ["#e2553d", "#2f7de1", "#8a4fd8", "#1f9d6b", "#d9860b", "#c2417a"];
function colorOf(id) {
  let h = 0;
  for (const ch of String(id)) h = (h * 17 + ch.charCodeAt(0)) >>> 0;
  return PALETTE[h % PALETTE.length];
}

// One client and one connection for the whole page: the board below uses
// the room the RoomProvider entered.
function Board() {
  const room = useRoom();
  useEffect(() => {
    startBoard(room);
  }, [room]);
  return null;
}

// The emoji picker's data comes from the app (app.mjs), not from a CDN.
createRoot($("comments")).render(
  <LiveblocksProvider authEndpoint="/api/liveblocks-auth" baseUrl={baseUrl} {...resolvers}>
    <LiveblocksUiConfig emojibaseUrl="/static/emojibase">
      <RoomProvider id={roomId} initialPresence={{ cursor: null }}>
        <Board />
        <Composer className="composer" />
      </RoomProvider>
    </LiveblocksUiConfig>
  </LiveblocksProvider>,
);

// startBoard shows the room's status, people, cursors and counter for as
// long as the page is open.
function startBoard(room) {
  // --- status and refusal -------------------------------------------------

  const STATUS_TEXT = {
    initial: "starting",
    connecting: "connecting…",
    connected: "connected",
    reconnecting: "reconnecting…",
    disconnected: "disconnected",
  };
  let refused = false;

  function showStatus(status) {
    const el = $("status");
    el.dataset.status = refused ? "refused" : status;
    el.textContent = refused ? "refused" : STATUS_TEXT[status] ?? status;
  }

  // A room that refuses the user closes the socket with 4001 and the client
  // stops: status "disconnected" plus an "error" event whose context.code is
  // 4001. A refusal of the token itself (401/403 from /api/liveblocks-auth)
  // has code -1.
  function showRefusal(err) {
    refused = true;
    const code = err?.context?.code;
    const why =
      code === 4001
        ? "Liveblocks closed the connection with code 4001: you have no access to this room."
        : code === -1
          ? "The token request was refused: you are not signed in."
          : `The connection failed (code ${code ?? "unknown"}).`;
    const box = $("refusal");
    box.innerHTML = "";
    const h = document.createElement("h2");
    h.textContent = "You cannot enter this room";
    const p1 = document.createElement("p");
    p1.textContent = why;
    const p2 = document.createElement("p");
    p2.className = "detail";
    p2.textContent = `Liveblocks said: “${err?.message ?? "no access"}”. Only the groups team (edit) and viewers (read) are let in.`;
    box.append(h, p1, p2);
    box.dataset.code = String(code ?? "");
    box.hidden = false;
    $("content").hidden = true;
    const none = document.createElement("li");
    none.className = "empty";
    none.textContent = "You are not in the room, so you see nobody.";
    $("people").replaceChildren(none);
    showStatus(room.getStatus());
  }

  room.subscribe("status", showStatus);
  room.subscribe("error", showRefusal);
  showStatus(room.getStatus());

  // --- who is here --------------------------------------------------------

  function personItem(user, isSelf) {
    const li = document.createElement("li");
    li.dataset.userId = user.id ?? "";
    li.dataset.connectionId = String(user.connectionId);
    const img = document.createElement("img");
    img.className = "avatar";
    img.alt = "";
    if (user.info?.avatar) img.src = user.info.avatar;
    const name = document.createElement("span");
    name.className = "name";
    name.textContent = (user.info?.name ?? user.id ?? "someone") + (isSelf ? " (you)" : "");
    const access = document.createElement("span");
    access.className = user.canWrite ? "badge edit" : "badge read";
    access.textContent = user.canWrite ? "can edit" : "read-only";
    li.append(img, name, access);
    return li;
  }

  function renderPeople() {
    const self = room.getSelf();
    const list = $("people");
    list.innerHTML = "";
    if (self) list.append(personItem(self, true));
    for (const other of room.getOthers()) list.append(personItem(other, false));
    if (self) {
      $("increment").disabled = !self.canWrite;
      $("decrement").disabled = !self.canWrite;
      $("readonly-note").hidden = self.canWrite;
    }
  }

  room.events.self.subscribe(renderPeople);
  room.subscribe("others", () => {
    renderPeople();
    renderCursors();
  });

  // --- live cursors -------------------------------------------------------

  const board = $("board");
  const cursors = new Map(); // connectionId -> element

  // Positions are fractions of the board, so windows of any size agree.
  board.addEventListener("pointermove", (e) => {
    const r = board.getBoundingClientRect();
    room.updatePresence({ cursor: { x: (e.clientX - r.left) / r.width, y: (e.clientY - r.top) / r.height } });
  });
  board.addEventListener("pointerleave", () => room.updatePresence({ cursor: null }));

  function renderCursors() {
    const seen = new Set();
    for (const other of room.getOthers()) {
      const c = other.presence?.cursor;
      if (!c) continue;
      seen.add(other.connectionId);
      let el = cursors.get(other.connectionId);
      if (!el) {
        el = document.createElement("div");
        el.className = "cursor";
        el.dataset.userId = other.id ?? "";
        const color = colorOf(other.id);
        el.innerHTML = `<svg width="18" height="22" viewBox="0 0 18 22"><path d="M1 1 L1 18 L6 13 L10 21 L13 19.5 L9 12 L16 12 Z" fill="${color}" stroke="#fff" stroke-width="1.5"/></svg>`;
        const label = document.createElement("span");
        label.style.background = color;
        label.textContent = other.info?.name ?? other.id;
        el.append(label);
        board.append(el);
        cursors.set(other.connectionId, el);
      }
      el.style.left = `${c.x * 100}%`;
      el.style.top = `${c.y * 100}%`;
    }
    for (const [id, el] of cursors) {
      if (!seen.has(id)) {
        el.remove();
        cursors.delete(id);
      }
    }
  }

  // --- the shared counter -------------------------------------------------

  room.getStorage().then(({ root }) => {
    const show = () => {
      const v = root.get("counter");
      $("counter").textContent = String(typeof v === "number" ? v : 0);
      $("counter").dataset.ready = "true";
    };
    const add = (n) => {
      const v = root.get("counter");
      // A read-only user's write is refused by the library (the buttons are
      // disabled for them anyway).
      root.set("counter", (typeof v === "number" ? v : 0) + n);
    };
    $("increment").addEventListener("click", () => add(1));
    $("decrement").addEventListener("click", () => add(-1));
    room.subscribe(root, show);
    show();
  });
}
