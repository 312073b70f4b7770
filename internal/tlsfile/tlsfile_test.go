package tlsfile

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"prewarm/internal/tlsfile/tlsfiletest"
)

// valid is a certificate for 127.0.0.1 valid for a day.
func valid(t *testing.T, serial int64) tlsfiletest.Pair {
	return tlsfiletest.SelfSigned(t, serial, time.Now().Add(24*time.Hour))
}

// replace writes data beside path and renames it over, as renewal tools do.
func replace(t *testing.T, path string, data []byte) {
	t.Helper()
	tmp := path + ".new"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

func files(t *testing.T, p tlsfiletest.Pair) (certFile, keyFile string) {
	t.Helper()
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	replace(t, certFile, p.CertPEM)
	replace(t, keyFile, p.KeyPEM)
	return certFile, keyFile
}

// loaded writes p's files and loads them with New, failing the test if New
// refuses them.
func loaded(t *testing.T, p tlsfiletest.Pair, log *slog.Logger) (l *Loader, certFile, keyFile string) {
	t.Helper()
	certFile, keyFile = files(t, p)
	l, err := New(certFile, keyFile, log)
	if err != nil {
		t.Fatal(err)
	}
	return l, certFile, keyFile
}

// serve runs an HTTPS server on l the way the serve command would, and
// returns its URL.
func serve(t *testing.T, l *Loader) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{
		Handler:   http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) }),
		TLSConfig: l.Config(),
	}
	done := make(chan error, 1)
	go func() { done <- srv.ServeTLS(ln, "", "") }()
	t.Cleanup(func() {
		srv.Close()
		if err := <-done; !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("serve: %v", err)
		}
	})
	return "https://" + ln.Addr().String() + "/"
}

// client trusts the given certificates and opens a connection per request,
// so each request sees the certificate served at that moment.
func client(trusted ...tlsfiletest.Pair) *http.Client {
	pool := x509.NewCertPool()
	for _, p := range trusted {
		pool.AddCert(p.Cert)
	}
	return &http.Client{
		Timeout: 5 * time.Second,
		Transport: &http.Transport{
			TLSClientConfig:   &tls.Config{RootCAs: pool},
			DisableKeepAlives: true,
		},
	}
}

// servedSerial makes a request and returns the serial number of the
// certificate the server presented.
func servedSerial(t *testing.T, c *http.Client, url string) int64 {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	return resp.TLS.PeerCertificates[0].SerialNumber.Int64()
}

// syncBuffer lets the test read what the server's goroutines log.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestRenewedPairIsServed(t *testing.T) {
	a, b := valid(t, 1001), valid(t, 2002)
	l, certFile, keyFile := loaded(t, a, nil)
	l.interval = 0 // every handshake checks: the renewal shows at the next one
	url := serve(t, l)
	c := client(a, b)

	if got := servedSerial(t, c, url); got != 1001 {
		t.Fatalf("serial %d, want 1001 (cert A)", got)
	}
	// Two renames, so a handshake between them sees B's certificate with
	// A's key; that must not break anything either.
	replace(t, certFile, b.CertPEM)
	if got := servedSerial(t, c, url); got != 1001 {
		t.Fatalf("serial %d with only the certificate replaced, want 1001 (cert A)", got)
	}
	replace(t, keyFile, b.KeyPEM)
	if got := servedSerial(t, c, url); got != 2002 {
		t.Fatalf("serial %d once both files were replaced, want 2002 (cert B)", got)
	}
}

// A renewal renamed over the old files within one tick of the file
// system's clock, so with the same modification times (and a key of the
// same size), is seen all the same.
func TestRenewalWithinOneClockTick(t *testing.T) {
	a, b := valid(t, 1001), valid(t, 2002)
	l, certFile, keyFile := loaded(t, a, nil)
	l.interval = 0
	url := serve(t, l)
	c := client(a, b)
	tick := time.Now().Truncate(time.Second)
	pin := func() {
		t.Helper()
		for _, f := range []string{certFile, keyFile} {
			if err := os.Chtimes(f, tick, tick); err != nil {
				t.Fatal(err)
			}
		}
	}
	pin()
	if got := servedSerial(t, c, url); got != 1001 {
		t.Fatalf("serial %d, want 1001 (cert A)", got)
	}
	replace(t, certFile, b.CertPEM)
	pin()
	servedSerial(t, c, url) // B's certificate with A's key: refused, A kept
	replace(t, keyFile, b.KeyPEM)
	pin()
	if got := servedSerial(t, c, url); got != 2002 {
		t.Fatalf("serial %d once both files were renamed over within one tick, want 2002 (cert B)", got)
	}
}

func TestHalfWrittenKeyKeepsPrevious(t *testing.T) {
	a, b := valid(t, 1001), valid(t, 2002)
	var logs syncBuffer
	l, certFile, keyFile := loaded(t, a, slog.New(slog.NewTextHandler(&logs, nil)))
	l.interval = 0 // every handshake checks, so no waiting is needed below
	url := serve(t, l)
	c := client(a, b)

	replace(t, certFile, b.CertPEM)
	if err := os.WriteFile(keyFile, b.KeyPEM[:len(b.KeyPEM)/2], 0o600); err != nil { // written in place, cut short
		t.Fatal(err)
	}
	for range 3 {
		if got := servedSerial(t, c, url); got != 1001 {
			t.Fatalf("serial %d while the key is half-written, want 1001 (cert A)", got)
		}
	}
	out := logs.String()
	if n := strings.Count(out, "level=WARN"); n != 1 {
		t.Fatalf("%d warnings for one change of the files, want 1; log:\n%s", n, out)
	}
	if !strings.Contains(out, keyFile) || !strings.Contains(out, "truncated") {
		t.Errorf("warning does not say the key file is truncated:\n%s", out)
	}

	// The rest of the key arrives.
	if err := os.WriteFile(keyFile, b.KeyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if got := servedSerial(t, c, url); got != 2002 {
		t.Fatalf("serial %d once the key is complete, want 2002 (cert B)", got)
	}
	if out := logs.String(); !strings.Contains(out, "tls certificate reloaded") {
		t.Errorf("reload not logged:\n%s", out)
	}
}

func TestChecksAtMostOncePerInterval(t *testing.T) {
	a, b := valid(t, 1001), valid(t, 2002)
	l, certFile, keyFile := loaded(t, a, nil)
	l.interval = time.Hour
	replace(t, certFile, b.CertPEM)
	replace(t, keyFile, b.KeyPEM)
	cert, err := l.GetCertificate(&tls.ClientHelloInfo{})
	if err != nil {
		t.Fatal(err)
	}
	if got := cert.Leaf.SerialNumber.Int64(); got != 1001 {
		t.Fatalf("serial %d within the interval, want 1001 (not yet checked)", got)
	}
}

func TestNewErrors(t *testing.T) {
	a, b := valid(t, 1001), valid(t, 2002)
	expired := tlsfiletest.SelfSigned(t, 3003, time.Now().Add(-time.Hour))
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	aCert, aKey := write("a.crt", a.CertPEM), write("a.key", a.KeyPEM)
	bKey := write("b.key", b.KeyPEM)
	oldCert, oldKey := write("old.crt", expired.CertPEM), write("old.key", expired.KeyPEM)
	junk := write("junk.pem", []byte("not a pem file\n"))
	missing := filepath.Join(dir, "missing.pem")

	for _, tc := range []struct {
		name              string
		certFile, keyFile string
		want              []string // all in the error
	}{
		{"missing cert", missing, aKey, []string{"certificate file", missing, "does not exist"}},
		{"missing key", aCert, missing, []string{"key file", missing, "does not exist"}},
		{"cert not PEM", junk, aKey, []string{"certificate file", junk, "no PEM certificate"}},
		{"key not PEM", aCert, junk, []string{"key file", junk, "no PEM private key"}},
		{"swapped", aKey, aCert, []string{"certificate file", aKey, "swapped"}},
		{"key does not match", aCert, bKey, []string{"key file " + bKey + " does not match certificate file " + aCert}},
		{"expired", oldCert, oldKey, []string{"certificate file", oldCert, "expired at"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, err := New(tc.certFile, tc.keyFile, nil)
			if err == nil {
				t.Fatalf("New succeeded (%v), want an error", l)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}
