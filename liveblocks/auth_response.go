package liveblocks

import (
	"context"
	"errors"
	"net/http"
)

// AuthResponse is what to send back to the browser's Liveblocks client from
// an auth endpoint: write Status, a Content-Type header of ContentType, and
// Body.
type AuthResponse struct {
	// Status is the status for the browser, mapped as the Node SDK maps it:
	// 200 when Liveblocks answered 2xx, 503 when it answered 5xx or could not
	// be reached, otherwise Liveblocks' own status (401, 403, 422, 429...).
	// It is 0 only from the *Err variants, when the request was invalid and
	// not sent.
	Status int
	// Body is Liveblocks' body, byte for byte ({"token":"..."} on success).
	// When Liveblocks could not be reached it is a short plain-text message
	// naming the endpoint, with no secret and no URL.
	Body []byte
	// ContentType is Liveblocks' Content-Type header (which may be empty),
	// or "text/plain; charset=utf-8" for a message written by this package.
	ContentType string
	// LiveblocksStatus is the status Liveblocks actually answered with,
	// before mapping, for logs and metrics; 0 when there was no answer.
	LiveblocksStatus int
}

// OK reports whether the response carries a token (Status 200).
func (r AuthResponse) OK() bool { return r.Status == http.StatusOK }

const textPlain = "text/plain; charset=utf-8"

// authStatus maps a Liveblocks status to the browser's, as the Node SDK's
// normalizeStatusCode does.
func authStatus(status int) int {
	switch {
	case status >= 200 && status < 300:
		return http.StatusOK
	case status >= 500:
		return http.StatusServiceUnavailable
	default:
		return status
	}
}

// postAuth sends a token request. Every answer from Liveblocks, whatever its
// status, is a nil error; the error is for a call that got no complete
// answer, and then the response is a 503.
func (c *Client) postAuth(ctx context.Context, path string, body []byte) (AuthResponse, error) {
	endpoint := http.MethodPost + " " + path
	req, err := c.newRequest(ctx, http.MethodPost, path, "", body)
	if err != nil {
		return unavailable(endpoint), err
	}
	resp, err := c.send(req, endpoint, maxResponseBytes)
	if err != nil {
		return unavailable(endpoint), err
	}
	return AuthResponse{
		Status:           authStatus(resp.status),
		Body:             resp.body,
		ContentType:      resp.contentType,
		LiveblocksStatus: resp.status,
	}, nil
}

// unavailable is the 503 for a call to Liveblocks that failed. The browser's
// client retries a 503 with back-off.
func unavailable(endpoint string) AuthResponse {
	return AuthResponse{
		Status:      http.StatusServiceUnavailable,
		Body:        []byte("Call to Liveblocks (" + endpoint + ") failed."),
		ContentType: textPlain,
	}
}

// rejected turns the error of an *Err variant into the response the plain
// variant returns. A request that fails validation becomes a 422, the status
// Liveblocks gives a request it cannot process: the browser's client does
// not retry it, since retrying could never succeed. The body names the field
// and the problem but not the value.
func rejected(resp AuthResponse, err error) AuthResponse {
	var verr *ValidationError
	if resp.Status == 0 && errors.As(err, &verr) {
		return AuthResponse{
			Status:      http.StatusUnprocessableEntity,
			Body:        []byte("Invalid " + verr.Field + ": " + verr.Reason),
			ContentType: textPlain,
		}
	}
	return resp
}
