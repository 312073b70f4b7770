package e2e

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"prewarm/client"
	"prewarm/internal/tlsfile/tlsfiletest"
)

// serve --tls-cert/--tls-key speaks HTTPS with the certificate, and a
// renewed certificate written over the files is served without a restart.
func TestServeTLS(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	pool := x509.NewCertPool()
	first := writeCert(t, certFile, keyFile, 1, pool)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	addr, log := serveRaw(t, ctx, "serve", "--api-key", apiKey, "--data-dir", t.TempDir(), "--listen", "127.0.0.1:0",
		"--tls-cert", certFile, "--tls-key", keyFile)
	if addr == "" {
		t.Fatalf("serve with TLS did not serve:\n%s", log())
	}
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, DisableKeepAlives: true}}
	serial := func() *big.Int {
		resp, err := hc.Get("https://" + addr + "/healthz")
		if err != nil {
			t.Fatalf("HTTPS: %v", err)
		}
		resp.Body.Close()
		return resp.TLS.PeerCertificates[0].SerialNumber
	}
	if got := serial(); got.Cmp(first) != 0 {
		t.Fatalf("serial %v, want %v", got, first)
	}
	c, err := client.New("https://"+addr, apiKey, client.WithHTTPClient(hc))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Jobs(ctx, client.JobFilter{}); err != nil {
		t.Fatalf("the API over HTTPS: %v", err)
	}
	if resp, err := http.Get("http://" + addr + "/healthz"); err == nil && resp.StatusCode == 200 {
		t.Fatal("plain HTTP answered 200 on the TLS port")
	}
	renewed := writeCert(t, certFile, keyFile, 2, pool)
	eventually(t, 10*time.Second, 100*time.Millisecond, func() error {
		if got := serial(); got.Cmp(renewed) != 0 {
			return fmt.Errorf("the renewed certificate (serial %v) was not served: serial %v", renewed, got)
		}
		return nil
	})
}

// writeCert writes a self-signed certificate for 127.0.0.1 with serial n
// over the pair (by rename, as renewal tools do), trusts it in pool and
// returns its serial.
func writeCert(t *testing.T, certFile, keyFile string, n int64, pool *x509.CertPool) *big.Int {
	t.Helper()
	p := tlsfiletest.SelfSigned(t, n, time.Now().Add(time.Hour))
	pool.AddCert(p.Cert)
	for file, data := range map[string][]byte{certFile: p.CertPEM, keyFile: p.KeyPEM} {
		if err := os.WriteFile(file+".new", data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	// The key first, then the certificate: a handshake between the two
	// renames finds a mismatched pair and keeps the certificate it has.
	for _, file := range []string{keyFile, certFile} {
		if err := os.Rename(file+".new", file); err != nil {
			t.Fatal(err)
		}
	}
	return p.Cert.SerialNumber
}
