package directory

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"go.uber.org/zap"
)

// Default paths of the four endpoints, one per resolver of the client.
const (
	DefaultUsersPath    = "/api/liveblocks-users"
	DefaultMentionsPath = "/api/liveblocks-mentions"
	DefaultGroupsPath   = "/api/liveblocks-groups"
	DefaultRoomsPath    = "/api/liveblocks-rooms"
)

// Paths are where the endpoints are served; an empty field takes its
// default.
type Paths struct {
	Users, Mentions, Groups, Rooms string
}

func (p Paths) withDefaults() Paths {
	if p.Users == "" {
		p.Users = DefaultUsersPath
	}
	if p.Mentions == "" {
		p.Mentions = DefaultMentionsPath
	}
	if p.Groups == "" {
		p.Groups = DefaultGroupsPath
	}
	if p.Rooms == "" {
		p.Rooms = DefaultRoomsPath
	}
	return p
}

// All returns the four paths, defaults applied, in the order users,
// mentions, groups, rooms.
func (p Paths) All() [4]string {
	p = p.withDefaults()
	return [4]string{p.Users, p.Mentions, p.Groups, p.Rooms}
}

// Handler answers the resolvers' GET requests for a signed-in user:
//
//	GET {Users}?userIds=a&userIds=b     -> [{"name":…,"avatar":…}, null]
//	GET {Mentions}?roomId=R&text=al     -> [{"kind":"user","id":"alice"}, {"kind":"group","id":"team"}]
//	GET {Groups}?groupIds=…             -> [{"name":…,"avatar":…,"description":…} | null]
//	GET {Rooms}?roomIds=…               -> [{"name":…,"url":…} | null]
//
// The caller resolves the session first and answers 401 itself when there
// is none: Answer and ServeFor are only called for a signed-in user.
type Handler struct {
	dir      *Directory
	paths    Paths
	log      *zap.Logger
	closeSrc func()
}

// NewHandler returns the handler of dir's endpoints at paths. A nil log
// logs nothing.
func NewHandler(dir *Directory, paths Paths, log *zap.Logger) *Handler {
	if log == nil {
		log = zap.NewNop()
	}
	return &Handler{dir: dir, paths: paths.withDefaults(), log: log, closeSrc: func() {}}
}

// Paths returns the paths the handler serves, defaults applied.
func (h *Handler) Paths() Paths { return h.paths }

// Close closes the connections of the directory's source, when the handler
// was made by FromConfig. Call it once no request uses the handler.
func (h *Handler) Close() { h.closeSrc() }

// Serves reports whether path (without a query string) is one of the
// handler's endpoints. It does not allocate.
func (h *Handler) Serves(path string) bool {
	p := &h.paths
	return path == p.Users || path == p.Mentions || path == p.Groups || path == p.Rooms
}

// Answer is the answer to one request of the endpoints. Its body is JSON:
// the resolver's array, or {"error": reason} when Status is not 200.
type Answer struct {
	Status int
	Body   []byte
	// Allow is the Allow header of a 405 ("" otherwise).
	Allow string
}

// ContentType and CacheControl are the headers of every answer: a user's
// directory is for that user only, and changes.
const (
	ContentType  = "application/json"
	CacheControl = "private, no-store"
)

// Answer answers a request of the endpoints for who: method, and target, the
// raw request target (path and query string, not decoded). It answers 404
// for a path the handler does not serve, 405 for a method other than GET or
// HEAD, 400 for bad input (a malformed query string, too many ids, a text
// too long), 403 for a room who cannot enter, and 503 when the source or
// Liveblocks cannot answer (logged at warn, the body saying only
// "directory unavailable"). A HEAD gets the status of a GET and no body.
func (h *Handler) Answer(ctx context.Context, method, target string, who Who) Answer {
	path, rawQuery, _ := strings.Cut(target, "?")
	if !h.Serves(path) {
		return errorAnswer(http.StatusNotFound, "no such directory endpoint")
	}
	if method != http.MethodGet && method != http.MethodHead {
		a := errorAnswer(http.StatusMethodNotAllowed, "the directory endpoints take GET")
		a.Allow = "GET, HEAD"
		return a
	}
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		return errorAnswer(http.StatusBadRequest, "malformed query string")
	}
	var v any
	switch path {
	case h.paths.Users:
		v, err = h.dir.Users(ctx, q["userIds"])
	case h.paths.Groups:
		v, err = h.dir.Groups(ctx, q["groupIds"])
	case h.paths.Rooms:
		v, err = h.dir.RoomsInfo(ctx, who, q["roomIds"])
	case h.paths.Mentions:
		if q.Get("roomId") == "" {
			return errorAnswer(http.StatusBadRequest, "roomId is required")
		}
		v, err = h.dir.MentionSuggestions(ctx, who, q.Get("roomId"), q.Get("text"))
	}
	if err != nil {
		return h.fail(path, err)
	}
	if method == http.MethodHead {
		return Answer{Status: http.StatusOK}
	}
	b, err := json.Marshal(v)
	if err != nil {
		// An info value the source gave that JSON cannot hold.
		return h.fail(path, err)
	}
	return Answer{Status: http.StatusOK, Body: b}
}

// ServeFor answers r, one of the endpoints' requests, for who, as Answer
// does, for a program that serves the endpoints with net/http itself.
func (h *Handler) ServeFor(w http.ResponseWriter, r *http.Request, who Who) {
	a := h.Answer(r.Context(), r.Method, r.URL.RequestURI(), who)
	w.Header().Set("Content-Type", ContentType)
	w.Header().Set("Cache-Control", CacheControl)
	if a.Allow != "" {
		w.Header().Set("Allow", a.Allow)
	}
	w.WriteHeader(a.Status)
	_, _ = w.Write(a.Body)
}

func (h *Handler) fail(path string, err error) Answer {
	var ie *InputError
	var fe *ForbiddenError
	switch {
	case errors.As(err, &ie):
		return errorAnswer(http.StatusBadRequest, ie.Reason)
	case errors.As(err, &fe):
		return errorAnswer(http.StatusForbidden, fe.Reason)
	}
	// Source and Liveblocks errors say what was being done, never a secret
	// (their packages' contract); the client retries a 503.
	h.log.Warn("directory unavailable", zap.String("path", path), zap.Error(err))
	return errorAnswer(http.StatusServiceUnavailable, "directory unavailable")
}

func errorAnswer(status int, reason string) Answer {
	b, _ := json.Marshal(map[string]string{"error": reason})
	return Answer{Status: status, Body: b}
}
