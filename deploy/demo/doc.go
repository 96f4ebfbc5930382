// Package demo is the quick start that `make run` starts: a small legacy app
// (app.mjs, with its own login and session cookie and no Liveblocks code),
// nginx in front of it with deploy/nginx/nginx.conf, the demo's sidecar
// (cmd/lbauthz-demo: lbauthz with a built-in config and a public session key)
// and the Liveblocks dev server, all on loopback (run.sh). The app's page
// (web/room.js, bundled by build.mjs with React and @liveblocks/react-ui)
// shows who is in a Liveblocks room, live cursors, a shared counter and a
// comment Composer whose resolvers (web/resolvers.js) ask lbauthz for names,
// avatars and the "@" suggestions, from the demo sidecar's directory.
//
// The package has no Go API. Its test runs run.sh on free ports and drives
// the page in Debian's Chromium with playwright-core (browser-test.mjs).
package demo
