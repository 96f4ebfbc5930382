#!/usr/bin/env bash
# make run: the Liveblocks dev server and the sidecar on loopback, then a
# token issued for a demo user through the sidecar's auth endpoint.
# Ctrl-C stops what this script started, and nothing else.
set -euo pipefail
cd "$(dirname "$0")/../.."

LB_PORT=${LB_PORT:-1153}
GRPC_ADDR=127.0.0.1:9191
HTTP_ADDR=127.0.0.1:8181

pids=()
cleanup() {
  trap - INT TERM EXIT
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  echo "stopped."
}
trap cleanup INT TERM EXIT

busy() { (exec 3<>"/dev/tcp/${1%:*}/${1##*:}") 2>/dev/null; }
for addr in "127.0.0.1:$LB_PORT" "$GRPC_ADDR" "$HTTP_ADDR"; do
  if busy "$addr"; then echo "$addr is already in use: stop what listens there first." >&2; exit 1; fi
done

wait_for() { # url, what
  for _ in $(seq 1 100); do
    if curl -fsS "$1" >/dev/null 2>&1; then return 0; fi
    sleep 0.1
  done
  echo "$2 did not start (see above)" >&2; exit 1
}

echo "Starting the Liveblocks dev server on http://127.0.0.1:$LB_PORT ..."
bun node_modules/liveblocks/dist/index.js dev --port "$LB_PORT" --host 127.0.0.1 --no-check --no-persist >/tmp/lbauthz-devserver.log 2>&1 &
pids+=($!)
wait_for "http://127.0.0.1:$LB_PORT/health" "the dev server"

echo "Starting lbauthz (gRPC ext_authz on $GRPC_ADDR, HTTP on $HTTP_ADDR) ..."
LIVEBLOCKS_BASE_URL="http://127.0.0.1:$LB_PORT" LIVEBLOCKS_SECRET_KEY=sk_localdev bin/lbauthz serve --demo &
pids+=($!)
wait_for "http://$HTTP_ADDR/readyz" "lbauthz"

session=$(bin/lbauthz demo-session alice team)
echo
echo "A browser of alice (group team) asks for a Liveblocks token:"
echo "  curl -X POST http://$HTTP_ADDR/api/liveblocks-auth -H 'content-type: application/json' -H 'cookie: session=<alice>' -d '{\"room\":\"demo\"}'"
answer=$(curl -sS -X POST "http://$HTTP_ADDR/api/liveblocks-auth" -H 'content-type: application/json' \
  -H "cookie: session=$session" -d '{"room":"demo"}' -w '\n%{http_code}')
status=${answer##*$'\n'}
body=${answer%$'\n'*}
echo "  -> HTTP $status"
node -e '
  const b = JSON.parse(process.argv[1]);
  if (!b.token) { console.log("  " + JSON.stringify(b)); process.exit(0); }
  const p = JSON.parse(Buffer.from(b.token.split(".")[1], "base64url"));
  console.log("  token payload:", JSON.stringify({k: p.k, uid: p.uid, gids: p.gids, ui: p.ui}));
' "$body"
echo
echo "Without a session the same request is refused:"
curl -sS -X POST "http://$HTTP_ADDR/api/liveblocks-auth" -d '{}' -w '  -> HTTP %{http_code}\n' | sed 's/^/  /'
echo
echo "Sessions for other demo users: bin/lbauthz demo-session USER [GROUP...]"
echo "Envoy talks to $GRPC_ADDR (see deploy/envoy/), nginx to $HTTP_ADDR (see deploy/nginx/)."
echo "Press Ctrl-C to stop."
wait
