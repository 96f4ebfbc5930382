// Package tlsconfig builds the server-side TLS configuration of lbauthz's
// listeners (gRPC and HTTP): a certificate and key, and optionally the CA
// that client certificates must chain to and the SANs (DNS names, URI or
// SPIFFE IDs) they must hold. The files are read again when they change
// (cert-manager, SPIFFE/SVID rotation), on the next handshake: no restart,
// and connections already open are left as they are.
//
// It is not a certificate issuer, and it does not configure clients.
package tlsconfig

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Options are the files and the client policy of a listener.
type Options struct {
	CertFile, KeyFile string // PEM; required
	// ClientCAFile is a PEM bundle of the CAs that client certificates must
	// chain to. Empty: no client certificate is asked for.
	ClientCAFile string
	// RequireClientCert refuses a handshake without a client certificate
	// (mTLS). Without it, a certificate that is given is still verified.
	RequireClientCert bool
	// AllowedDNSNames and AllowedURIs, when either is set, refuse a client
	// certificate that holds none of them among its SANs. A URI ending in
	// "/*" allows every URI under it ("spiffe://cluster.local/ns/gateway/*").
	AllowedDNSNames []string
	AllowedURIs     []string
	// CheckInterval is the least time between two looks at the files (1s
	// when zero).
	CheckInterval time.Duration
	// OnReload, if set, is called after changed files were loaded; OnError
	// when they could not be (the previous ones stay in use). Neither may
	// block.
	OnReload func()
	OnError  func(error)
}

// Server serves the TLS configuration of Options, current with the files.
// Its methods are safe for concurrent use.
type Server struct {
	opts      Options
	files     []string
	cur       atomic.Pointer[state]
	mu        sync.Mutex // held by the one handshake that looks at the files
	lastCheck time.Time
}

type state struct {
	stamps []fileStamp
	conf   *tls.Config // without NextProtos
}

// New reads the files once; it fails when they cannot be read, the pair
// does not match, the CA bundle holds no certificate, or an allowed SAN is
// malformed.
func New(opts Options) (*Server, error) {
	if opts.CertFile == "" || opts.KeyFile == "" {
		return nil, errors.New("tls: cert_file and key_file are both required")
	}
	if opts.ClientCAFile == "" && (opts.RequireClientCert || len(opts.AllowedDNSNames)+len(opts.AllowedURIs) > 0) {
		return nil, errors.New("tls: client_ca_file is required to ask for client certificates")
	}
	for _, u := range opts.AllowedURIs {
		if p, err := url.Parse(strings.TrimSuffix(u, "*")); err != nil || p.Scheme == "" {
			return nil, fmt.Errorf("tls: allowed URI %q is not an absolute URI", u)
		}
	}
	if opts.CheckInterval <= 0 {
		opts.CheckInterval = time.Second
	}
	s := &Server{opts: opts, files: []string{opts.CertFile, opts.KeyFile}}
	if opts.ClientCAFile != "" {
		s.files = append(s.files, opts.ClientCAFile)
	}
	stamps, err := stampFiles(s.files)
	if err != nil {
		return nil, err
	}
	st, err := s.load(stamps)
	if err != nil {
		return nil, err
	}
	s.cur.Store(st)
	s.lastCheck = time.Now()
	return s, nil
}

// TLSConfig returns the configuration to give a listener, with the ALPN
// protocols it speaks: "h2" for gRPC, "h2" and "http/1.1" for HTTP. Each
// handshake gets the files' current contents.
func (s *Server) TLSConfig(nextProtos ...string) *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		NextProtos: nextProtos,
		GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) {
			c := s.current().conf.Clone()
			c.NextProtos = nextProtos
			return c, nil
		},
	}
}

// current returns the state in use, after looking at the files when the
// last look is older than CheckInterval. Handshakes meanwhile do not wait
// for the look.
func (s *Server) current() *state {
	st := s.cur.Load()
	if !s.mu.TryLock() {
		return st
	}
	defer s.mu.Unlock()
	if time.Since(s.lastCheck) < s.opts.CheckInterval {
		return st
	}
	s.lastCheck = time.Now()
	stamps, err := stampFiles(s.files)
	if err != nil {
		s.report(err)
		return st
	}
	if slices.Equal(stamps, st.stamps) {
		return st
	}
	next, err := s.load(stamps)
	if err != nil {
		// Half-written files (the certificate renewed, not yet the key):
		// keep serving the previous ones, and look again next time.
		s.report(err)
		return st
	}
	s.cur.Store(next)
	if s.opts.OnReload != nil {
		s.opts.OnReload()
	}
	return next
}

func (s *Server) report(err error) {
	if s.opts.OnError != nil {
		s.opts.OnError(err)
	}
}

func (s *Server) load(stamps []fileStamp) (*state, error) {
	pair, err := tls.LoadX509KeyPair(s.opts.CertFile, s.opts.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("tls: loading %s and %s: %w", s.opts.CertFile, s.opts.KeyFile, err)
	}
	conf := &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{pair}}
	if s.opts.ClientCAFile != "" {
		pem, err := os.ReadFile(s.opts.ClientCAFile)
		if err != nil {
			return nil, fmt.Errorf("tls: reading the client CA bundle: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("tls: %s holds no PEM certificate", s.opts.ClientCAFile)
		}
		conf.ClientCAs = pool
		conf.ClientAuth = tls.VerifyClientCertIfGiven
		if s.opts.RequireClientCert {
			conf.ClientAuth = tls.RequireAndVerifyClientCert
		}
		if len(s.opts.AllowedDNSNames)+len(s.opts.AllowedURIs) > 0 {
			conf.VerifyConnection = s.verifySAN
		}
	}
	return &state{stamps: stamps, conf: conf}, nil
}

// errSANNotAllowed is the handshake's refusal of a client certificate that
// chains to the CA but names no allowed peer.
var errSANNotAllowed = errors.New("tls: the client certificate holds none of the allowed DNS names or URIs")

// verifySAN runs after the chain was verified, on full and resumed
// handshakes alike.
func (s *Server) verifySAN(cs tls.ConnectionState) error {
	if len(cs.PeerCertificates) == 0 {
		return nil // none given and none required: the chain check decided
	}
	leaf := cs.PeerCertificates[0]
	for _, name := range leaf.DNSNames {
		if slices.Contains(s.opts.AllowedDNSNames, name) {
			return nil
		}
	}
	for _, u := range leaf.URIs {
		if uriAllowed(s.opts.AllowedURIs, u.String()) {
			return nil
		}
	}
	return errSANNotAllowed
}

func uriAllowed(allowed []string, uri string) bool {
	for _, a := range allowed {
		if prefix, ok := strings.CutSuffix(a, "*"); ok {
			if strings.HasPrefix(uri, prefix) && len(uri) > len(prefix) {
				return true
			}
		} else if a == uri {
			return true
		}
	}
	return false
}

// fileStamp tells that a file changed without reading it: a Kubernetes
// Secret volume swaps a symlink (a new inode), other renewers rewrite it.
type fileStamp struct {
	size    int64
	modTime time.Time
	inode   uint64
}

func stampFiles(names []string) ([]fileStamp, error) {
	out := make([]fileStamp, len(names))
	for i, name := range names {
		fi, err := os.Stat(name)
		if err != nil {
			return nil, fmt.Errorf("tls: %w", err)
		}
		out[i] = fileStamp{size: fi.Size(), modTime: fi.ModTime()}
		if st, ok := fi.Sys().(*syscall.Stat_t); ok {
			out[i].inode = st.Ino
		}
	}
	return out, nil
}
