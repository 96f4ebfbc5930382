// Package demo is the quick start that `make run` starts: a small legacy app
// (app.mjs, with its own login and session cookie and no Liveblocks code),
// nginx in front of it with deploy/nginx/nginx.conf, the demo's sidecar
// (cmd/lbauthz-demo: lbauthz with a built-in config and a public session key)
// and the Liveblocks dev server, all on loopback (run.sh). The app's page
// (web/room.js, bundled by build.mjs) shows who is in a Liveblocks room, live
// cursors and a shared counter.
//
// The package has no Go API. Its test runs run.sh on free ports and drives
// the page in Debian's Chromium with playwright-core (browser-test.mjs).
package demo
