package launch

import (
	"context"
	"errors"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"prewarm/client"
	// The tests run the program Build makes; importing it tells go test's
	// cache that their result depends on its code.
	_ "prewarm/internal/cli"
)

var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "prewarm-launch-")
	if err != nil {
		panic(err)
	}
	if binary, err = Build(context.Background(), dir); err != nil {
		os.RemoveAll(dir)
		panic(err)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

const key = "launch-test-key-0123"

// serve reads its address from its log, answers, is stopped by a signal
// and restarts on the same data directory with its state.
func TestServeStopRestart(t *testing.T) {
	dir := t.TempDir()
	p, err := Serve(t.Context(), Options{Binary: binary, Args: []string{"--api-key", key, "--data-dir", dir,
		"--dns-server", "127.0.0.1:1", "--listen", "127.0.0.1:1"}}) // the launcher's --listen wins
	if err != nil {
		t.Fatal(err)
	}
	defer p.Kill()
	if !strings.HasPrefix(p.URL, "http://127.0.0.1:") || p.URL == "http://127.0.0.1:1" || p.PID() <= 0 {
		t.Fatalf("URL %q, pid %d", p.URL, p.PID())
	}
	c, err := client.New(p.URL, key)
	if err != nil {
		t.Fatal(err)
	}
	sub, err := c.Submit(t.Context(), client.JobRequest{URLs: []string{"https://www.example.com/"}, CFDomain: "d1.cloudfront.net"})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Stop(); err != nil {
		t.Fatalf("stop: %v\n%s", err, p.Log())
	}
	if p.PID() != 0 {
		t.Fatal("a stopped process still has a pid")
	}
	if err := p.Stop(); err != nil {
		t.Fatalf("a second stop: %v", err)
	}
	first := p.URL
	if err := p.Restart(t.Context()); err != nil {
		t.Fatal(err)
	}
	if c, err = client.New(p.URL, key); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Progress(t.Context(), sub.RequestID); err != nil {
		t.Fatalf("the job of the first run, after the restart at %s (was %s): %v", p.URL, first, err)
	}
	if n := strings.Count(p.Log(), `"msg":"prewarm serving"`); n != 2 {
		t.Fatalf("the log holds %d serving records across the restart, want 2:\n%s", n, p.Log())
	}
	if err := p.Restart(t.Context()); err == nil {
		t.Fatal("a running process restarted")
	}
	pid := p.PID()
	if err := p.Kill(); err != nil {
		t.Fatalf("kill: %v", err)
	}
	if err := syscall.Kill(pid, 0); err == nil {
		t.Fatalf("process %d still exists after Kill", pid)
	}
}

// A serve that cannot start is an error with its log, at once.
func TestServeThatExits(t *testing.T) {
	start := time.Now()
	_, err := Serve(t.Context(), Options{Binary: binary, Args: []string{"--data-dir", t.TempDir()}})
	if err == nil || !strings.Contains(err.Error(), "exited before serving") || !strings.Contains(err.Error(), "--api-key") {
		t.Fatalf("serve without a key: %v", err)
	}
	if time.Since(start) > 20*time.Second {
		t.Fatalf("took %v to notice", time.Since(start))
	}
}

func TestOptionsAreChecked(t *testing.T) {
	if _, err := Serve(t.Context(), Options{}); err == nil || !strings.Contains(err.Error(), "Binary") {
		t.Errorf("no binary: %v", err)
	}
	if _, err := Serve(t.Context(), Options{Binary: binary, LogLevel: "warn"}); err == nil || !strings.Contains(err.Error(), "LogLevel") {
		t.Errorf("a level that hides the address: %v", err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := Serve(ctx, Options{Binary: binary, Args: []string{"--api-key", key, "--data-dir", t.TempDir()}})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("a cancelled start: %v", err)
	}
}
