package main

import (
	"context"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/fsnotify/fsnotify"
	"go.uber.org/zap"
	"google.golang.org/protobuf/proto"

	"github.com/lbauthz/lbauthz/authz"
	"github.com/lbauthz/lbauthz/authz/config"
	"github.com/lbauthz/lbauthz/authz/door"
	"github.com/lbauthz/lbauthz/internal/admin"
	"github.com/lbauthz/lbauthz/internal/assemble"
	configv1 "github.com/lbauthz/lbauthz/proto/lbauthz/config/v1"
)

// reloader rebuilds the engine from the config file and swaps it in when the
// file or a secret file it names changes, or on SIGHUP. A config that does
// not load, validate or build is refused: the engine in use keeps serving.
// Requests in flight finish on the engine they started with.
type reloader struct {
	path   string
	holder *authz.Holder
	// doors are the doors in use; a reload changes the settings of those
	// that are door.Reloadable.
	doors []door.Door
	// admin, when not nil, takes the admin token of each config put in use.
	admin *admin.Handler
	// replicas, when not nil, are shared by every engine; each config
	// gets its shared budgets.
	replicas *replicas
	log      *zap.Logger
	current  *configv1.Config
	// build are the engines' metrics and tracing.
	build []assemble.Option
	// onResult is told of every attempt (for metrics); it may be nil.
	onResult func(ok bool)
	// grace is how long an engine swapped out keeps its resources, for the
	// requests still running on it.
	grace time.Duration

	mu sync.Mutex
	// reloaded, when watch runs, is told of every config put in use, so
	// that it watches the secret files of the new config too.
	reloaded chan struct{}
	// watching, if set, is closed by watch once the folders are watched
	// (or the watch failed), so that serve reports ready only then: a file
	// written right after must not be missed.
	watching chan struct{}
}

// reload loads the config again and swaps the engine in. It returns whether
// the new config is in use.
func (r *reloader) reload(reason string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	cfg, err := config.Load(r.path)
	var sec *config.Secrets
	if err == nil {
		sec, err = config.ReadSecrets(cfg, os.Getenv)
	}
	var engine *authz.Engine
	var applyDoors func()
	if err == nil {
		applyDoors, err = assemble.PrepareDoors(r.doors, cfg)
	}
	if err == nil {
		build := r.build
		if r.replicas != nil {
			build = append(slices.Clip(build), assemble.WithReplicas(r.replicas.forConfig(cfg)))
		}
		engine, err = assemble.Engine(cfg, sec, r.log, build...)
	}
	if err != nil {
		r.log.Error("config reload refused; the previous config keeps serving", zap.String("reason", reason), zap.Error(err))
		r.result(false)
		return false
	}
	if !sameListen(r.current.Listen, cfg.Listen) {
		r.log.Warn("listen settings changed: they take effect at the next restart")
	}
	if !sameReplicas(r.current, cfg) {
		// The shared Redis, its subscription and the audit file are the
		// process's; the budgets of auth_limits are applied at once.
		r.log.Warn("shared or audit settings changed: they take effect at the next restart; the ones in use are kept")
	}
	old := r.holder.Swap(engine)
	applyDoors()
	if r.admin != nil {
		if err := r.admin.SetToken(sec.AdminToken); err != nil {
			r.log.Warn("the admin token is kept until the next restart", zap.Error(err))
		}
	}
	r.current = cfg
	if r.reloaded != nil {
		select {
		case r.reloaded <- struct{}{}:
		default: // watch has yet to take the previous one: it reads r.current then
		}
	}
	r.log.Info("config reloaded", zap.String("reason", reason))
	logWarnings(r.log, cfg)
	r.result(true)
	// Requests that started on the old engine may still be running: release
	// its resources only once they have had time to finish.
	time.AfterFunc(r.grace, func() { old.Close() })
	return true
}

func (r *reloader) result(ok bool) {
	if r.onResult != nil {
		r.onResult(ok)
	}
}

// sameListen reports whether two configs' listeners are the same: a change
// of address, TLS settings, reflection or timeouts takes a restart (the
// files of the TLS settings are read again as they change, and the admin
// token on every reload).
func sameListen(a, b *configv1.Listen) bool {
	return a.GetGrpc() == b.GetGrpc() && a.GetHttp() == b.GetHttp() && a.GetAdmin() == b.GetAdmin() &&
		a.GetGrpcReflection() == b.GetGrpcReflection() && proto.Equal(a.GetHttpTimeouts(), b.GetHttpTimeouts()) &&
		proto.Equal(a.GetGrpcTls(), b.GetGrpcTls()) && proto.Equal(a.GetHttpTls(), b.GetHttpTls()) &&
		proto.Equal(a.GetAdminTls(), b.GetAdminTls())
}

// onSIGHUP reloads on every SIGHUP until ctx ends. It catches the signal
// before it returns: a SIGHUP sent once serve is ready reloads, and never
// takes the default action (ending the process).
func (r *reloader) onSIGHUP(ctx context.Context) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	go func() {
		defer signal.Stop(hup)
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				r.reload("SIGHUP")
			}
		}
	}()
}

// watch reloads on changes to the config file and the secret files it names,
// until ctx ends. It watches their folders, not the files: editors and
// Kubernetes replace files (a ConfigMap or Secret volume swaps a symlink),
// which a watch on the file itself would lose. Bursts of events are taken
// as one change.
func (r *reloader) watch(ctx context.Context) error {
	started := func() {
		if r.watching != nil {
			close(r.watching)
		}
	}
	w, err := fsnotify.NewWatcher()
	if err != nil {
		started()
		return err
	}
	defer w.Close()
	ws := &watchSet{w: w, log: r.log, dirs: map[string]bool{},
		// Kubernetes volumes change by swapping the "..data" symlink.
		names: map[string]bool{"..data": true}}
	r.mu.Lock()
	r.reloaded = make(chan struct{}, 1)
	ws.add(watchedFiles(r.path, r.current))
	r.mu.Unlock()
	started()
	const settle = 200 * time.Millisecond
	var timer *time.Timer
	fire := make(chan struct{}, 1)
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-w.Events:
			if !ok {
				return nil
			}
			if ev.Op == fsnotify.Chmod || !ws.names[filepath.Base(ev.Name)] {
				continue
			}
			if timer == nil {
				timer = time.AfterFunc(settle, func() {
					select {
					case fire <- struct{}{}:
					default:
					}
				})
			} else {
				timer.Reset(settle)
			}
		case <-fire:
			r.reload("file changed")
		case <-r.reloaded:
			// A reload (by this watch or SIGHUP) may name secret files in
			// folders not watched yet.
			r.mu.Lock()
			files := watchedFiles(r.path, r.current)
			r.mu.Unlock()
			ws.add(files)
		case err, ok := <-w.Errors:
			if !ok {
				return nil
			}
			r.log.Warn("config watch error", zap.Error(err))
		}
	}
}

// watchSet is what watch watches: folders, and the names in them that
// matter.
type watchSet struct {
	w     *fsnotify.Watcher
	log   *zap.Logger
	dirs  map[string]bool
	names map[string]bool
}

// add watches the folders of files (once each) for changes to their names.
// A folder that cannot be watched is logged: SIGHUP still reloads.
func (s *watchSet) add(files []string) {
	for _, f := range files {
		s.names[filepath.Base(f)] = true
		d := filepath.Dir(f)
		if s.dirs[d] {
			continue
		}
		if err := s.w.Add(d); err != nil {
			s.log.Warn("cannot watch a config folder; reload with SIGHUP", zap.String("dir", d), zap.Error(err))
			continue
		}
		s.dirs[d] = true
	}
}

// watchedFiles are the config file and the secret files it names.
func watchedFiles(path string, cfg *configv1.Config) []string {
	return append([]string{path}, config.SecretFiles(cfg)...)
}
