package httpdoor

import (
	"errors"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/lbauthz/lbauthz/authz"
)

// bodyReadTimeout bounds reading the direct endpoint's body, so that a
// client trickling bytes cannot hold a connection: the Liveblocks client
// sends about a hundred bytes at once.
const bodyReadTimeout = 5 * time.Second

// direct answers the auth path (and the directory's endpoints) itself, for
// proxies that route it to the sidecar as to any upstream (nginx, Caddy, Traefik, Envoy's HTTP mode,
// Envoy Gateway): they cannot return a 200 body from a check. The answers
// are those of the gRPC door: the token, or the refusal with the same
// status, body and headers.
//
// The request is the one to answer, so every peer is served: the session
// cookie is the credential. Forwarded headers only say, when a trusted proxy
// sends them, the client's address and the request's host, for the rate
// limits and the origin check.
func (h *Handler) direct(w http.ResponseWriter, r *http.Request, e *authz.Engine, st *settings, target string) {
	req := authz.Request{Door: "http_direct", Method: r.Method, Path: target, Cookies: r.Header["Cookie"]}
	credentials(&req, r.Header, e)
	st.describe(&req, r)
	if r.Method == http.MethodPost && e.IsAuthPath(target) {
		body, d := readBody(w, r, st.maxBodyBytes, h.opts.ReadTimeout)
		if d != nil {
			e.CountRefusal(req.Door, d)
			writeDecision(w, r, d) // closes the connection
			stopReading(w)
			return
		}
		// Like the gRPC door, which cannot tell an empty body from none.
		req.Body, req.HasBody = body, len(body) > 0
	}
	// The engine answers its auth path itself: a decision on it never
	// allows (there is no upstream here to let the request through to).
	d := e.Decide(r.Context(), &req)
	writeDecision(w, r, &d)
}

// readBody reads the request body up to the limit, within bodyReadTimeout
// (or readTimeout, the listener's, when shorter). It returns a decision
// when the body cannot be read in time or is too large; the connection is
// then closed, with its read deadline kept, so that nothing more is read
// from it. A body read in full puts the listener's deadline back.
func readBody(w http.ResponseWriter, r *http.Request, limit int64, readTimeout time.Duration) ([]byte, *authz.Decision) {
	tooLarge := func() *authz.Decision {
		d := authz.Deny(authz.BadRequest, http.StatusRequestEntityTooLarge, "payload_too_large",
			"the request body is over "+strconv.FormatInt(limit, 10)+" bytes")
		return &d
	}
	if r.ContentLength > limit {
		return nil, tooLarge()
	}
	start := time.Now()
	timeout := bodyReadTimeout
	if readTimeout > 0 && readTimeout < timeout {
		timeout = readTimeout
	}
	rc := http.NewResponseController(w)
	_ = rc.SetReadDeadline(start.Add(timeout))
	body, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	switch {
	case err != nil && !errors.Is(err, io.EOF):
		d := authz.Deny(authz.BadRequest, http.StatusBadRequest, "bad_request", "the request body could not be read in time")
		return nil, &d
	case int64(len(body)) > limit:
		return nil, tooLarge()
	}
	// The body is read: the deadline now only bounds the answer (net/http
	// cancels the request when a read fails meanwhile), as the listener's
	// own would have.
	var restore time.Time
	if readTimeout > 0 {
		restore = start.Add(readTimeout)
	}
	_ = rc.SetReadDeadline(restore)
	return body, nil
}
