package directory

import (
	"fmt"
	"os"
	"strings"

	"go.uber.org/zap"

	"github.com/lbauthz/lbauthz/liveblocks"
	configv1 "github.com/lbauthz/lbauthz/proto/lbauthz/config/v1"
)

// FromConfig returns the handler of the directory section, whose Close
// closes the source's connections; nil when the section is absent. The
// config is expected to have passed config.Validate.
func FromConfig(cfg *configv1.Directory, lb *liveblocks.Client, log *zap.Logger) (*Handler, error) {
	if cfg == nil {
		return nil, nil
	}
	var src Source
	closeSrc := func() {}
	switch {
	case cfg.GetSql() != nil:
		q := cfg.GetSql()
		pw, err := readPassword("directory.sql.password_file", q.PasswordFile)
		if err != nil {
			return nil, err
		}
		s, err := NewSQLSource(SQLOptions{Driver: q.Driver, DSN: q.Dsn, Password: pw, UsersQuery: q.UsersQuery,
			GroupsQuery: q.GroupsQuery, RoomsQuery: q.RoomsQuery, SearchQuery: q.SearchQuery})
		if err != nil {
			return nil, err
		}
		src, closeSrc = s, s.Close
	case cfg.GetHttp() != nil:
		h := cfg.GetHttp()
		s, err := NewHTTPSource(HTTPOptions{UsersURL: h.UsersUrl, GroupsURL: h.GroupsUrl, RoomsURL: h.RoomsUrl, SearchURL: h.SearchUrl})
		if err != nil {
			return nil, err
		}
		src = s
	case cfg.File != "":
		s, err := LoadStaticSource(cfg.File)
		if err != nil {
			return nil, err
		}
		src = s
	default:
		return nil, fmt.Errorf("directory: no source")
	}
	dir, err := New(Options{Source: src, Liveblocks: lb, TTL: cfg.GetTtl().AsDuration(),
		MaxSuggestions: int(cfg.MaxSuggestions), RoomName: cfg.RoomName, RoomURL: cfg.RoomUrl})
	if err != nil {
		closeSrc()
		return nil, err
	}
	paths := Paths{Users: cfg.UsersPath, Mentions: cfg.MentionsPath, Groups: cfg.GroupsPath, Rooms: cfg.RoomsPath}
	h := NewHandler(dir, paths, log)
	h.closeSrc = closeSrc
	return h, nil
}

// readPassword reads a password file; the error names the field, never the
// content.
func readPassword(field, path string) (string, error) {
	if path == "" {
		return "", nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("%s: %w", field, err)
	}
	return strings.TrimRight(string(b), "\r\n"), nil
}
