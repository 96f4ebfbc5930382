package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/lbauthz/lbauthz/authz/config"
	"github.com/lbauthz/lbauthz/authz/shared"
)

// cmdSessions runs "lbauthz sessions revoke": it publishes a revocation on
// the shared Redis, which every replica refuses within a second.
func cmdSessions(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "revoke" {
		fmt.Fprintln(stderr, "usage: lbauthz sessions revoke --config FILE (--user ID | --session-cookie-hash H) [--for DURATION]")
		return exitUsage
	}
	fs := flag.NewFlagSet("sessions revoke", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", "", "config file (YAML) with a shared.redis section")
	user := fs.String("user", "", "the Liveblocks user id to refuse")
	hash := fs.String("session-cookie-hash", "", "the session to refuse, by the hash its audit records show")
	dur := fs.Duration("for", 0, "how long to refuse it (default shared.revocation_ttl)")
	if err := fs.Parse(args[1:]); err != nil {
		return exitUsage
	}
	if *path == "" || (*user == "") == (*hash == "") || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "lbauthz sessions revoke: give --config and exactly one of --user or --session-cookie-hash")
		return exitUsage
	}
	if *hash != "" && !shared.ValidSessionHash(*hash) {
		fmt.Fprintln(stderr, "lbauthz sessions revoke: --session-cookie-hash takes 32 lowercase hex digits (the session field of an audit record), not a cookie")
		return exitUsage
	}
	if *dur < 0 {
		fmt.Fprintln(stderr, "lbauthz sessions revoke: --for must be positive")
		return exitUsage
	}
	cfg, err := config.Load(*path)
	if err != nil {
		fmt.Fprintf(stderr, "lbauthz sessions revoke: %v\n", err)
		return exitError
	}
	password, err := config.ReadSharedRedisPassword(cfg)
	if err != nil {
		fmt.Fprintf(stderr, "lbauthz sessions revoke: %v\n", err)
		return exitError
	}
	opts, ok := sharedOptions(cfg, password)
	if !ok {
		fmt.Fprintln(stderr, "lbauthz sessions revoke: the config has no shared.redis: revocations need the shared Redis")
		return exitError
	}
	opts.Timeout = max(opts.Timeout, 5*time.Second) // a command, not a request: wait for Redis
	r, err := shared.Open(opts, nil, nil)
	if err != nil {
		fmt.Fprintf(stderr, "lbauthz sessions revoke: %v\n", err)
		return exitError
	}
	defer r.Close()
	d := *dur
	if d == 0 {
		d = cfg.Shared.RevocationTtl.AsDuration()
	}
	rev, err := shared.NewRevocation(*user, *hash, d, time.Now())
	if err != nil {
		fmt.Fprintf(stderr, "lbauthz sessions revoke: %v\n", err)
		return exitUsage
	}
	if err := r.Revoke(context.Background(), rev); err != nil {
		fmt.Fprintf(stderr, "lbauthz sessions revoke: not revoked: %v\n", err)
		return exitError
	}
	fmt.Fprintf(stdout, "revoked %s until %s\n", rev, rev.Until.UTC().Format(time.RFC3339))
	return exitOK
}
