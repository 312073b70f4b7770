package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	// The tests run the binary built in TestMain, so they depend on all of
	// its code; importing it tells go test's cache so, which would
	// otherwise reuse a result until this package's own imports change.
	_ "prewarm/internal/cli"
	"prewarm/internal/minicdn"
	"prewarm/internal/store/pgtest"
)

var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "prewarm-e2e-")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "prewarm")
	build := exec.Command("go", "build", "-o", binary, "../cmd/prewarm")
	build.Stdout, build.Stderr = os.Stdout, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building prewarm:", err)
		os.Exit(1)
	}
	code := m.Run()
	pgtest.StopShared()
	os.RemoveAll(dir)
	os.Exit(code)
}

const apiKey = "test-key-0123456789"

// server is one running `prewarm serve` (or, with URL empty, `prewarm
// agent`).
type server struct {
	t       *testing.T
	URL     string
	DataDir string
	args    []string
	cmd     *exec.Cmd
	logMu   sync.Mutex
	log     *bytes.Buffer
	agent   bool
	env     []string // added to the process's environment
}

// startAgent runs `prewarm agent` on a PostgreSQL database.
func startAgent(t *testing.T, database, name string, extra ...string) *server {
	t.Helper()
	s := &server{t: t, log: &bytes.Buffer{}, agent: true}
	s.args = append([]string{"agent", "--database", database, "--name", name, "--log-level", "debug"}, extra...)
	s.start()
	t.Cleanup(func() {
		s.stop(syscall.SIGTERM)
		if t.Failed() {
			t.Logf("agent %s log:\n%s", name, s.Log())
		}
	})
	return s
}

// serveArgs are the flags that point a server at a mini CDN.
func serveArgs(cdn *minicdn.CDN) []string {
	return []string{"--dns-server", cdn.DNSAddr, "--ca-file", cdn.CAFile, "--allow-private-edges"}
}

// startServe runs `prewarm serve` on a free port with the API key, the
// given data directory (empty: a new one) and extra flags.
func startServe(t *testing.T, dataDir string, extra ...string) *server {
	t.Helper()
	return startServeEnv(t, nil, dataDir, extra...)
}

// startServeEnv is startServe with extra environment variables.
func startServeEnv(t *testing.T, env map[string]string, dataDir string, extra ...string) *server {
	t.Helper()
	if dataDir == "" {
		dataDir = t.TempDir()
	}
	s := &server{t: t, DataDir: dataDir, log: &bytes.Buffer{}}
	for k, v := range env {
		s.env = append(s.env, k+"="+v)
	}
	s.args = append([]string{"serve", "--api-key", apiKey, "--data-dir", dataDir, "--log-level", "debug"}, extra...)
	s.start()
	t.Cleanup(func() {
		s.stop(syscall.SIGTERM)
		if t.Failed() {
			t.Logf("serve log:\n%s", s.Log())
		}
	})
	return s
}

func (s *server) start() {
	s.t.Helper()
	if s.agent {
		s.cmd = exec.Command(binary, s.args...)
		w := &lockedWriter{mu: &s.logMu, w: s.log}
		s.cmd.Stdout, s.cmd.Stderr = w, w
		if err := s.cmd.Start(); err != nil {
			s.t.Fatal(err)
		}
		return
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		s.t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	s.URL = "http://" + addr
	s.cmd = exec.Command(binary, append(s.args, "--listen", addr)...)
	s.cmd.Env = append(os.Environ(), s.env...)
	w := &lockedWriter{mu: &s.logMu, w: s.log}
	s.cmd.Stdout, s.cmd.Stderr = w, w
	if err := s.cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(s.URL + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	s.t.Fatalf("serve did not become healthy:\n%s", s.Log())
}

// stop signals the process and waits for it.
func (s *server) stop(sig syscall.Signal) {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	_ = s.cmd.Process.Signal(sig)
	done := make(chan struct{})
	go func() { _ = s.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(40 * time.Second):
		_ = s.cmd.Process.Kill()
		<-done
	}
	s.cmd = nil
}

// restart starts the process again on the same data directory.
func (s *server) restart() { s.start() }

func (s *server) Log() string {
	s.logMu.Lock()
	defer s.logMu.Unlock()
	return s.log.String()
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// call sends a request with the API key and decodes a JSON answer.
func (s *server) call(method, path string, body any) (int, map[string]any) {
	s.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			s.t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, s.URL+path, rd)
	if err != nil {
		s.t.Fatal(err)
	}
	req.Header.Set("x-api-key", apiKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		s.t.Fatalf("%s %s: %d, not JSON: %q", method, path, resp.StatusCode, raw)
	}
	return resp.StatusCode, out
}

// submit posts a job and returns its id.
func (s *server) submit(job map[string]any) string {
	s.t.Helper()
	code, out := s.call("POST", "/prewarm", job)
	if code != 200 || out["status"] != "Success" {
		s.t.Fatalf("POST /prewarm: %d %v", code, out)
	}
	return out["request_id"].(string)
}

func (s *server) progress(id string) map[string]any {
	s.t.Helper()
	code, out := s.call("GET", "/prewarm?req_id="+id, nil)
	if code != 200 {
		s.t.Fatalf("GET /prewarm: %d %v", code, out)
	}
	return out
}

// wait polls a job until its status is one of want, and returns its progress.
func (s *server) wait(id string, timeout time.Duration, want ...string) map[string]any {
	s.t.Helper()
	deadline := time.Now().Add(timeout)
	var p map[string]any
	for time.Now().Before(deadline) {
		p = s.progress(id)
		for _, w := range want {
			if p["status"] == w {
				return p
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	s.t.Fatalf("job %s not %v after %v: %v", id, want, timeout, p)
	return nil
}

func num(v any) int64 {
	f, _ := v.(float64)
	return int64(f)
}

// csv fetches a URL (a report link) without the API key.
func fetchBody(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// checkHits fetches every URL through every POP as a viewer and requires a
// cache HIT.
func checkHits(t *testing.T, cdn *minicdn.CDN, pops []*minicdn.POP, urls []string) {
	t.Helper()
	for _, pop := range pops {
		for _, u := range urls {
			r, err := cdn.ViewerGet(context.Background(), pop, u, http.Header{"Accept-Encoding": {"gzip, deflate, br"}})
			if err != nil {
				t.Fatalf("viewer GET %s via %s: %v", u, pop.Code, err)
			}
			if !r.Hit {
				t.Errorf("%s via %s: not a HIT after the warm (status %d, headers %v)", u, pop.Code, r.Status, r.Header)
			}
		}
	}
}
