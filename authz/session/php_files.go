package session

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/lbauthz/lbauthz/authz/session/framework"
	"github.com/lbauthz/lbauthz/authz/session/framework/laravel"
	"github.com/lbauthz/lbauthz/authz/session/framework/php"
)

// PHPFilesOptions configures a PHPFilesStore.
type PHPFilesOptions struct {
	// Dir is PHP's session.save_path.
	Dir string
	// Handler is session.serialize_handler: "php" or "php_serialize".
	Handler string
	// MaxIdle is session.gc_maxlifetime: a session not written for longer
	// is refused (1440s when zero).
	MaxIdle time.Duration
	// Laravel reads Laravel's file driver instead: the file named by the
	// id alone (40 letters and digits), holding serialize() of the
	// session; Handler is not used.
	Laravel bool
	// LaravelKeys are the app's keys (APP_KEY, then APP_PREVIOUS_KEYS) that
	// open an encrypted Laravel session (SESSION_ENCRYPT).
	LaravelKeys [][]byte
}

// PHPFilesStore reads PHP's native sessions from the files handler's
// folder: the file "sess_<id>" holds the session data, and its last write
// time says when the session ends.
type PHPFilesStore struct {
	opts   PHPFilesOptions
	decode func([]byte) (map[string]any, error)
	now    func() time.Time
}

// NewPHPFilesStore returns a store reading sessions from opts.Dir.
func NewPHPFilesStore(opts PHPFilesOptions) (*PHPFilesStore, error) {
	if opts.Dir == "" {
		return nil, errors.New("php files: no folder")
	}
	if opts.MaxIdle <= 0 {
		opts.MaxIdle = 1440 * time.Second
	}
	dec, err := PHPSessionData(opts.Handler)
	if err != nil {
		return nil, err
	}
	if opts.Laravel {
		if dec, err = LaravelSessionData(opts.LaravelKeys); err != nil {
			return nil, err
		}
	}
	return &PHPFilesStore{opts: opts, decode: dec, now: time.Now}, nil
}

// Lookup reads the session file of id. The id is checked first: only
// letters, digits, "," and "-" ever name a file.
func (s *PHPFilesStore) Lookup(_ context.Context, id string) (Data, error) {
	name := "sess_" + id
	if s.opts.Laravel {
		if !laravel.ValidSessionID(id) {
			return Data{}, Invalid("laravel session: malformed (not a Laravel session id)")
		}
		name = id
	} else if !php.ValidSessionID(id) {
		return Data{}, Invalid("php session: malformed (not a PHP session id)")
	}
	f, err := os.Open(filepath.Join(s.opts.Dir, name))
	if errors.Is(err, fs.ErrNotExist) {
		return Data{}, Invalid("unknown session")
	}
	if err != nil {
		return Data{}, &UnavailableError{Err: errors.New("php files: cannot open the session file")}
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() {
		return Data{}, Invalid("unknown session")
	}
	expires := st.ModTime().Add(s.opts.MaxIdle)
	if !s.now().Before(expires) {
		return Data{}, &InvalidError{Reason: "session file: " + framework.StepExpired, Step: framework.StepExpired}
	}
	b, err := io.ReadAll(io.LimitReader(f, framework.MaxInput+1))
	if err != nil {
		return Data{}, &UnavailableError{Err: errors.New("php files: cannot read the session file")}
	}
	doc, err := s.decode(b)
	if err != nil {
		return Data{}, err
	}
	return Data{Doc: doc, Expires: expires}, nil
}
