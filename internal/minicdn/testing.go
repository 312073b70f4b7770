package minicdn

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// sbinDirs are searched after PATH because Debian installs nginx and
// varnishd in /usr/sbin, which is often missing from a non-root PATH.
var sbinDirs = []string{"/usr/sbin", "/usr/local/sbin", "/sbin"}

// debPackage names the Debian package that provides each binary, for
// actionable skip/fatal messages.
var debPackage = map[string]string{
	"nginx":    "nginx-light",
	"varnishd": "varnish",
	"wrk":      "wrk",
}

// findBinary locates name on PATH or in the sbin directories.
func findBinary(name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	for _, d := range sbinDirs {
		p := filepath.Join(d, name)
		if st, err := os.Stat(p); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("minicdn: %s not found on PATH or in %v: %w", name, sbinDirs, exec.ErrNotFound)
}

// Require skips the test when a binary is missing, so that developers
// without nginx/varnish can still run the rest of the suite. Under CI=true a
// missing binary is a failure instead: CI is supposed to have installed it,
// and a silent skip would hide that end-to-end tests never ran.
func Require(t testing.TB, binaries ...string) {
	t.Helper()
	for _, b := range binaries {
		if _, err := findBinary(b); err == nil {
			continue
		}
		pkg := debPackage[b]
		if pkg == "" {
			pkg = b
		}
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true: %s is required; install %s", b, pkg)
			return
		}
		t.Skipf("%s not found on PATH or in /usr/sbin; install %s to run this test", b, pkg)
		return
	}
}

// Binaries lists the executables Start needs for opts.
func Binaries(opts Options) []string {
	var ng, vn bool
	for _, p := range opts.POPs {
		if p.Dead {
			continue
		}
		switch p.Kind {
		case Varnish:
			vn = true
		default:
			ng = true
		}
	}
	var out []string
	if ng {
		out = append(out, "nginx")
	}
	if vn {
		out = append(out, "varnishd")
	}
	return out
}

// StartT starts a CDN for a test: Require()s the binaries opts needs,
// fails the test on error and closes the CDN in t.Cleanup.
func StartT(t testing.TB, opts Options) *CDN {
	t.Helper()
	Require(t, Binaries(opts)...)
	// Not t.Context(): it is cancelled before Cleanup runs, and start-up
	// under a loaded CI machine (VCL compilation) deserves its own bound.
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	c, err := Start(ctx, opts)
	if err != nil {
		if errors.Is(err, exec.ErrNotFound) && os.Getenv("CI") != "true" {
			t.Skipf("minicdn: %v", err)
		}
		t.Fatalf("minicdn.Start: %v", err)
	}
	t.Cleanup(func() {
		if err := c.Close(); err != nil {
			t.Errorf("minicdn close: %v", err)
		}
	})
	return c
}

// StartDNST starts a DNS server for a test: it fails the test on error and
// closes the server in t.Cleanup.
func StartDNST(t testing.TB) *DNSServer {
	t.Helper()
	dns, err := StartDNS()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = dns.Close() })
	return dns
}
