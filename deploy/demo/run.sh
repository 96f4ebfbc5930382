#!/usr/bin/env bash
# make run: the whole thing on loopback, in front of a browser.
#
#   browser -> nginx :8080 (deploy/nginx/nginx.conf) -> demo app :3000 (app.mjs, no Liveblocks code)
#                |-> auth_request /check/nginx -> lbauthz-demo :8181 (deploy/demo/cmd/lbauthz-demo)
#                |-> POST /api/liveblocks-auth -> lbauthz -> Liveblocks dev server :1153
#                \-> GET /api/liveblocks-{users,mentions,groups,rooms} (the Composer's resolvers) -> lbauthz
#   browser -> WebSocket -> Liveblocks dev server :1153
#
# Ctrl-C stops what this script started, and nothing else. The ports can be
# moved with DEMO_PORT, APP_PORT, LB_PORT, LBAUTHZ_HTTP_PORT, LBAUTHZ_GRPC_PORT;
# LBAUTHZ_DEMO_BIN names the demo's sidecar (default bin/lbauthz-demo, built by make run).
set -euo pipefail
cd "$(dirname "$0")/../.."

HOST=127.0.0.1
DEMO_PORT=${DEMO_PORT:-8080}
APP_PORT=${APP_PORT:-3000}
LB_PORT=${LB_PORT:-1153}
LBAUTHZ_HTTP_PORT=${LBAUTHZ_HTTP_PORT:-8181}
LBAUTHZ_GRPC_PORT=${LBAUTHZ_GRPC_PORT:-9191}
LBAUTHZ_DEMO_BIN=${LBAUTHZ_DEMO_BIN:-bin/lbauthz-demo}
# The dev server's CLI runs on Bun and looks for it on PATH.
export PATH="$PWD/node_modules/.bin:$PATH"

# nginx: Debian's nginx-light when we are root, a clear message otherwise.
nginx_bin=$(command -v nginx || true)
[ -z "$nginx_bin" ] && [ -x /usr/sbin/nginx ] && nginx_bin=/usr/sbin/nginx
if [ -z "$nginx_bin" ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "The demo needs nginx with the auth_request module. Install it, then run make run again:" >&2
    echo "  sudo apt-get install nginx-light" >&2
    exit 1
  fi
  echo "Installing nginx (Debian's nginx-light) ..."
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nginx-light >/dev/null
  nginx_bin=/usr/sbin/nginx
fi
for f in "$LBAUTHZ_DEMO_BIN" node_modules/liveblocks/dist/index.js node_modules/esbuild/package.json \
  node_modules/@liveblocks/react-ui/package.json node_modules/emojibase-data/package.json; do
  if [ ! -e "$f" ]; then echo "$f is missing: run make run (it builds and installs what the demo needs)." >&2; exit 1; fi
done

busy() { (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null; }
for port in "$DEMO_PORT" "$APP_PORT" "$LB_PORT" "$LBAUTHZ_HTTP_PORT" "$LBAUTHZ_GRPC_PORT"; do
  if busy "$port"; then echo "$HOST:$port is already in use: stop what listens there first." >&2; exit 1; fi
done

work=$(mktemp -d "${TMPDIR:-/tmp}/lbauthz-demo.XXXXXX")
# nginx's workers run as nobody when we are root: they must reach the prefix.
chmod 755 "$work"
mkdir "$work/static" "$work/logs"

pids=()
names=()
logs=()
cleanup() {
  local code=$?
  trap - INT TERM EXIT
  if [ "${#pids[@]}" -gt 0 ]; then
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    wait "${pids[@]}" 2>/dev/null || true
  fi
  rm -rf "$work"
  echo "stopped."
  exit "$code"
}
on_signal() { echo; exit 0; }
trap cleanup EXIT
trap on_signal INT TERM

# Each part runs in its own session, away from the terminal: a Ctrl-C reaches
# this script (and make) only, and cleanup stops each part.
start() { # name log command...
  local name=$1 log=$2
  shift 2
  setsid "$@" </dev/null >"$log" 2>&1 &
  pids+=($!)
  names+=("$name")
  logs+=("$log")
}

wait_for() { # url name log...
  local url=$1 name=$2
  shift 2
  for _ in $(seq 1 200); do
    if curl -fsS -o /dev/null "$url" 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  echo "$name did not start; its log:" >&2
  tail -n 30 "$@" >&2 || true
  exit 1
}

echo "Building the page (esbuild) ..."
node deploy/demo/build.mjs "$work/static"

echo "Starting the Liveblocks dev server on http://$HOST:$LB_PORT ..."
start "the Liveblocks dev server" "$work/logs/liveblocks.log" \
  bun node_modules/liveblocks/dist/index.js dev --port "$LB_PORT" --host "$HOST" --no-check --no-persist
wait_for "http://$HOST:$LB_PORT/health" "the Liveblocks dev server" "$work/logs/liveblocks.log"

echo "Starting lbauthz-demo serve (HTTP $HOST:$LBAUTHZ_HTTP_PORT, gRPC $HOST:$LBAUTHZ_GRPC_PORT) ..."
start "lbauthz" "$work/logs/lbauthz.log" env \
  LIVEBLOCKS_BASE_URL="http://$HOST:$LB_PORT" LIVEBLOCKS_SECRET_KEY=sk_localdev \
  LBAUTHZ_DEMO_HTTP="$HOST:$LBAUTHZ_HTTP_PORT" LBAUTHZ_DEMO_GRPC="$HOST:$LBAUTHZ_GRPC_PORT" \
  "$LBAUTHZ_DEMO_BIN" serve
wait_for "http://$HOST:$LBAUTHZ_HTTP_PORT/readyz" "lbauthz" "$work/logs/lbauthz.log"

echo "Starting the demo app (deploy/demo/app.mjs) on $HOST:$APP_PORT ..."
start "the demo app" "$work/logs/app.log" env \
  DEMO_APP_LISTEN="$HOST:$APP_PORT" DEMO_STATIC_DIR="$work/static" DEMO_LIVEBLOCKS_URL="http://$HOST:$LB_PORT" \
  node deploy/demo/app.mjs
wait_for "http://$HOST:$APP_PORT/healthz" "the demo app" "$work/logs/app.log"

echo "Starting nginx (deploy/nginx/nginx.conf) on $HOST:$DEMO_PORT ..."
# The shipped nginx.conf, with only its documented addresses replaced
# (deploy/nginx/README.md, "What to adapt"); paths are under the -p prefix.
replace_once() { # file literal replacement
  local n
  n=$(grep -cF -- "$2" "$1" || true)
  if [ "$n" != 1 ]; then echo "deploy/nginx/nginx.conf: expected '$2' once, found it $n times" >&2; exit 1; fi
  sed -i "s|$2|$3|" "$1"
}
cp deploy/nginx/nginx.conf "$work/nginx.conf"
replace_once "$work/nginx.conf" "listen 8080;" "listen $HOST:$DEMO_PORT;"
replace_once "$work/nginx.conf" "server 127.0.0.1:8181;" "server $HOST:$LBAUTHZ_HTTP_PORT;"
replace_once "$work/nginx.conf" "server 127.0.0.1:3000;" "server $HOST:$APP_PORT;"
start "nginx" "$work/logs/nginx.log" "$nginx_bin" -p "$work/" -c "$work/nginx.conf" -g "daemon off;"
wait_for "http://$HOST:$DEMO_PORT/login" "nginx" "$work/logs/nginx.log" "$work/error.log"

cat <<EOF

The demo is running. Open http://$HOST:$DEMO_PORT/ in a browser (two windows, or a private one, to be two people).

  user    password  groups    in the room "demo-board"
  alice   demo      team      can edit
  bob     demo      team      can edit
  carol   demo      viewers   read-only: sees every change, cannot edit
  dave    demo      guests    refused (Liveblocks closes the connection with 4001)

In the Comment box, type @: lbauthz names who can enter the room (Bob, never Dave), with their avatars.

nginx $HOST:$DEMO_PORT -> demo app $HOST:$APP_PORT, asking lbauthz $HOST:$LBAUTHZ_HTTP_PORT about every request;
the page's WebSocket goes to the Liveblocks dev server at $HOST:$LB_PORT.
Logs: $work/logs/ and $work/error.log (removed on exit). Press Ctrl-C to stop.
EOF

# Whichever part stops first ends the demo.
set +e
wait -n "${pids[@]}"
status=$?
set -e
for i in "${!pids[@]}"; do
  if ! kill -0 "${pids[$i]}" 2>/dev/null; then
    echo "${names[$i]} stopped (exit $status); its last lines:" >&2
    tail -n 20 "${logs[$i]}" >&2 || true
    [ "${names[$i]}" = nginx ] && { tail -n 20 "$work/error.log" >&2 || true; }
  fi
done
exit 1
