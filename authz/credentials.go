package authz

import (
	"context"
	"strings"

	"github.com/lbauthz/lbauthz/authz/session"
)

// A Source is one place a request's session credential is read from, with
// the sessions that know it (the session and more_sessions sections). The
// engine's first source is Options' CookieName (or Bearer, or Header),
// MaxCookieBytes, Sessions and StoreKind; Options.MoreSources are the others.
type Source struct {
	// Exactly one of Cookie, Bearer and Header says where the credential is:
	// the cookie of that name, the token of "Authorization: Bearer", or the
	// value of that header (any case; the doors read it through
	// Engine.CredentialHeader).
	Cookie string
	Bearer bool
	Header string
	// MaxBytes refuses a longer credential before any lookup.
	MaxBytes int
	// Sessions resolves the credential into an identity.
	Sessions *session.Resolver
	// StoreKind names the store, for explain.
	StoreKind string
}

// HeaderValue is a request header a credential may be read from: its first
// value and how many header lines carried it (0: absent; more than one is
// refused, as two session cookies are).
type HeaderValue struct {
	Value string
	Lines int
}

// where names a source's credential for explain and logs, never its value.
func (s *Source) where() string {
	switch {
	case s.Bearer:
		return "bearer"
	case s.Header != "":
		return "header " + s.Header
	}
	return "cookie " + s.Cookie
}

// credential reads the source's credential from the request. It does not
// allocate.
func (s *Source) credential(r *Request) (string, cookieResult) {
	switch {
	case s.Bearer:
		return bearerToken(r.Authorization, s.MaxBytes)
	case s.Header != "":
		return headerCredential(r.CredentialHeader, s.MaxBytes)
	}
	return findCookie(r.Cookie, r.Cookies, s.Cookie, s.MaxBytes)
}

// bearerToken reads the token of an "Authorization: Bearer <token>" header
// (RFC 6750 section 2.1: the scheme in any case, the token in the token68
// alphabet). Another scheme (Basic) is no bearer token: absent.
func bearerToken(h HeaderValue, maxLen int) (string, cookieResult) {
	switch h.Lines {
	case 0:
		return "", cookieAbsent
	case 1:
	default:
		return "", cookieAmbiguous
	}
	v := h.Value
	const scheme = "bearer"
	if len(v) < len(scheme) || !strings.EqualFold(v[:len(scheme)], scheme) ||
		(len(v) > len(scheme) && v[len(scheme)] != ' ') {
		return "", cookieAbsent
	}
	tok := strings.TrimLeft(v[len(scheme):], " ")
	if len(tok) > maxLen {
		return "", cookieTooLong
	}
	if !isToken68(tok) {
		return "", cookieMalformed
	}
	return tok, cookieFound
}

// isToken68 reports whether s is an RFC 7235 token68:
// 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=".
func isToken68(s string) bool {
	i := 0
	for ; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
			c == '-' || c == '.' || c == '_' || c == '~' || c == '+' || c == '/') {
			break
		}
	}
	if i == 0 {
		return false
	}
	for ; i < len(s); i++ {
		if s[i] != '=' {
			return false
		}
	}
	return true
}

// headerCredential reads a credential from a named header: one line, the
// bytes of a cookie value (no space, comma, semicolon or control byte; a
// comma is where Envoy joins repeated lines).
func headerCredential(h HeaderValue, maxLen int) (string, cookieResult) {
	switch {
	case h.Lines == 0 || h.Value == "":
		return "", cookieAbsent
	case h.Lines > 1:
		return "", cookieAmbiguous
	case len(h.Value) > maxLen:
		return "", cookieTooLong
	}
	for i := 0; i < len(h.Value); i++ {
		if c := h.Value[i]; c <= ' ' || c == ',' || c == ';' || c == '"' || c == '\\' || c >= 0x7f {
			return "", cookieMalformed
		}
	}
	return h.Value, cookieFound
}

// CredentialHeader is the request header a session source reads, in lower
// case ("" when none does): a door that cannot hand the engine every header
// puts this one in Request.CredentialHeader. Canonical is its
// net/http.CanonicalHeaderKey form.
func (e *Engine) CredentialHeader() (lower, canonical string) {
	return e.credHeader, e.credHeaderCanonical
}

// Errors of credentials that are not cookies.
var errDisagree = session.Invalid("session credentials name different users")

// cachedIdentity is the identity of the request's session when it is a
// valid session already in the cache; the store is not asked. With several
// sources, every credential the request carries must be cached as valid,
// for the same user.
func (e *Engine) cachedIdentity(r *Request) (*session.Identity, bool) {
	var found *session.Identity
	for i := range e.sources {
		s := &e.sources[i]
		v, res := s.credential(r)
		if res == cookieAbsent {
			continue
		}
		if res != cookieFound {
			return nil, false
		}
		id, ok := s.Sessions.Cached(v)
		if !ok || (found != nil && found.UserID != id.UserID) {
			return nil, false
		}
		if found == nil {
			found = id
		}
	}
	return found, found != nil
}

// matchedCredential is the credential of the first source that the request
// carries one for, for revocation and the audit trail's session hash.
func (e *Engine) matchedCredential(r *Request) (string, bool) {
	for i := range e.sources {
		if v, res := e.sources[i].credential(r); res == cookieFound {
			return v, true
		}
	}
	return "", false
}

// identify resolves the request's session. With one source it reads that
// source's credential. With several, every source whose credential the
// request carries is asked: the sessions that are valid must all name the
// same user (two that differ are refused, never first-wins), and the
// identity is the first valid one; none valid gives the first source's
// refusal, or unavailable when a store could not be asked. A credential
// present but malformed, too long or given twice refuses the request, as
// for the cookie.
func (e *Engine) identify(ctx context.Context, r *Request, x recorder) (*session.Identity, error) {
	if len(e.sources) == 1 {
		s := &e.sources[0]
		v, res := s.credential(r)
		return e.identifyFrom(ctx, x, 0, s, v, res)
	}
	var (
		found    *session.Identity
		firstErr error
		down     error
		present  bool
	)
	for i := range e.sources {
		s := &e.sources[i]
		v, res := s.credential(r)
		if res == cookieAbsent {
			x.source(i, s, res)
			continue
		}
		present = true
		id, err := e.identifyFrom(ctx, x, i, s, v, res)
		switch {
		case err == nil && found == nil:
			found = id
		case err == nil:
			if id.UserID != found.UserID {
				x.disagree()
				return nil, errDisagree
			}
		case session.IsUnavailable(err):
			down = err
		case firstErr == nil:
			firstErr = err
		}
		if err != nil && !session.IsUnavailable(err) && credentialRefusal(err) {
			return nil, err
		}
	}
	switch {
	case !present:
		return nil, errNoCredential
	case found != nil:
		return found, nil
	case down != nil:
		return nil, down
	}
	return nil, firstErr
}

// credentialRefusal reports whether err refuses the credential itself
// (given twice, too long, malformed), whatever the other sources say.
func credentialRefusal(err error) bool {
	switch err {
	case errAmbiguousCookie, errCookieTooLong, errCookieMalformed,
		errAmbiguousCredential, errCredentialTooLong, errCredentialMalformed:
		return true
	}
	return false
}

// pick is the error of a cookie source, or of any other.
func pick(s *Source, cookie, other error) error {
	if s.Cookie != "" {
		return cookie
	}
	return other
}

// identifyFrom resolves the session of source i's credential v, read with
// result res.
func (e *Engine) identifyFrom(ctx context.Context, x recorder, i int, s *Source, v string, res cookieResult) (*session.Identity, error) {
	x.source(i, s, res)
	switch res {
	case cookieAbsent:
		if s.Cookie == "" {
			return nil, errNoCredential
		}
		return nil, errNoCookie
	case cookieAmbiguous:
		return nil, pick(s, errAmbiguousCookie, errAmbiguousCredential)
	case cookieTooLong:
		return nil, pick(s, errCookieTooLong, errCredentialTooLong)
	case cookieMalformed:
		return nil, pick(s, errCookieMalformed, errCredentialMalformed)
	}
	id, err := s.Sessions.Resolve(ctx, v)
	if err == nil && e.revoked(v, id) {
		id, err = nil, errRevoked
	}
	x.session(s, id, err)
	return id, err
}
