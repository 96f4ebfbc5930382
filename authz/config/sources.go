package config

import (
	"fmt"
	"net/textproto"
	"strings"

	"google.golang.org/protobuf/proto"

	configv1 "github.com/lbauthz/lbauthz/proto/lbauthz/config/v1"
)

// MaxSessionSources is the most session sources a config may have
// (session and more_sessions together).
const MaxSessionSources = 8

// applySourceDefaults applies the session defaults to each of
// more_sessions, as to the top-level session: each source is defaulted as
// the session of a config with the source's identity, or identity as the
// file wrote it (written, taken before the defaults). A source reading a
// bearer token or a header gets no preset's default cookie.
func applySourceDefaults(cfg *configv1.Config, written *configv1.Identity) {
	for _, src := range cfg.MoreSessions {
		if src.Session == nil {
			src.Session = &configv1.Session{}
		}
		if src.Identity == nil && written != nil {
			src.Identity = proto.Clone(written).(*configv1.Identity)
		}
		d := &configv1.Config{Listen: cfg.Listen, Liveblocks: cfg.Liveblocks, Session: src.Session, Identity: src.Identity}
		applyDefaults(d)
		src.Session, src.Identity = d.Session, d.Identity
	}
}

// keepCookieDefault undoes a preset's default cookie name for a session
// that reads a bearer token or a header and named no cookie itself.
func keepCookieDefault(s *configv1.Session, wroteCookie bool) {
	if !wroteCookie && (s.Bearer || s.Header != "") {
		s.Cookie = ""
	}
}

// SourceConfig is the config the session source i reads with: cfg itself
// for 0 (session), and for i > 0 cfg with session and identity replaced by
// those of more_sessions[i-1]. The result shares cfg's other sections.
func SourceConfig(cfg *configv1.Config, i int) *configv1.Config {
	if i == 0 {
		return cfg
	}
	src := cfg.MoreSessions[i-1]
	d := &configv1.Config{}
	proto.Merge(d, cfg)
	d.Session, d.Identity, d.MoreSessions = src.Session, src.Identity, nil
	return d
}

// SessionSources is how many session sources cfg has.
func SessionSources(cfg *configv1.Config) int { return 1 + len(cfg.MoreSessions) }

// validateCredential checks where a session's credential is read: exactly
// one of cookie, bearer and header, and a store that can read it there.
func validateCredential(add func(string, string, ...any), field string, s *configv1.Session) {
	n := 0
	for _, set := range []bool{s.Cookie != "", s.Bearer, s.Header != ""} {
		if set {
			n++
		}
	}
	switch {
	case n == 0:
		add(field+".cookie", "the name of the app's session cookie is required (or bearer: true, or header)")
		return
	case n > 1:
		add(field, "set exactly one of cookie, bearer and header: a session source reads one credential")
		return
	case s.Cookie != "":
		if !isToken(s.Cookie) {
			add(field+".cookie", "%q is not a valid cookie name", s.Cookie)
		}
		return
	}
	if s.Header != "" {
		switch h := textproto.CanonicalMIMEHeaderKey(s.Header); {
		case !isToken(s.Header):
			add(field+".header", "%q is not a valid header name", s.Header)
		case h == "Cookie" || h == "Authorization" || h == "Host" || strings.HasPrefix(h, ":"):
			add(field+".header", "%q is read otherwise: use cookie or bearer", s.Header)
		}
	}
	if s.SignedCookie != nil || s.Files != nil {
		add(field, "the signed_cookie and files stores read the framework's cookie: set cookie, not bearer or header")
	}
	if s.CookieFormat != "" && s.CookieFormat != CookieFormatPlain {
		add(field+".cookie_format", "%q reads a signed cookie; a bearer token or a header is read as it is (plain)", s.CookieFormat)
	}
}

// validateSources checks more_sessions: each source as a session of its
// own (errors named more_sessions[i]), at most MaxSessionSources in all,
// and one credential header name for all of them.
func validateSources(add func(string, string, ...any), cfg *configv1.Config) {
	if SessionSources(cfg) > MaxSessionSources {
		add("more_sessions", "%d session sources; at most %d", SessionSources(cfg), MaxSessionSources)
		return
	}
	header := cfg.Session.GetHeader()
	for i, src := range cfg.MoreSessions {
		field := fmt.Sprintf("more_sessions[%d]", i)
		if src.GetSession() == nil {
			add(field+".session", "required: where the credential is and its store")
			continue
		}
		if h := src.Session.Header; h != "" {
			if header != "" && !strings.EqualFold(h, header) {
				add(field+".session.header", "%q: every session source that reads a header reads the same one (%q)", h, header)
			}
			header = h
		}
		err := Validate(SourceConfig(cfg, i+1))
		for _, e := range unjoin(err) {
			msg := e.Error()
			if strings.HasPrefix(msg, "session") || strings.HasPrefix(msg, "identity") {
				add(field+"."+msg[:strings.Index(msg, ":")], "%s", strings.TrimSpace(msg[strings.Index(msg, ":")+1:]))
			}
		}
	}
}

// unjoin returns the errors errors.Join joined.
func unjoin(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// CredentialHeader is the request header the session sources of cfg read a
// credential from, or "" when none does.
func CredentialHeader(cfg *configv1.Config) string {
	for i := range SessionSources(cfg) {
		if h := SourceConfig(cfg, i).Session.GetHeader(); h != "" {
			return h
		}
	}
	return ""
}
