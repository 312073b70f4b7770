package main

import (
	"bytes"
	"strings"
	"testing"
)

// --help says what the tool does under its own name, and no usage line
// has an argument name made of quoted words.
func TestHelp(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := runMain([]string{"--help"}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, &stderr)
	}
	help := stderr.String()
	for _, want := range []string{"Usage: prewarm-image [flags]", "without a container engine", "-tarball string", "-oci string", "CGO_ENABLED=0"} {
		if !strings.Contains(help, want) {
			t.Errorf("help lacks %q:\n%s", want, help)
		}
	}
	if strings.Contains(help, "`") || strings.Contains(help, "-tarball docker") {
		t.Errorf("help quotes oddly:\n%s", help)
	}
}

func TestNothingToWrite(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := runMain(nil, &stdout, &stderr); code != 1 || !strings.Contains(stderr.String(), "--oci DIR and/or --tarball FILE") {
		t.Fatalf("exit %d: %s", code, &stderr)
	}
	if code := runMain([]string{"extra"}, &stdout, &stderr); code != 2 || !strings.Contains(stderr.String(), `unexpected argument "extra"`) {
		t.Fatalf("exit %d: %s", code, &stderr)
	}
}
