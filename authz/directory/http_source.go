package directory

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// HTTPOptions configures an HTTPSource: endpoints of the app, called with
// GET, that answer JSON.
type HTTPOptions struct {
	// UsersURL answers ?userIds=a&userIds=b with an object of the users it
	// knows: {"a": {"name": …, "avatar": …}}. Required.
	UsersURL string
	// GroupsURL answers ?groupIds=… in the same way. Required.
	GroupsURL string
	// RoomsURL, optional, answers ?roomIds=… in the same way ({"name", "url"}).
	RoomsURL string
	// SearchURL answers ?text=al&limit=N (text already lower-case) with the
	// users whose id or name starts with text: [{"id": "alice", "groups":
	// ["team"]}]. Required.
	SearchURL string
	// Header is sent with every request, e.g. an Authorization header the
	// app expects from lbauthz.
	Header http.Header
	// Client sends the requests; nil means one with a 5s timeout.
	Client *http.Client
}

// HTTPSource is a directory served by the app.
type HTTPSource struct {
	opts HTTPOptions
}

var _ Source = (*HTTPSource)(nil)

// maxHTTPAnswer bounds an answer of the app.
const maxHTTPAnswer = 4 << 20

// NewHTTPSource returns a source of the app's endpoints.
func NewHTTPSource(opts HTTPOptions) (*HTTPSource, error) {
	for name, u := range map[string]string{"users_url": opts.UsersURL, "groups_url": opts.GroupsURL, "search_url": opts.SearchURL, "rooms_url": opts.RoomsURL} {
		if u == "" && name == "rooms_url" {
			continue
		}
		p, err := url.Parse(u)
		if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
			return nil, fmt.Errorf("directory http: %s: not an http(s) URL", name)
		}
	}
	if opts.Client == nil {
		opts.Client = &http.Client{Timeout: 5 * time.Second}
	}
	return &HTTPSource{opts: opts}, nil
}

// Users asks UsersURL.
func (s *HTTPSource) Users(ctx context.Context, ids []string) (map[string]Info, error) {
	return s.byID(ctx, s.opts.UsersURL, "userIds", ids)
}

// Groups asks GroupsURL.
func (s *HTTPSource) Groups(ctx context.Context, ids []string) (map[string]Info, error) {
	return s.byID(ctx, s.opts.GroupsURL, "groupIds", ids)
}

// Rooms asks RoomsURL; nil, nil without one.
func (s *HTTPSource) Rooms(ctx context.Context, ids []string) (map[string]Info, error) {
	if s.opts.RoomsURL == "" {
		return nil, nil
	}
	return s.byID(ctx, s.opts.RoomsURL, "roomIds", ids)
}

// SearchUsers asks SearchURL.
func (s *HTTPSource) SearchUsers(ctx context.Context, prefix string, limit int) ([]Candidate, error) {
	var found []struct {
		ID     string   `json:"id"`
		Groups []string `json:"groups"`
	}
	q := url.Values{"text": {prefix}, "limit": {strconv.Itoa(limit)}}
	if err := s.get(ctx, s.opts.SearchURL, q, &found); err != nil {
		return nil, err
	}
	out := make([]Candidate, 0, len(found))
	for _, f := range found {
		if f.ID != "" && len(out) < limit {
			out = append(out, Candidate{ID: f.ID, Groups: f.Groups})
		}
	}
	return out, nil
}

func (s *HTTPSource) byID(ctx context.Context, u, param string, ids []string) (map[string]Info, error) {
	var m map[string]Info
	if err := s.get(ctx, u, url.Values{param: ids}, &m); err != nil {
		return nil, err
	}
	return m, nil
}

// get calls u with q added to its query and decodes the JSON answer. The
// error names the endpoint's host and path, never its query.
func (s *HTTPSource) get(ctx context.Context, u string, q url.Values, out any) error {
	p, _ := url.Parse(u) // checked by NewHTTPSource
	where := p.Host + p.Path
	merged := p.Query()
	for k, v := range q {
		merged[k] = v
	}
	p.RawQuery = merged.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.String(), nil)
	if err != nil {
		return fmt.Errorf("directory http: %s: %w", where, err)
	}
	for k, v := range s.opts.Header {
		req.Header[k] = v
	}
	req.Header.Set("Accept", "application/json")
	resp, err := s.opts.Client.Do(req)
	if err != nil {
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err
		}
		return fmt.Errorf("directory http: %s: %w", where, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("directory http: %s: status %d", where, resp.StatusCode)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxHTTPAnswer+1))
	if err != nil {
		return fmt.Errorf("directory http: %s: %w", where, err)
	}
	if len(b) > maxHTTPAnswer {
		return fmt.Errorf("directory http: %s: answer over %d bytes", where, maxHTTPAnswer)
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("directory http: %s: the answer is not the expected JSON: %w", where, err)
	}
	return nil
}
