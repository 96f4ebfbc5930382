package directory

import (
	"encoding/json"
	"errors"
	"net/http"

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

// Handler answers the resolvers' GET requests for a signed-in user:
//
//	GET {Users}?userIds=a&userIds=b     -> [{"name":…,"avatar":…}, null]
//	GET {Mentions}?roomId=R&text=al     -> [{"kind":"user","id":"alice"}, {"kind":"group","id":"team"}]
//	GET {Groups}?groupIds=…             -> [{"name":…,"avatar":…,"description":…} | null]
//	GET {Rooms}?roomIds=…               -> [{"name":…,"url":…} | null]
//
// The caller resolves the session first and answers 401 itself when there
// is none: ServeFor is only called with a signed-in user.
type Handler struct {
	dir   *Directory
	paths Paths
	log   *zap.Logger
}

// NewHandler returns the handler of dir's endpoints at paths. A nil log
// logs nothing.
func NewHandler(dir *Directory, paths Paths, log *zap.Logger) *Handler {
	if log == nil {
		log = zap.NewNop()
	}
	return &Handler{dir: dir, paths: paths.withDefaults(), log: log}
}

// Serves reports whether path is one of the handler's endpoints.
func (h *Handler) Serves(path string) bool {
	p := h.paths
	return path == p.Users || path == p.Mentions || path == p.Groups || path == p.Rooms
}

// ServeFor answers r, one of the endpoints' requests, for who. It answers
// 404 for any other path, 405 for a method other than GET or HEAD, 400 for
// bad input, 403 for a room who cannot enter, 503 when the source or
// Liveblocks cannot answer; the reason is in a JSON body {"error": …}.
func (h *Handler) ServeFor(w http.ResponseWriter, r *http.Request, who Who) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		writeError(w, http.StatusMethodNotAllowed, "the directory endpoints take GET")
		return
	}
	q := r.URL.Query()
	ctx := r.Context()
	var (
		v   any
		err error
	)
	switch r.URL.Path {
	case h.paths.Users:
		v, err = h.dir.Users(ctx, q["userIds"])
	case h.paths.Groups:
		v, err = h.dir.Groups(ctx, q["groupIds"])
	case h.paths.Rooms:
		v, err = h.dir.RoomsInfo(ctx, who, q["roomIds"])
	case h.paths.Mentions:
		if q.Get("roomId") == "" {
			writeError(w, http.StatusBadRequest, "roomId is required")
			return
		}
		v, err = h.dir.MentionSuggestions(ctx, who, q.Get("roomId"), q.Get("text"))
	default:
		writeError(w, http.StatusNotFound, "no such directory endpoint")
		return
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "private, no-store")
	_ = json.NewEncoder(w).Encode(v)
}

func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	var ie *InputError
	var fe *ForbiddenError
	switch {
	case errors.As(err, &ie):
		writeError(w, http.StatusBadRequest, ie.Reason)
	case errors.As(err, &fe):
		writeError(w, http.StatusForbidden, fe.Reason)
	default:
		// Source and Liveblocks errors say what was being done, never a
		// secret (their packages' contract); the client retries a 503.
		h.log.Warn("directory unavailable", zap.String("path", r.URL.Path), zap.Error(err))
		writeError(w, http.StatusServiceUnavailable, "directory unavailable")
	}
}

func writeError(w http.ResponseWriter, status int, reason string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": reason})
}
