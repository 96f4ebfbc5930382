// Package certwatch serves a TLS certificate and key kept in files that
// something else renews (cert-manager, a kubelet-mounted Secret, a script):
// each handshake gets the pair currently on disk, read again when the files
// change, with no restart and no dropped connection.
//
// It is for any TLS listener of lbauthz (the admission webhook today; the
// gRPC and HTTP listeners can use the same Certificate). It is not a
// certificate issuer, and it does not verify peers.
package certwatch

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"
)

// DefaultCheckInterval is how often, at most, the files are looked at again.
const DefaultCheckInterval = time.Second

// Certificate is a certificate and key pair read from two PEM files. Its
// methods are safe for concurrent use.
//
// The files are checked at most once per CheckInterval, on a handshake: a
// change of size, modification time or inode (a Kubernetes Secret volume
// swaps a symlink) makes them be read again. A pair that does not load (the
// renewer has written the certificate but not yet the key) keeps the previous
// pair in use until a later check loads it; the error is reported through
// OnError.
type Certificate struct {
	certFile, keyFile string

	// CheckInterval is the least time between two looks at the files; zero
	// means DefaultCheckInterval.
	CheckInterval time.Duration
	// OnReload, if set, is called after a new pair was loaded (not for the
	// first one), with its leaf certificate.
	OnReload func(leaf *x509.Certificate)
	// OnError, if set, is called when changed files could not be loaded.
	OnError func(err error)

	mu        sync.Mutex
	cert      *tls.Certificate
	stamp     [2]fileStamp
	lastCheck time.Time
}

// Load reads the pair once and returns a Certificate that keeps it current.
// It fails if the files cannot be read or do not form a valid pair.
func Load(certFile, keyFile string) (*Certificate, error) {
	c := &Certificate{certFile: certFile, keyFile: keyFile}
	stamp, err := c.stampFiles()
	if err != nil {
		return nil, err
	}
	cert, err := c.load()
	if err != nil {
		return nil, err
	}
	c.cert, c.stamp, c.lastCheck = cert, stamp, time.Now()
	return c, nil
}

// GetCertificate is for tls.Config.GetCertificate: it returns the current
// pair, reloading it first if the files changed.
func (c *Certificate) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	return c.Current(), nil
}

// GetClientCertificate is for tls.Config.GetClientCertificate (a client
// presenting this pair to a server that asks for one).
func (c *Certificate) GetClientCertificate(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
	return c.Current(), nil
}

// ServerConfig returns a TLS 1.2+ server configuration serving the pair.
func (c *Certificate) ServerConfig() *tls.Config {
	return &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: c.GetCertificate}
}

// Current returns the pair in use, after looking at the files if the last
// look is older than CheckInterval.
func (c *Certificate) Current() *tls.Certificate {
	c.mu.Lock()
	defer c.mu.Unlock()
	interval := c.CheckInterval
	if interval <= 0 {
		interval = DefaultCheckInterval
	}
	if time.Since(c.lastCheck) < interval {
		return c.cert
	}
	c.lastCheck = time.Now()
	stamp, err := c.stampFiles()
	if err != nil {
		c.report(err)
		return c.cert
	}
	if stamp == c.stamp {
		return c.cert
	}
	cert, err := c.load()
	if err != nil {
		// Leave the stamp as it was, so that the next check tries again.
		c.report(err)
		return c.cert
	}
	c.cert, c.stamp = cert, stamp
	if c.OnReload != nil {
		c.OnReload(cert.Leaf)
	}
	return c.cert
}

func (c *Certificate) report(err error) {
	if c.OnError != nil {
		c.OnError(err)
	}
}

func (c *Certificate) load() (*tls.Certificate, error) {
	cert, err := tls.LoadX509KeyPair(c.certFile, c.keyFile)
	if err != nil {
		return nil, fmt.Errorf("loading TLS certificate %s and key %s: %w", c.certFile, c.keyFile, err)
	}
	if cert.Leaf == nil {
		return nil, errors.New("loading TLS certificate " + c.certFile + ": no leaf certificate")
	}
	return &cert, nil
}

// fileStamp is what tells that a file changed without reading it.
type fileStamp struct {
	size    int64
	modTime time.Time
	inode   uint64
}

func (c *Certificate) stampFiles() ([2]fileStamp, error) {
	var s [2]fileStamp
	for i, name := range []string{c.certFile, c.keyFile} {
		fi, err := os.Stat(name)
		if err != nil {
			return s, fmt.Errorf("looking at TLS file: %w", err)
		}
		s[i] = fileStamp{size: fi.Size(), modTime: fi.ModTime(), inode: inodeOf(fi)}
	}
	return s, nil
}
