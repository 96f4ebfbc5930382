package directory

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
)

// StaticDirectory is the content of a static directory file (JSON):
//
//	{"users":  {"alice": {"name": "Alice", "avatar": "…", "groups": ["team"]}},
//	 "groups": {"team":  {"name": "Team", "description": "…"}},
//	 "rooms":  {"doc-1": {"name": "Plan", "url": "/docs/1"}}}
//
// A user's "groups" tell which group accesses let the user into a room;
// they are not part of the info answered to the client.
type StaticDirectory struct {
	Users  map[string]Info `json:"users"`
	Groups map[string]Info `json:"groups"`
	Rooms  map[string]Info `json:"rooms"`
}

// StaticSource is a directory read once from a file.
type StaticSource struct {
	dir   StaticDirectory
	order []string // user ids, sorted
}

var _ Source = (*StaticSource)(nil)

// LoadStaticSource reads a directory file.
func LoadStaticSource(path string) (*StaticSource, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("directory file: %w", err)
	}
	var d StaticDirectory
	if err := json.Unmarshal(b, &d); err != nil {
		return nil, fmt.Errorf("directory file %s: %w", path, err)
	}
	return NewStaticSource(d), nil
}

// NewStaticSource returns a source of d, which it keeps.
func NewStaticSource(d StaticDirectory) *StaticSource {
	s := &StaticSource{dir: d}
	for id := range d.Users {
		s.order = append(s.order, id)
	}
	slices.Sort(s.order)
	return s
}

// Users returns the users' info, without their groups.
func (s *StaticSource) Users(_ context.Context, ids []string) (map[string]Info, error) {
	out := make(map[string]Info, len(ids))
	for _, id := range ids {
		if info, ok := s.dir.Users[id]; ok {
			shown := make(Info, len(info))
			for k, v := range info {
				if k != "groups" {
					shown[k] = v
				}
			}
			out[id] = shown
		}
	}
	return out, nil
}

// Groups returns the groups' info.
func (s *StaticSource) Groups(_ context.Context, ids []string) (map[string]Info, error) {
	return pick(s.dir.Groups, ids), nil
}

// Rooms returns the rooms' info; nil, nil when the file has no rooms.
func (s *StaticSource) Rooms(_ context.Context, ids []string) (map[string]Info, error) {
	if s.dir.Rooms == nil {
		return nil, nil
	}
	return pick(s.dir.Rooms, ids), nil
}

// SearchUsers scans the users in id order.
func (s *StaticSource) SearchUsers(_ context.Context, prefix string, limit int) ([]Candidate, error) {
	var out []Candidate
	for _, id := range s.order {
		if len(out) == limit {
			break
		}
		info := s.dir.Users[id]
		if !matches(prefix, id, info) {
			continue
		}
		c := Candidate{ID: id}
		if gs, ok := info["groups"].([]any); ok {
			for _, g := range gs {
				if g, ok := g.(string); ok && strings.TrimSpace(g) != "" {
					c.Groups = append(c.Groups, g)
				}
			}
		}
		out = append(out, c)
	}
	return out, nil
}

func pick(m map[string]Info, ids []string) map[string]Info {
	out := make(map[string]Info, len(ids))
	for _, id := range ids {
		if info, ok := m[id]; ok {
			out[id] = info
		}
	}
	return out
}
