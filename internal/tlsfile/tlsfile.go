// Package tlsfile serves TLS from a certificate and key file pair, reloaded
// when either file changes, so a renewed certificate (certbot, cert-manager)
// is used without a restart.
package tlsfile

import (
	"bytes"
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"iter"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"
)

// checkEvery bounds how often a handshake stats the files: renewals are
// rare, handshakes are not.
const checkEvery = time.Second

// Loader holds the certificate last loaded from a file pair. Make one with
// New.
type Loader struct {
	certFile, keyFile string
	log               *slog.Logger
	interval          time.Duration // checkEvery; tests shorten it

	mu      sync.Mutex
	cert    *tls.Certificate
	loaded  fileState // the files as they were when cert was read
	failed  fileState // the last state that failed to load, so it is warned about once
	checked time.Time
}

// fileState tells versions of the pair apart without reading them. The
// inode tells a file renamed over the old one (as renewal tools write),
// even within the few milliseconds the file system's clock may not tell.
type fileState struct {
	certMod, certSize int64
	keyMod, keySize   int64
	certIno, keyIno   uint64
	err               string // a failed stat is a state too, warned about once
}

// New loads the pair once. Its error names the file and what is wrong with
// it; unlike a reload, New also refuses an expired certificate, since
// starting to serve one is surely a mistake.
func New(certFile, keyFile string, log *slog.Logger) (*Loader, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	l := &Loader{certFile: certFile, keyFile: keyFile, log: log, interval: checkEvery}
	// Stat before reading, so a change made while reading shows up as a
	// new state at the next check instead of being taken as loaded.
	st := l.state()
	cert, err := load(certFile, keyFile)
	if err != nil {
		return nil, err
	}
	if end := cert.Leaf.NotAfter; time.Now().After(end) {
		return nil, fmt.Errorf("certificate file %s: certificate expired at %s", certFile, end.UTC().Format(time.RFC3339))
	}
	l.cert, l.loaded, l.checked = cert, st, time.Now()
	return l, nil
}

// GetCertificate is for tls.Config.GetCertificate: it returns the current
// certificate, first reloading the pair if either file's modification time
// or size changed since the last load (checked at most once per second). A
// reload that fails, as when a renewal is half-written, keeps the previous
// certificate and logs a warning once per change of the files.
func (l *Loader) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if now := time.Now(); now.Sub(l.checked) >= l.interval {
		l.checked = now
		l.reload()
	}
	return l.cert, nil
}

// Config returns a server configuration serving the current certificate.
// Its Certificates stay empty: when they are not, crypto/tls calls
// GetCertificate only for clients that send a server name (SNI).
func (l *Loader) Config() *tls.Config {
	return &tls.Config{GetCertificate: l.GetCertificate, MinVersion: tls.VersionTLS12}
}

// reload loads the pair if it changed since the last attempt; l.mu is held.
func (l *Loader) reload() {
	st := l.state()
	if st == l.loaded || st == l.failed {
		return
	}
	if st.err != "" {
		l.failed = st
		l.log.Warn("tls certificate reload failed, still serving the previous one", "err", st.err)
		return
	}
	cert, err := load(l.certFile, l.keyFile)
	if err != nil {
		l.failed = st
		l.log.Warn("tls certificate reload failed, still serving the previous one", "err", err)
		return
	}
	l.cert, l.loaded, l.failed = cert, st, fileState{}
	l.log.Info("tls certificate reloaded", "file", l.certFile,
		"serial", cert.Leaf.SerialNumber.String(), "not_after", cert.Leaf.NotAfter)
	// Served all the same: someone put these files there on purpose, and
	// refusing them would only hide that behind the previous certificate.
	if time.Now().After(cert.Leaf.NotAfter) {
		l.log.Warn("reloaded tls certificate is expired", "file", l.certFile, "not_after", cert.Leaf.NotAfter)
	}
}

func (l *Loader) state() fileState {
	// Stat follows symlinks, so a certbot live/ link or a Kubernetes
	// secret's ..data link switched to new files is a change.
	ci, err := os.Stat(l.certFile)
	if err != nil {
		return fileState{err: err.Error()}
	}
	ki, err := os.Stat(l.keyFile)
	if err != nil {
		return fileState{err: err.Error()}
	}
	return fileState{
		certMod: ci.ModTime().UnixNano(), certSize: ci.Size(), certIno: inode(ci),
		keyMod: ki.ModTime().UnixNano(), keySize: ki.Size(), keyIno: inode(ki),
	}
}

// load reads and checks the pair. It does the work of tls.X509KeyPair
// itself so that each error can say which file is wrong.
func load(certFile, keyFile string) (*tls.Certificate, error) {
	certPEM, err := readFile("certificate", certFile)
	if err != nil {
		return nil, err
	}
	keyPEM, err := readFile("key", keyFile)
	if err != nil {
		return nil, err
	}
	chain, err := certificates(certFile, certPEM)
	if err != nil {
		return nil, err
	}
	leaf, err := x509.ParseCertificate(chain[0])
	if err != nil {
		return nil, fmt.Errorf("certificate file %s: %v", certFile, err)
	}
	key, err := privateKey(keyFile, keyPEM)
	if err != nil {
		return nil, err
	}
	pub, ok := key.Public().(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !pub.Equal(leaf.PublicKey) {
		return nil, fmt.Errorf("key file %s does not match certificate file %s", keyFile, certFile)
	}
	return &tls.Certificate{Certificate: chain, PrivateKey: key, Leaf: leaf}, nil
}

func readFile(what, path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s file %s: does not exist", what, path)
	}
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err // the path is said already
		}
		return nil, fmt.Errorf("%s file %s: cannot read: %v", what, path, err)
	}
	return b, nil
}

// certificates returns the DER of each certificate in the file, leaf first.
func certificates(path string, data []byte) ([][]byte, error) {
	var chain [][]byte
	sawKey := false
	for b := range pemBlocks(&data) {
		switch {
		case b.Type == "CERTIFICATE":
			chain = append(chain, b.Bytes)
		case strings.HasSuffix(b.Type, "PRIVATE KEY"):
			sawKey = true
		}
	}
	switch {
	case truncated(data):
		// Else a half-written chain would load without its intermediates.
		return nil, fmt.Errorf("certificate file %s: malformed or truncated PEM block", path)
	case len(chain) > 0:
		return chain, nil
	case sawKey:
		return nil, fmt.Errorf("certificate file %s: holds a private key, not a certificate (are the certificate and key files swapped?)", path)
	}
	return nil, fmt.Errorf("certificate file %s: no PEM certificate found", path)
}

func privateKey(path string, data []byte) (crypto.Signer, error) {
	sawCert := false
	for b := range pemBlocks(&data) {
		switch {
		case b.Type == "ENCRYPTED PRIVATE KEY" || strings.Contains(b.Headers["Proc-Type"], "ENCRYPTED"):
			return nil, fmt.Errorf("key file %s: the private key is encrypted; a server needs it unencrypted", path)
		case strings.HasSuffix(b.Type, "PRIVATE KEY"):
			key, err := parseKey(b.Bytes)
			if err != nil {
				return nil, fmt.Errorf("key file %s: %v", path, err)
			}
			return key, nil
		case b.Type == "CERTIFICATE":
			sawCert = true
		}
	}
	switch {
	case truncated(data):
		return nil, fmt.Errorf("key file %s: malformed or truncated PEM block", path)
	case sawCert:
		return nil, fmt.Errorf("key file %s: holds a certificate, not a private key (are the certificate and key files swapped?)", path)
	}
	return nil, fmt.Errorf("key file %s: no PEM private key found", path)
}

// pemBlocks yields the PEM blocks of *data in turn, leaving in *data what
// follows the last one decoded.
func pemBlocks(data *[]byte) iter.Seq[*pem.Block] {
	return func(yield func(*pem.Block) bool) {
		for {
			b, rest := pem.Decode(*data)
			if b == nil {
				return
			}
			*data = rest
			if !yield(b) {
				return
			}
		}
	}
}

// truncated says whether what pem.Decode left over starts a block it could
// not decode.
func truncated(rest []byte) bool {
	return bytes.Contains(rest, []byte("-----BEGIN"))
}

// parseKey accepts the encodings openssl, certbot and cert-manager write.
func parseKey(der []byte) (crypto.Signer, error) {
	if k, err := x509.ParsePKCS8PrivateKey(der); err == nil {
		s, ok := k.(crypto.Signer)
		if !ok {
			return nil, fmt.Errorf("private key of type %T cannot sign", k)
		}
		return s, nil
	}
	if k, err := x509.ParsePKCS1PrivateKey(der); err == nil {
		return k, nil
	}
	if k, err := x509.ParseECPrivateKey(der); err == nil {
		return k, nil
	}
	return nil, errors.New("cannot parse the private key (not PKCS #8, PKCS #1 or SEC 1)")
}
