package liveblocks

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
)

// Response bodies are read up to these sizes; anything larger is treated as
// a failure rather than read into memory.
const (
	maxResponseBytes     = 1 << 20 // one room, a token, an error
	maxListResponseBytes = 8 << 20 // a page of up to 100 rooms
)

// maxDrain is how much of an unread response body is discarded so that its
// connection can be reused.
const maxDrain = 64 << 10

// newRequest builds a request to path (already escaped) with the headers
// every call carries.
func (c *Client) newRequest(ctx context.Context, method, path, rawQuery string, body []byte) (*http.Request, error) {
	u := c.baseURL + path
	if rawQuery != "" {
		u += "?" + rawQuery
	}
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, r)
	if err != nil {
		return nil, fmt.Errorf("liveblocks: %s %s: building the request: %w", method, path, err)
	}
	req.Header.Set("Authorization", c.authHeader)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.userAgent != "" {
		req.Header.Set("User-Agent", c.userAgent)
	}
	return req, nil
}

// response is what came back from one call.
type response struct {
	status      int
	contentType string
	body        []byte
}

// send sends req and reads the response body, at most limit bytes of it.
// The error, for a request that got no complete answer, names the endpoint
// and the cause, and unwraps to it (context.DeadlineExceeded, a *net.OpError,
// ...). It never contains the secret key, which is only in a header.
func (c *Client) send(req *http.Request, endpoint string, limit int64) (response, error) {
	resp, err := c.hc.Do(req)
	if err != nil {
		// A *url.Error repeats the full URL, query included; the endpoint
		// is enough to say what was being done.
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err
		}
		return response{}, fmt.Errorf("liveblocks: %s: %w", endpoint, err)
	}
	defer func() {
		_, _ = io.CopyN(io.Discard, resp.Body, maxDrain)
		resp.Body.Close()
	}()
	body, err := readBody(resp, limit)
	if err != nil {
		return response{}, fmt.Errorf("liveblocks: %s: reading the response (status %d): %w", endpoint, resp.StatusCode, err)
	}
	return response{status: resp.StatusCode, contentType: resp.Header.Get("Content-Type"), body: body}, nil
}

// errBodyTooLarge reports a response body over the size limit.
var errBodyTooLarge = errors.New("response body too large")

func readBody(resp *http.Response, limit int64) ([]byte, error) {
	if n := resp.ContentLength; n >= 0 {
		if n > limit {
			return nil, fmt.Errorf("%w: %d bytes, the limit is %d", errBodyTooLarge, n, limit)
		}
		// net/http enforces Content-Length: a short body is an error.
		body := make([]byte, n)
		if _, err := io.ReadFull(resp.Body, body); err != nil {
			return nil, err
		}
		return body, nil
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(body)) > limit {
		return nil, fmt.Errorf("%w: over %d bytes", errBodyTooLarge, limit)
	}
	return body, nil
}

// call sends a JSON request to the REST API and decodes a 2xx answer into
// out (when out is not nil). Any other status is returned as an *Error.
func (c *Client) call(ctx context.Context, method, path, rawQuery string, in any, out any, limit int64) error {
	endpoint := method + " " + path
	var body []byte
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			return fmt.Errorf("liveblocks: %s: encoding the request: %w", endpoint, err)
		}
	}
	req, err := c.newRequest(ctx, method, path, rawQuery, body)
	if err != nil {
		return err
	}
	resp, err := c.send(req, endpoint, limit)
	if err != nil {
		return err
	}
	if resp.status < 200 || resp.status > 299 {
		return newAPIError(endpoint, resp.status, resp.body)
	}
	if out != nil {
		if err := json.Unmarshal(resp.body, out); err != nil {
			return fmt.Errorf("liveblocks: %s: decoding the response: %w", endpoint, err)
		}
	}
	return nil
}
