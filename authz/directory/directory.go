package directory

import (
	"context"
	"errors"
	"time"

	"github.com/maypok86/otter/v2"

	"github.com/lbauthz/lbauthz/liveblocks"
)

// Info is what the client shows of a user, a group or a room: "name",
// "avatar" and any further fields for users (the userInfo shape); "name",
// "avatar" and "description" for groups; "name" and "url" for rooms.
type Info map[string]any

// Candidate is a user the source found for a mention prefix, with the
// groups the user belongs to (to tell whether the user can enter a room
// through a group's access).
type Candidate struct {
	ID     string
	Groups []string
}

// Source is where the directory's data lives. Lookups by id return only the
// ids the source knows; an unknown id is absent from the map, not an error.
type Source interface {
	// Users returns the info of the users ids.
	Users(ctx context.Context, ids []string) (map[string]Info, error)
	// Groups returns the info of the groups ids.
	Groups(ctx context.Context, ids []string) (map[string]Info, error)
	// Rooms returns the info (name, url) of the rooms ids; nil, nil when
	// the source has no rooms, and the directory's templates apply.
	Rooms(ctx context.Context, ids []string) (map[string]Info, error)
	// SearchUsers returns up to limit users whose id or name starts with
	// prefix, compared case-insensitively (prefix is already lower-case).
	SearchUsers(ctx context.Context, prefix string, limit int) ([]Candidate, error)
}

// Input bounds of one request. A request over them gets an *InputError.
const (
	// MaxIDs is the most ids one lookup may ask for.
	MaxIDs = 500
	// MaxIDLength is the longest id asked for (Liveblocks' own limit).
	MaxIDLength = 128
	// MaxPrefixLength is the longest mention text searched for, in bytes:
	// no name is longer, and a long pattern would only cost the database.
	MaxPrefixLength = 128
)

// InputError is a request the directory refuses to answer: too many ids, an
// id or a prefix too long, no room. Its Reason is short and holds no value.
type InputError struct{ Reason string }

func (e *InputError) Error() string { return "directory: " + e.Reason }

// ForbiddenError is a request for a room the caller cannot enter.
type ForbiddenError struct{ Reason string }

func (e *ForbiddenError) Error() string { return "directory: " + e.Reason }

// Options configures a Directory.
type Options struct {
	// Source holds the users, groups and, optionally, rooms. Required.
	Source Source
	// Liveblocks reads the rooms' accesses (GET /v2/rooms/{id}) for mention
	// suggestions and room checks. Required.
	Liveblocks *liveblocks.Client
	// TTL is how long answers of the source and rooms' accesses are kept.
	// Default 1 minute.
	TTL time.Duration
	// MaxEntries bounds each cache. Default 10000.
	MaxEntries int
	// MaxSuggestions caps the mention suggestions of one answer. Default 10.
	MaxSuggestions int
	// RoomName and RoomURL make a room's info when the source has no rooms:
	// "{room}" is replaced by the room id (escaped for a URL in RoomURL).
	// Empty RoomName gives the room id as its name; empty RoomURL gives no
	// url.
	RoomName, RoomURL string
	// Timeout bounds one call to the source or Liveblocks. Default 2s.
	Timeout time.Duration
}

// Directory answers the resolvers' questions. It is safe for concurrent
// use.
type Directory struct {
	opts   Options
	users  *otter.Cache[string, entry]
	groups *otter.Cache[string, entry]
	rooms  *otter.Cache[string, entry]
	access *otter.Cache[string, *liveblocks.Room] // nil *Room: no such room
}

// entry is a cached lookup: the info, or nil for an id the source does not
// know.
type entry struct{ info Info }

// New returns a directory of opts.Source.
func New(opts Options) (*Directory, error) {
	if opts.Source == nil {
		return nil, errors.New("directory: no source")
	}
	if opts.Liveblocks == nil {
		return nil, errors.New("directory: no Liveblocks client")
	}
	if opts.TTL <= 0 {
		opts.TTL = time.Minute
	}
	if opts.MaxEntries <= 0 {
		opts.MaxEntries = 10_000
	}
	if opts.MaxSuggestions <= 0 {
		opts.MaxSuggestions = 10
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 2 * time.Second
	}
	return &Directory{
		opts:   opts,
		users:  newCache[entry](opts),
		groups: newCache[entry](opts),
		rooms:  newCache[entry](opts),
		access: newCache[*liveblocks.Room](opts),
	}, nil
}

func newCache[V any](opts Options) *otter.Cache[string, V] {
	return otter.Must(&otter.Options[string, V]{
		MaximumSize:      opts.MaxEntries,
		ExpiryCalculator: otter.ExpiryWriting[string, V](opts.TTL),
	})
}

// checkIDs bounds a lookup.
func checkIDs(kind string, ids []string) error {
	if len(ids) > MaxIDs {
		return &InputError{Reason: "too many " + kind + " ids: at most 500 per request"}
	}
	for _, id := range ids {
		if id == "" || len(id) > 4*MaxIDLength {
			return &InputError{Reason: "a " + kind + " id is empty or longer than 128 characters"}
		}
	}
	return nil
}

// Users returns the info of each user of ids, in the same order, nil for a
// user the source does not know.
func (d *Directory) Users(ctx context.Context, ids []string) ([]Info, error) {
	if err := checkIDs("user", ids); err != nil {
		return nil, err
	}
	return d.lookup(ctx, d.users, ids, d.opts.Source.Users)
}

// Groups returns the info of each group of ids, in the same order, nil for
// a group the source does not know.
func (d *Directory) Groups(ctx context.Context, ids []string) ([]Info, error) {
	if err := checkIDs("group", ids); err != nil {
		return nil, err
	}
	return d.lookup(ctx, d.groups, ids, d.opts.Source.Groups)
}

// lookup answers ids from the cache, asking fetch for the rest in one call.
func (d *Directory) lookup(ctx context.Context, cache *otter.Cache[string, entry], ids []string,
	fetch func(context.Context, []string) (map[string]Info, error)) ([]Info, error) {
	out := make([]Info, len(ids))
	var missing []string
	seen := map[string]bool{}
	for i, id := range ids {
		if e, ok := cache.GetIfPresent(id); ok {
			out[i] = e.info
		} else if !seen[id] {
			seen[id] = true
			missing = append(missing, id)
		}
	}
	if len(missing) == 0 {
		return out, nil
	}
	ctx, cancel := context.WithTimeout(ctx, d.opts.Timeout)
	defer cancel()
	found, err := fetch(ctx, missing)
	if err != nil {
		return nil, err
	}
	for _, id := range missing {
		cache.Set(id, entry{info: found[id]})
	}
	for i, id := range ids {
		if out[i] == nil {
			out[i] = found[id]
		}
	}
	return out, nil
}
