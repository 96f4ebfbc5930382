// Package soak holds the soak and fault test of lbauthz (soak_test.go):
// the real binary behind a real nginx and its gRPC door, with steady mixed
// traffic, while the Liveblocks dev server, Redis and PostgreSQL are killed
// and restarted and the config is reloaded, then SIGTERM under load.
//
// `make test` runs a short version (about 40 s); `make soak` runs the long
// one (LBAUTHZ_SOAK=long, a few minutes). It has no code of its own.
package soak
