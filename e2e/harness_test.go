package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"prewarm/client"
	// The tests run the binary built in TestMain, so they depend on all of
	// its code; importing it tells go test's cache so, which would
	// otherwise reuse a result until this package's own imports change.
	_ "prewarm/internal/cli"
	"prewarm/internal/launch"
	"prewarm/internal/minicdn"
	"prewarm/internal/store/pgtest"
)

var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "prewarm-e2e-")
	if err != nil {
		panic(err)
	}
	if binary, err = launch.Build(context.Background(), dir); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	pgtest.StopShared()
	os.RemoveAll(dir)
	os.Exit(code)
}

const apiKey = "test-key-0123456789"

// server is one running `prewarm serve` and a client of its API.
type server struct {
	*launch.Process
	t *testing.T
	c *client.Client
}

// startAgent runs `prewarm agent` on a PostgreSQL database.
func startAgent(t *testing.T, database, name string, extra ...string) *launch.Process {
	t.Helper()
	p, err := launch.Agent(t.Context(), launch.Options{Binary: binary, LogLevel: "debug",
		Args: append([]string{"--database", database, "--name", name}, extra...)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		p.Stop()
		if t.Failed() {
			t.Logf("agent %s log:\n%s", name, p.Log())
		}
	})
	return p
}

// serveArgs are the flags that point a server at a mini CDN.
func serveArgs(cdn *minicdn.CDN) []string {
	return []string{"--dns-server", cdn.DNSAddr, "--ca-file", cdn.CAFile, "--allow-private-edges"}
}

// onePOP starts a mini CDN of one nginx POP, code.
func onePOP(t *testing.T, code string) *minicdn.CDN {
	t.Helper()
	return minicdn.StartT(t, minicdn.Options{POPs: []minicdn.POPSpec{{Code: code}}})
}

// serveOn runs `prewarm serve` pointed at cdn, on a new data directory,
// with extra flags.
func serveOn(t *testing.T, cdn *minicdn.CDN, extra ...string) *server {
	t.Helper()
	return startServe(t, "", append(serveArgs(cdn), extra...)...)
}

// jobAt is a job of urls through the given POPs of cdn.
func jobAt(cdn *minicdn.CDN, urls []string, pops ...string) client.JobRequest {
	return client.JobRequest{URLs: urls, CFDomain: cdn.CFDomain, POPs: pops}
}

// startServe runs `prewarm serve` with the API key, the given data
// directory (empty: a new one) and extra flags.
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
	opts := launch.Options{Binary: binary, LogLevel: "debug",
		Args: append([]string{"--api-key", apiKey, "--data-dir", dataDir}, extra...)}
	for k, v := range env {
		opts.Env = append(opts.Env, k+"="+v)
	}
	p, err := launch.Serve(t.Context(), opts)
	if err != nil {
		t.Fatal(err)
	}
	s := &server{Process: p, t: t}
	s.connect()
	t.Cleanup(func() {
		p.Stop()
		if t.Failed() {
			t.Logf("serve log:\n%s", p.Log())
		}
	})
	return s
}

// connect points the client at the process's current address.
func (s *server) connect() {
	s.t.Helper()
	c, err := client.New(s.URL, apiKey)
	if err != nil {
		s.t.Fatal(err)
	}
	s.c = c
}

// restart starts the process again on the same data directory.
func (s *server) restart() {
	s.t.Helper()
	if err := s.Restart(s.t.Context()); err != nil {
		s.t.Fatal(err)
	}
	s.connect()
}

// must fails the test on err, naming the call.
func (s *server) must(what string, err error) {
	s.t.Helper()
	if err != nil {
		s.t.Fatalf("%s: %v", what, err)
	}
}

// submit posts a job and returns its id.
func (s *server) submit(job client.JobRequest) string {
	s.t.Helper()
	ans, err := s.c.Submit(s.t.Context(), job)
	s.must("POST /prewarm", err)
	return ans.RequestID
}

func (s *server) progress(id string) *client.ProgressResponse {
	s.t.Helper()
	p, err := s.c.Progress(s.t.Context(), id)
	s.must("GET /prewarm", err)
	return p
}

func (s *server) summary(id string) *client.SummaryResponse {
	s.t.Helper()
	sum, err := s.c.Summary(s.t.Context(), id)
	s.must("GET /summary", err)
	return sum
}

func (s *server) job(id string) *client.JobResponse {
	s.t.Helper()
	j, err := s.c.Job(s.t.Context(), id)
	s.must("GET /jobs/"+id, err)
	return j
}

func (s *server) instances() *client.InstancesStatus {
	s.t.Helper()
	inst, err := s.c.Instances(s.t.Context())
	s.must("GET /instances", err)
	return inst
}

// setInstances posts to /instances and fails the test unless it succeeds.
func (s *server) setInstances(req client.InstancesRequest) *client.InstancesResponse {
	s.t.Helper()
	ans, err := s.c.SetInstances(s.t.Context(), req)
	s.must("POST /instances", err)
	return ans
}

// wait follows a job until it ends, for at most timeout.
func (s *server) wait(id string, timeout time.Duration) *client.ProgressResponse {
	s.t.Helper()
	return s.waitUntil(id, timeout, nil)
}

// waitUntil follows a job until cond holds or the job ends, for at most
// timeout.
func (s *server) waitUntil(id string, timeout time.Duration, cond func(*client.ProgressResponse) bool) *client.ProgressResponse {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(s.t.Context(), timeout)
	defer cancel()
	var last *client.ProgressResponse
	p, err := s.c.Wait(ctx, id, &client.WaitOptions{Interval: 50 * time.Millisecond, Until: cond,
		OnProgress: func(p *client.ProgressResponse) { last = p }})
	if err != nil {
		s.t.Fatalf("job %s after %v: %v; last progress %+v", id, timeout, err, last)
	}
	return p
}

// report reads a report link (signed: no API key) as text.
func (s *server) report(link string, opts client.ReportOptions) string {
	s.t.Helper()
	var b strings.Builder
	s.must("report", s.c.DownloadReport(s.t.Context(), link, opts, &b))
	return b.String()
}

// statusOf is the HTTP status of a failed API call, 0 for another error.
func statusOf(err error) int {
	var e *client.Error
	if errors.As(err, &e) {
		return e.StatusCode
	}
	return 0
}

// raw sends a request as it is and returns the status and the body: for
// the tests that check what goes over the wire on purpose (malformed
// bodies, the error body's shape, a field the client would leave out) and
// for what is not the JSON API (metrics, the dashboard). Everything else
// goes through the client. A nil header sends the API key; any other is
// sent as it is.
func (s *server) raw(method, path string, header http.Header, body any) (int, []byte) {
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
	req, err := http.NewRequestWithContext(s.t.Context(), method, s.URL+path, rd)
	if err != nil {
		s.t.Fatal(err)
	}
	if header == nil {
		header = http.Header{"X-Api-Key": {apiKey}}
	}
	req.Header = header
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		s.t.Fatal(err)
	}
	return resp.StatusCode, data
}

// rawJSON is raw for a JSON answer.
func (s *server) rawJSON(method, path string, body any) (int, map[string]any) {
	s.t.Helper()
	code, data := s.raw(method, path, nil, body)
	var out map[string]any
	if err := json.Unmarshal(data, &out); err != nil {
		s.t.Fatalf("%s %s: %d, not JSON: %q", method, path, code, data)
	}
	return code, out
}

// poll calls ok every interval until it holds or timeout has passed, and
// reports whether it held.
func poll(timeout, interval time.Duration, ok func() bool) bool {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for !ok() {
		select {
		case <-deadline.C:
			return false
		case <-tick.C:
		}
	}
	return true
}

// waitFor polls ok until it holds, failing the test after timeout.
func waitFor(t *testing.T, timeout time.Duration, ok func() bool) {
	t.Helper()
	if !poll(timeout, 20*time.Millisecond, ok) {
		t.Fatalf("condition not met after %v", timeout)
	}
}

// eventually calls check every interval until it returns nil, failing the
// test after timeout with the error it returned last.
func eventually(t *testing.T, timeout, interval time.Duration, check func() error) {
	t.Helper()
	var err error
	if !poll(timeout, interval, func() bool { err = check(); return err == nil }) {
		t.Fatalf("after %v: %v", timeout, err)
	}
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

// serveRaw runs the binary with args outside the launcher, for runs it
// cannot wait on (a serve that should fail, or serve HTTPS): it returns the
// address serve logged it listens on, or "" once the process exited
// without serving, and the log so far. The process is killed at cleanup.
func serveRaw(t *testing.T, ctx context.Context, args ...string) (addr string, log func() string) {
	t.Helper()
	cmd := exec.CommandContext(ctx, binary, args...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var buf strings.Builder
	log = func() string { mu.Lock(); defer mu.Unlock(); return buf.String() }
	found := make(chan string, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(stderr)
		listening := regexp.MustCompile(`msg="?prewarm serving"?.*listen"?[=:]"?([0-9.:\[\]]+)`)
		for sc.Scan() {
			mu.Lock()
			buf.WriteString(sc.Text() + "\n")
			mu.Unlock()
			if m := listening.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case found <- m[1]:
				default:
				}
			}
		}
	}()
	t.Cleanup(func() { _ = cmd.Process.Kill(); <-done; _ = cmd.Wait() })
	select {
	case addr = <-found:
	case <-done:
		_ = cmd.Wait()
	case <-ctx.Done():
		t.Fatalf("serve neither served nor exited: %v\n%s", ctx.Err(), log())
	}
	return addr, log
}
