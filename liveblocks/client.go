package liveblocks

import (
	"net"
	"net/http"
	"net/url"
	"sync"
	"time"
)

// DefaultBaseURL is where the Liveblocks REST API is served.
const DefaultBaseURL = "https://api.liveblocks.io"

// Options configures a [Client].
type Options struct {
	// BaseURL is the scheme and host of the Liveblocks API, for example
	// "http://127.0.0.1:1153" for the Liveblocks dev server. Empty means
	// [DefaultBaseURL]. It must be an http or https URL with a host and no
	// user name or password; any path, query or fragment in it is dropped,
	// since every endpoint path starts at /v2/.
	BaseURL string

	// SecretKey is the project's secret key ("sk_..."). It is sent in the
	// Authorization header of every request and nowhere else.
	SecretKey string

	// HTTPClient sends the requests. Nil means a client shared by every
	// Client that uses the default: a keep-alive connection pool (up to 64
	// idle connections per host, HTTP/2 when the server offers it), dial and
	// TLS handshake timeouts of 5 seconds, a response-header timeout of 30
	// seconds, and no overall timeout: bound each call with its context.
	HTTPClient *http.Client

	// UserAgent, if not empty, is sent as the User-Agent header.
	UserAgent string
}

// Client calls the Liveblocks REST API. It is safe for concurrent use; make
// one and reuse it, so that connections are reused. Build it with [New]: the
// zero value is not usable.
type Client struct {
	baseURL    string // scheme://host, no trailing slash
	authHeader string // "Bearer sk_..."
	userAgent  string
	hc         *http.Client
}

// New returns a Client for the options, after checking the base URL and the
// secret key. The error never contains the secret key.
func New(opts Options) (*Client, error) {
	base, err := normalizeBaseURL(opts.BaseURL)
	if err != nil {
		return nil, err
	}
	if err := ValidateSecretKey(opts.SecretKey); err != nil {
		return nil, err
	}
	hc := opts.HTTPClient
	if hc == nil {
		hc = defaultHTTPClient()
	}
	return &Client{
		baseURL:    base,
		authHeader: "Bearer " + opts.SecretKey,
		userAgent:  opts.UserAgent,
		hc:         hc,
	}, nil
}

// BaseURL returns the scheme and host requests are sent to, for example
// "https://api.liveblocks.io".
func (c *Client) BaseURL() string { return c.baseURL }

// normalizeBaseURL keeps the scheme and host of raw: paths start at /v2/, as
// in the Node SDK, which resolves "/v2/..." against the base URL.
func normalizeBaseURL(raw string) (string, error) {
	if raw == "" {
		return DefaultBaseURL, nil
	}
	u, err := url.Parse(raw)
	if err != nil {
		// url.Error quotes the input, which may hold credentials.
		return "", &ValidationError{Field: "BaseURL", Reason: "is not a valid URL"}
	}
	if u.User != nil {
		return "", &ValidationError{Field: "BaseURL", Reason: "must not contain a user name or password"}
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return "", &ValidationError{Field: "BaseURL", Value: raw, Reason: `must start with "http://" or "https://"`}
	}
	if u.Host == "" {
		return "", &ValidationError{Field: "BaseURL", Value: raw, Reason: "has no host"}
	}
	return u.Scheme + "://" + u.Host, nil
}

// defaultHTTPClient is shared so that every Client built without an
// HTTPClient draws on one connection pool.
var defaultHTTPClient = sync.OnceValue(func() *http.Client {
	return &http.Client{Transport: &http.Transport{
		Proxy: http.ProxyFromEnvironment,
		DialContext: (&net.Dialer{
			Timeout:   5 * time.Second,
			KeepAlive: 30 * time.Second,
		}).DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          256,
		MaxIdleConnsPerHost:   64,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   5 * time.Second,
		ResponseHeaderTimeout: 30 * time.Second,
		ExpectContinueTimeout: time.Second,
	}}
})
