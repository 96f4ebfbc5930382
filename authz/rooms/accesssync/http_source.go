package accesssync

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"
)

// HTTPSource asks an endpoint of the app for a room's accesses:
// GET URL?roomId=R answers 200 with
// {"defaultAccesses": [...], "groupsAccesses": {...}, "usersAccesses": {...}}
// (the shape of a Liveblocks room), or 404 for a room the app does not know.
type HTTPSource struct {
	url    *url.URL
	header http.Header
	client *http.Client
}

var _ Source = (*HTTPSource)(nil)

// NewHTTPSource returns a source of the endpoint rawURL, sending header with
// each request; a nil client means one with a 5s timeout.
func NewHTTPSource(rawURL string, header http.Header, client *http.Client) (*HTTPSource, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, errors.New("access source http: url is not an http(s) URL")
	}
	if client == nil {
		client = &http.Client{Timeout: 5 * time.Second}
	}
	return &HTTPSource{url: u, header: header, client: client}, nil
}

// Describe names the endpoint: its host and path (not its query).
func (s *HTTPSource) Describe() string { return "http " + s.url.Host + s.url.Path }

// Accesses asks the endpoint for roomID.
func (s *HTTPSource) Accesses(ctx context.Context, roomID string) (Accesses, bool, error) {
	u := *s.url
	q := u.Query()
	q.Set("roomId", roomID)
	u.RawQuery = q.Encode()
	where := s.url.Host + s.url.Path
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return Accesses{}, false, fmt.Errorf("access source http: %s: %w", where, err)
	}
	for k, v := range s.header {
		req.Header[k] = v
	}
	resp, err := s.client.Do(req)
	if err != nil {
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err
		}
		return Accesses{}, false, fmt.Errorf("access source http: %s: %w", where, err)
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
	case http.StatusNotFound:
		return Accesses{}, false, nil
	default:
		return Accesses{}, false, fmt.Errorf("access source http: %s: status %d", where, resp.StatusCode)
	}
	var body struct {
		Default []string            `json:"defaultAccesses"`
		Groups  map[string][]string `json:"groupsAccesses"`
		Users   map[string][]string `json:"usersAccesses"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&body); err != nil {
		return Accesses{}, false, fmt.Errorf("access source http: %s: the answer is not a room's accesses: %w", where, err)
	}
	b := newBuilder()
	if body.Default == nil {
		return Accesses{}, false, fmt.Errorf("access source http: %s: the answer has no defaultAccesses (use [] for no default access, 404 for a room the app does not know)", where)
	}
	if err := b.add("default", "", body.Default); err != nil {
		return Accesses{}, false, fmt.Errorf("access source http: %w", err)
	}
	for id, ps := range body.Groups {
		if err := b.add("group", id, ps); err != nil {
			return Accesses{}, false, fmt.Errorf("access source http: %w", err)
		}
	}
	for id, ps := range body.Users {
		if err := b.add("user", id, ps); err != nil {
			return Accesses{}, false, fmt.Errorf("access source http: %w", err)
		}
	}
	a, known, err := b.result()
	if err != nil {
		return Accesses{}, false, fmt.Errorf("access source http: room %q: %w", roomID, err)
	}
	return a, known, nil
}
