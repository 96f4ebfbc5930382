// Package session turns the value of an app's session cookie into a
// Liveblocks identity: a Store reads the session's data (a JWT's claims, a
// session document), a Mapping picks the user id, groups and user info out of
// it, and a Resolver puts a cache in front of both.
//
// It is not concerned with HTTP: finding the cookie in a request is the
// caller's job, and so is deciding what to answer.
package session

import (
	"context"
	"errors"
	"time"
)

// Data is what a store knows of one session: its JSON document (the claims of
// a JWT, the document of a stored session) and when it stops being valid
// (zero when the store does not say).
type Data struct {
	Doc     map[string]any
	Expires time.Time
}

// Store reads a session from the value of the app's session cookie.
//
// Lookup returns an *InvalidError when the value is not a valid session (bad
// signature, expired, unknown id) and an *UnavailableError when the store
// could not be asked (down, slow). The error text never holds the value.
type Store interface {
	Lookup(ctx context.Context, value string) (Data, error)
}

// InvalidError says a cookie holds no valid session. Reason is short and
// safe to log: it never holds the cookie's value or a claim.
type InvalidError struct {
	Reason string
	// Step, when known, is the step of the lookup that refused the session
	// ("bad signature", "expired", "no user id", ...), for explain.
	Step string
	// uncached marks a state that may change any moment (a stored session
	// that has no user yet, before the login): it is not negatively cached.
	uncached bool
}

// noCache reports whether an invalid session must not be remembered.
func noCache(err error) bool {
	var ie *InvalidError
	return errors.As(err, &ie) && ie.uncached
}

func (e *InvalidError) Error() string { return "invalid session: " + e.Reason }

// Invalid returns an *InvalidError with the reason.
func Invalid(reason string) error { return &InvalidError{Reason: reason} }

// UnavailableError says the store could not answer; the session may be valid.
type UnavailableError struct{ Err error }

func (e *UnavailableError) Error() string { return "session store unavailable: " + e.Err.Error() }
func (e *UnavailableError) Unwrap() error { return e.Err }

// IsInvalid reports whether err says the session is not valid.
func IsInvalid(err error) bool {
	if _, ok := err.(*InvalidError); ok { // the common case, without allocating
		return true
	}
	var ie *InvalidError
	return errors.As(err, &ie)
}

// IsUnavailable reports whether err says the store could not be asked.
func IsUnavailable(err error) bool {
	if _, ok := err.(*UnavailableError); ok {
		return true
	}
	if _, ok := err.(*InvalidError); ok {
		return false
	}
	var ue *UnavailableError
	return errors.As(err, &ue)
}
