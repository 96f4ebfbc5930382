// Package admin is the HTTP API of lbauthz's admin listener, through which
// operators publish revocations to every replica. Every request must
// authenticate: with the bearer token, when one is set (compared in
// constant time), and with a client certificate, which the listener's TLS
// checks during the handshake before a request is read.
//
// It is served on a listener of its own, never beside the doors, and holds
// no session state: a revocation goes to the shared Redis, which every
// replica, this one included, follows.
package admin

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/lbauthz/lbauthz/authz/shared"
)

// RevocationsPath is the path revocations are posted to.
const RevocationsPath = "/admin/v1/revocations"

// maxBody bounds a request's body: a revocation is a few dozen bytes.
const maxBody = 4 << 10

// Revoker publishes a revocation to every replica (*shared.Redis).
type Revoker interface {
	Revoke(ctx context.Context, v shared.Revocation) error
}

var _ Revoker = (*shared.Redis)(nil)

// Options configure a Handler.
type Options struct {
	// Revoker publishes revocations; nil when no shared Redis is
	// configured, and revocations are then answered 409.
	Revoker Revoker
	// DefaultTTL is how long a revocation without "for" lasts
	// (shared.revocation_ttl).
	DefaultTTL time.Duration
	// Token is the bearer token every request must carry; empty when the
	// listener's required client certificate is the only authentication.
	Token []byte
	// ClientCertRequired tells that the listener's TLS refuses a handshake
	// without a verified client certificate. Without it, a token stays
	// required whatever SetToken is given.
	ClientCertRequired bool
	Log                *zap.Logger
}

// Handler serves the admin API. It is safe for concurrent use.
type Handler struct {
	opts Options
	log  *zap.Logger
	// token is the SHA-256 of the token; nil when none is required.
	token atomic.Pointer[[sha256.Size]byte]
}

// New returns the handler of opts. It refuses options that would leave the
// API unauthenticated.
func New(opts Options) (*Handler, error) {
	h := &Handler{opts: opts, log: opts.Log}
	if h.log == nil {
		h.log = zap.NewNop()
	}
	if err := h.SetToken(opts.Token); err != nil {
		return nil, err
	}
	return h, nil
}

// SetToken replaces the bearer token (a rotated Secret). An empty token
// removes it, which is refused when no client certificate is required: the
// API would be open.
func (h *Handler) SetToken(token []byte) error {
	if len(token) == 0 {
		if !h.opts.ClientCertRequired {
			return errors.New("the admin listener requires no client certificate: it needs a token")
		}
		h.token.Store(nil)
		return nil
	}
	sum := sha256.Sum256(token)
	h.token.Store(&sum)
	return nil
}

// revocationRequest is the body of a POST to RevocationsPath.
type revocationRequest struct {
	User              string `json:"user"`
	SessionCookieHash string `json:"session_cookie_hash"`
	// For is a Go duration ("1h", "30m"); empty: DefaultTTL.
	For string `json:"for"`
}

// ServeHTTP authenticates the request, then serves RevocationsPath. Every
// answer is JSON: {"revoked", "until"} or {"error"}.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !h.authenticated(r) {
		h.log.Warn("admin request refused: no valid bearer token",
			zap.String("client_addr", r.RemoteAddr), zap.String("path", r.URL.Path))
		w.Header().Set("WWW-Authenticate", `Bearer realm="lbauthz-admin"`)
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "a valid bearer token is required"})
		return
	}
	if r.URL.Path != RevocationsPath {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "no such admin endpoint; revocations are posted to " + RevocationsPath})
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeJSON(w, http.StatusMethodNotAllowed, map[string]string{"error": "use POST"})
		return
	}
	rev, err := h.readRevocation(w, r)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
		return
	}
	if h.opts.Revoker == nil {
		writeJSON(w, http.StatusConflict, map[string]string{"error": "this lbauthz has no shared.redis: revocations need the shared Redis"})
		return
	}
	if err := h.opts.Revoker.Revoke(r.Context(), rev); err != nil {
		h.log.Warn("revocation not published: the shared Redis did not take it", zap.Error(err))
		w.Header().Set("Retry-After", "1")
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": fmt.Sprintf("the shared Redis did not take the revocation (%v); try again", err)})
		return
	}
	until := rev.Until.UTC().Format(time.RFC3339)
	h.log.Info("revocation published", zap.Stringer("revoked", rev), zap.String("until", until),
		zap.String("client_addr", r.RemoteAddr), zap.String("client_cert", clientCertName(r)))
	writeJSON(w, http.StatusOK, map[string]string{"revoked": rev.String(), "until": until})
}

// authenticated reports whether r carries the token (when one is set). The
// token is compared by its SHA-256 in constant time, so neither its content
// nor its length shows in the time taken.
func (h *Handler) authenticated(r *http.Request) bool {
	want := h.token.Load()
	if want == nil {
		return r.TLS != nil && len(r.TLS.VerifiedChains) > 0
	}
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return false
	}
	got := sha256.Sum256([]byte(strings.TrimSpace(token)))
	return subtle.ConstantTimeCompare(got[:], want[:]) == 1
}

// readRevocation decodes the body: one JSON object naming a user or a
// session cookie hash, and optionally for how long.
func (h *Handler) readRevocation(w http.ResponseWriter, r *http.Request) (shared.Revocation, error) {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	dec.DisallowUnknownFields()
	var req revocationRequest
	if err := dec.Decode(&req); err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return shared.Revocation{}, fmt.Errorf("the body is larger than %d bytes", maxBody)
		}
		return shared.Revocation{}, errors.New(`the body must be a JSON object {"user": ID} or {"session_cookie_hash": H}, with an optional "for" duration`)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return shared.Revocation{}, errors.New("the body must hold one JSON object")
	}
	d := h.opts.DefaultTTL
	if req.For != "" {
		var err error
		if d, err = time.ParseDuration(req.For); err != nil {
			return shared.Revocation{}, errors.New(`"for" must be a duration such as "1h" or "30m"`)
		}
	}
	return shared.NewRevocation(req.User, req.SessionCookieHash, d, time.Now())
}

// clientCertName is the first URI or DNS SAN of the verified client
// certificate ("" without one), naming who revoked in the log.
func clientCertName(r *http.Request) string {
	if r.TLS == nil || len(r.TLS.VerifiedChains) == 0 || len(r.TLS.VerifiedChains[0]) == 0 {
		return ""
	}
	c := r.TLS.VerifiedChains[0][0]
	switch {
	case len(c.URIs) > 0:
		return c.URIs[0].String()
	case len(c.DNSNames) > 0:
		return c.DNSNames[0]
	}
	return c.Subject.CommonName
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
