package minicdn

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"time"
)

// certNames are the names the POP certificate covers. The wildcard
// *.example.test lets tests invent further site hosts (and covers the
// CustomDomain); *.cloudfront.net covers the distribution's own domain the way
// the real CloudFront certificate does.
var certNames = []string{"www.example.test", "static.example.test", "*.example.test", "*.cloudfront.net"}

// certFiles are the paths of the PEM files written by writeCerts.
type certFiles struct {
	caFile   string
	certFile string
	keyFile  string
	caPEM    []byte
}

// writeCerts makes a throw-away CA and a leaf signed by it and writes both to
// dir. A fresh CA per CDN means nothing outside this process ever trusts it,
// so tests never touch the system trust store.
func writeCerts(dir string) (certFiles, error) {
	now := time.Now()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return certFiles{}, fmt.Errorf("generate CA key: %w", err)
	}
	caTmpl := &x509.Certificate{
		SerialNumber:          randomSerial(),
		Subject:               pkix.Name{CommonName: "minicdn test CA", Organization: []string{"prewarm minicdn"}},
		NotBefore:             now.Add(-time.Hour), // tolerate small clock skew between processes
		NotAfter:              now.Add(30 * 24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return certFiles{}, fmt.Errorf("create CA certificate: %w", err)
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		return certFiles{}, fmt.Errorf("parse CA certificate: %w", err)
	}

	leafKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return certFiles{}, fmt.Errorf("generate leaf key: %w", err)
	}
	leafTmpl := &x509.Certificate{
		SerialNumber: randomSerial(),
		Subject:      pkix.Name{CommonName: certNames[0]},
		DNSNames:     certNames,
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(30 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTmpl, caCert, &leafKey.PublicKey, caKey)
	if err != nil {
		return certFiles{}, fmt.Errorf("create leaf certificate: %w", err)
	}
	leafKeyDER, err := x509.MarshalPKCS8PrivateKey(leafKey)
	if err != nil {
		return certFiles{}, fmt.Errorf("marshal leaf key: %w", err)
	}

	cf := certFiles{
		caFile:   filepath.Join(dir, "ca.pem"),
		certFile: filepath.Join(dir, "pop.pem"),
		keyFile:  filepath.Join(dir, "pop.key"),
		caPEM:    pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}),
	}
	// The served chain includes the CA so that clients which only trust the
	// CA by pool still see a complete path, as with a real CDN's chain.
	chain := append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: leafDER}), cf.caPEM...)
	files := []struct {
		path string
		data []byte
		mode os.FileMode
	}{
		{cf.caFile, cf.caPEM, 0o644},
		{cf.certFile, chain, 0o644},
		{cf.keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: leafKeyDER}), 0o600},
	}
	for _, f := range files {
		if err := os.WriteFile(f.path, f.data, f.mode); err != nil {
			return certFiles{}, fmt.Errorf("write %s: %w", f.path, err)
		}
	}
	return cf, nil
}

func randomSerial() *big.Int {
	// 128 random bits: uniqueness only matters to keep TLS stacks that cache
	// by issuer+serial from confusing two CDNs' certificates.
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return big.NewInt(time.Now().UnixNano())
	}
	return n
}
