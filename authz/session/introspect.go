package session

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// maxIntrospectionBody bounds the app's answer.
const maxIntrospectionBody = 64 << 10

// IntrospectionOptions configures an IntrospectionStore.
type IntrospectionOptions struct {
	// URL of the app's "who am I" endpoint.
	URL string
	// CookieName is the name the cookie value is sent under. With Bearer,
	// the credential is sent as "Authorization: Bearer <credential>"
	// instead; with SendHeader, as the value of that header: as the client
	// sent it.
	CookieName string
	Bearer     bool
	SendHeader string
	// Header is sent with every call (besides Cookie).
	Header http.Header
	// Timeout bounds one call (2s when zero); the caller's deadline applies
	// when shorter.
	Timeout time.Duration
	// Client makes the calls (a client of its own when nil). Redirects are
	// never followed.
	Client *http.Client
}

// IntrospectionStore asks the app who the user is: a GET of its own "who am
// I" endpoint with the session cookie. 200 with a JSON object: the object is
// the session document. 3xx (a redirect to a login page), 401, 403 and other
// 4xx: no session. 5xx, a timeout or no connection: unavailable.
type IntrospectionStore struct {
	url        string
	cookie     string
	bearer     bool
	sendHeader string
	header     http.Header
	timeout    time.Duration
	client     *http.Client
}

// NewIntrospectionStore returns a store calling opts.URL.
func NewIntrospectionStore(opts IntrospectionOptions) (*IntrospectionStore, error) {
	u, err := url.Parse(opts.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("introspection: %q is not an http(s) URL", opts.URL)
	}
	if opts.CookieName == "" && !opts.Bearer && opts.SendHeader == "" {
		return nil, errors.New("introspection: no cookie name")
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 2 * time.Second
	}
	c := opts.Client
	if c == nil {
		c = &http.Client{Transport: &http.Transport{
			Proxy:               nil, // the app is next door: never through a proxy
			MaxIdleConnsPerHost: 64,
			IdleConnTimeout:     90 * time.Second,
		}}
	}
	cc := *c
	cc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &IntrospectionStore{url: opts.URL, cookie: opts.CookieName, bearer: opts.Bearer, sendHeader: opts.SendHeader, header: opts.Header.Clone(),
		timeout: opts.Timeout, client: &cc}, nil
}

// Lookup calls the endpoint with the cookie and reads its answer.
func (s *IntrospectionStore) Lookup(ctx context.Context, value string) (Data, error) {
	if !cookieValueSendable(value) {
		return Data{}, Invalid("malformed cookie (bytes a cookie value may not hold)")
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.url, nil)
	if err != nil {
		return Data{}, &UnavailableError{Err: errors.New("introspection: cannot build the request")}
	}
	for k, v := range s.header {
		req.Header[k] = v
	}
	if req.Header.Get("Accept") == "" {
		req.Header.Set("Accept", "application/json")
	}
	switch {
	case s.bearer:
		req.Header.Set("Authorization", "Bearer "+value)
	case s.sendHeader != "":
		req.Header.Set(s.sendHeader, value)
	default:
		req.Header.Set("Cookie", s.cookie+"="+value)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return Data{}, &UnavailableError{Err: errors.New("introspection: timeout")}
		}
		// *url.Error names the URL (config, not a secret) and the cause.
		return Data{}, &UnavailableError{Err: err}
	}
	defer resp.Body.Close()
	code := resp.StatusCode
	switch {
	case code == http.StatusOK:
	case code >= 500 || code == http.StatusRequestTimeout || code == http.StatusTooManyRequests:
		// The app is in trouble, not the session: retryable, never cached.
		return Data{}, &UnavailableError{Err: errors.New("introspection: the app answered " + strconv.Itoa(code))}
	case code >= 300:
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxIntrospectionBody))
		return Data{}, Invalid("the app answered " + strconv.Itoa(code))
	default: // other 2xx: not the answer of a known user
		return Data{}, Invalid("the app answered " + strconv.Itoa(code) + ", not 200")
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxIntrospectionBody+1))
	if err != nil {
		return Data{}, &UnavailableError{Err: errors.New("introspection: reading the answer failed")}
	}
	if len(body) > maxIntrospectionBody {
		return Data{}, Invalid("the app's answer is over 64 KiB")
	}
	doc, err := DecodeDocument(body)
	if err != nil {
		return Data{}, Invalid("the app's answer is not a JSON object")
	}
	return Data{Doc: doc}, nil
}

// Close closes idle connections to the app.
func (s *IntrospectionStore) Close() error { s.client.CloseIdleConnections(); return nil }

// cookieValueSendable reports whether value can be sent back to the app as
// the cookie's value: no control byte (which no request may carry) and no
// ";" (which would add a cookie of the caller's choosing to the request).
func cookieValueSendable(value string) bool {
	for i := 0; i < len(value); i++ {
		if c := value[i]; c < 0x20 || c == 0x7f || c == ';' {
			return false
		}
	}
	return true
}
