package main

import (
	"context"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/lbauthz/lbauthz/authz"
	"github.com/lbauthz/lbauthz/authz/config"
	"github.com/lbauthz/lbauthz/internal/assemble"
	"github.com/lbauthz/lbauthz/internal/authztest"
)

// A reload can name a secret file in a folder the watch did not know of: a
// change to that file must reload too, as a change to the first one does.
func TestWatch_SecretFileInAFolderAddedByAReloadIsWatched(t *testing.T) {
	t.Setenv("LIVEBLOCKS_SECRET_KEY", "sk_localdev")
	t.Setenv("LIVEBLOCKS_BASE_URL", "http://127.0.0.1:9")
	root := t.TempDir()
	first, second := filepath.Join(root, "first"), filepath.Join(root, "second")
	for _, d := range []string{first, second} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	hmac := func(dir string) string { return filepath.Join(dir, "hmac") }
	writeAtomically(t, hmac(first), authztest.HMACSecret)
	writeAtomically(t, hmac(second), authztest.HMACSecret)
	cfgPath := filepath.Join(root, "config.yaml")
	configNaming := func(hmacFile string) string {
		return "session:\n  cookie: session\n  jwt: { hmac_secret_file: \"" + hmacFile + "\", algorithms: [HS256] }\n"
	}
	writeAtomically(t, cfgPath, configNaming(hmac(first)))

	cfg, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	sec, err := config.ReadSecrets(cfg, os.Getenv)
	if err != nil {
		t.Fatal(err)
	}
	engine, err := assemble.Engine(cfg, sec, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	var reloads atomic.Int64
	r := &reloader{path: cfgPath, holder: authz.NewHolder(engine), log: zap.NewNop(), current: cfg,
		grace: time.Millisecond, onResult: func(ok bool) {
			if ok {
				reloads.Add(1)
			}
		}}
	ctx, cancel := context.WithCancel(context.Background())
	watching := make(chan error, 1)
	go func() { watching <- r.watch(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-watching; err != nil {
			t.Errorf("watch: %v", err)
		}
		r.holder.Engine().Close()
	})
	waitFor(t, "the watch to start", func() bool {
		r.mu.Lock()
		defer r.mu.Unlock()
		return r.reloaded != nil
	})

	// The config now names the secret file of the second folder.
	writeAtomically(t, cfgPath, configNaming(hmac(second)))
	waitFor(t, "the reload of the config file", func() bool { return reloads.Load() == 1 })

	// A rotation of that secret file reloads again.
	writeAtomically(t, hmac(second), authztest.HMACSecret+"-rotated")
	waitFor(t, "the reload of the secret file in the second folder", func() bool { return reloads.Load() == 2 })
}
