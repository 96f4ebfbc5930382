package authz

import (
	"errors"
	"io"
	"net/http"
	"strconv"
	"time"
)

// bodyReadTimeout bounds reading the direct endpoint's body, so that a
// client trickling bytes cannot hold a connection: the Liveblocks client
// sends about a hundred bytes at once.
const bodyReadTimeout = 5 * time.Second

// direct answers the auth path itself, for proxies that route it to the
// sidecar as to any upstream (nginx, Caddy, Traefik, Envoy's HTTP mode,
// Envoy Gateway): they cannot return a 200 body from a check. The answers
// are those of the gRPC door: the token, or the refusal with the same
// status, body and headers.
//
// The request is the one to answer, so every peer is served: the session
// cookie is the credential. Forwarded headers only say, when a trusted proxy
// sends them, the client's address and the request's host, for the rate
// limits and the origin check.
func (h *httpDoors) direct(w http.ResponseWriter, r *http.Request, e *Engine, target string) {
	req := Request{Door: "http_direct", Method: r.Method, Path: target, Cookies: r.Header["Cookie"]}
	h.describe(&req, r, e)
	if r.Method == http.MethodPost {
		body, d := h.readBody(w, r, h.maxBodyBytes(e))
		if d != nil {
			e.countRefusal(req.Door, d)
			writeDecision(w, d)
			return
		}
		// Like the gRPC door, which cannot tell an empty body from none.
		req.Body, req.HasBody = body, len(body) > 0
	}
	d := e.Decide(r.Context(), &req)
	if d.Allow {
		// The engine answers the auth path itself; there is no upstream
		// here to let the request through to.
		d = deny(Unavailable, http.StatusInternalServerError, "internal",
			"the auth path was let through instead of answered; nothing serves it behind the sidecar")
	}
	writeDecision(w, &d)
}

// readBody reads the request body up to the limit. It returns a decision
// when the body cannot be read or is too large.
func (h *httpDoors) readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, *Decision) {
	tooLarge := func() *Decision {
		d := deny(BadRequest, http.StatusRequestEntityTooLarge, "payload_too_large",
			"the request body is over "+strconv.FormatInt(limit, 10)+" bytes")
		// The rest of the body is not read: close the connection rather
		// than let net/http drain it.
		w.Header().Set("Connection", "close")
		return &d
	}
	if r.ContentLength > limit {
		return nil, tooLarge()
	}
	_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(bodyReadTimeout))
	body, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	_ = http.NewResponseController(w).SetReadDeadline(time.Time{})
	switch {
	case err != nil && !errors.Is(err, io.EOF):
		d := deny(BadRequest, http.StatusBadRequest, "bad_request", "the request body could not be read")
		return nil, &d
	case int64(len(body)) > limit:
		return nil, tooLarge()
	}
	return body, nil
}
