package accesssync

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/lbauthz/lbauthz/authz/rooms"
	"github.com/lbauthz/lbauthz/liveblocks"
	configv1 "github.com/lbauthz/lbauthz/proto/lbauthz/config/v1"
)

// FromConfig returns the syncer of the provisioning rules' access sources
// (rooms.provision[].access_source); its Close closes their connections.
// It returns a nil Syncer when no rule has a source. A room follows the
// source of the first rule whose pattern matches it, as provisioning does;
// a room whose first matching rule has no source is left alone. timeout
// bounds one sync (0: the Syncer's default).
func FromConfig(rules []*configv1.ProvisionRule, lb *liveblocks.Client, timeout time.Duration) (*Syncer, error) {
	type ruleSource struct {
		index   int
		pattern *rooms.Pattern
		src     Source
		maxAge  time.Duration
	}
	var compiled []ruleSource
	var closers []func()
	closeAll := func() {
		for _, c := range closers {
			c()
		}
	}
	hasSource := false
	for i, r := range rules {
		field := "rooms.provision[" + strconv.Itoa(i) + "]"
		p, err := rooms.CompilePattern(r.GetRoom())
		if err != nil {
			closeAll()
			return nil, fmt.Errorf("%s.room: %w", field, err)
		}
		rs := ruleSource{index: i, pattern: p}
		if a := r.GetAccessSource(); a != nil {
			hasSource = true
			rs.maxAge = a.GetMaxAge().AsDuration()
			switch {
			case a.GetSql() != nil:
				q := a.GetSql()
				pw, err := readPassword(field+".access_source.sql.password_file", q.PasswordFile)
				if err != nil {
					closeAll()
					return nil, err
				}
				s, err := NewSQLSource(SQLOptions{Driver: q.Driver, DSN: q.Dsn, Password: pw, Query: q.Query, Args: capturesOf(p)})
				if err != nil {
					closeAll()
					return nil, fmt.Errorf("%s.access_source: %w", field, err)
				}
				closers = append(closers, s.Close)
				rs.src = s
			case a.GetHttp() != nil:
				s, err := NewHTTPSource(a.GetHttp().Url, nil, nil)
				if err != nil {
					closeAll()
					return nil, fmt.Errorf("%s.access_source: %w", field, err)
				}
				rs.src = s
			}
		}
		compiled = append(compiled, rs)
	}
	if !hasSource {
		return nil, nil
	}
	first := func(roomID string) *ruleSource {
		for i := range compiled {
			if _, ok := compiled[i].pattern.Match(roomID); ok {
				return &compiled[i]
			}
		}
		return nil
	}
	s, err := New(Options{
		Liveblocks: lb,
		SourceFor: func(roomID string) Source {
			if r := first(roomID); r != nil && r.src != nil {
				return r.src
			}
			return nil
		},
		MaxAgeFor: func(roomID string) time.Duration {
			if r := first(roomID); r != nil {
				return r.maxAge
			}
			return 0
		},
		InfoFor: func(roomID string) (SourceInfo, bool) {
			r := first(roomID)
			if r == nil || r.src == nil {
				return SourceInfo{}, false
			}
			maxAge := r.maxAge
			if maxAge <= 0 {
				maxAge = DefaultMaxAge
			}
			return SourceInfo{Rule: r.index, Room: r.pattern.String(), Source: r.src.Describe(), MaxAge: maxAge}, true
		},
		Timeout: timeout,
	})
	if err != nil {
		closeAll()
		return nil, err
	}
	s.close = closeAll
	return s, nil
}

// capturesOf gives the values of p's captures in a room id, in the order
// they appear in the pattern.
func capturesOf(p *rooms.Pattern) func(string) []any {
	return func(roomID string) []any {
		caps, _ := p.Match(roomID)
		out := make([]any, 0, len(p.Names()))
		for _, name := range p.Names() {
			v, _ := caps.Get(name)
			out = append(out, v)
		}
		return out
	}
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
