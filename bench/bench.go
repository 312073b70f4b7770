package main

import (
	"bufio"
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
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"prewarm/internal/store/pgtest"
)

const apiKey = "bench-key-0123456789"

// row is one line of the table: prewarm's figure beside its baseline.
type row struct {
	what, prewarm, baseline, ratio, bar string
}

type bench struct {
	cluster  *pgtest.Cluster
	runs     int
	curlRate float64 // the curl-per-task baseline, once measured
	dir      string
	binary   string
	rows     []row
}

func newBench(runs int) (*bench, error) {
	dir, err := os.MkdirTemp("", "prewarm-bench-")
	if err != nil {
		return nil, err
	}
	b := &bench{runs: runs, dir: dir, binary: filepath.Join(dir, "prewarm")}
	build := exec.Command("go", "build", "-o", b.binary, "./cmd/prewarm")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		return nil, fmt.Errorf("build: %w", err)
	}
	return b, nil
}

func (b *bench) close() {
	if b.cluster != nil {
		b.cluster.Close()
	}
	os.RemoveAll(b.dir)
}

// postgres returns a source of fresh database URLs, or nil for none.
func (b *bench) postgres(flag string) (func() string, error) {
	switch {
	case flag == "off":
		return nil, nil
	case strings.HasPrefix(flag, "postgres://"), strings.HasPrefix(flag, "postgresql://"):
		return func() string { return flag }, nil
	case flag != "auto":
		return nil, fmt.Errorf("-postgres %q: use auto, off or a postgres:// URL", flag)
	}
	c, err := pgtest.Start(context.Background())
	if err != nil {
		fmt.Fprintln(os.Stderr, "PostgreSQL cases skipped:", err)
		return nil, nil
	}
	b.cluster = c
	return func() string {
		u, err := c.NewDatabase(context.Background())
		if err != nil {
			panic(err)
		}
		return u
	}, nil
}

func (b *bench) add(r row) {
	b.rows = append(b.rows, r)
	fmt.Fprintf(os.Stderr, "  %s: %s (baseline %s) %s\n", r.what, r.prewarm, r.baseline, r.bar)
}

func (b *bench) print(w io.Writer) {
	fmt.Fprintf(w, "\nprewarm bench — %s, %d CPUs, %s, %s\n\n", hostModel(), runtime.NumCPU(), runtime.Version(),
		time.Now().UTC().Format("2006-01-02"))
	fmt.Fprintln(w, "| measure | prewarm | baseline | ratio | bar |")
	fmt.Fprintln(w, "|---|---|---|---|---|")
	for _, r := range b.rows {
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s |\n", r.what, r.prewarm, r.baseline, r.ratio, r.bar)
	}
}

func hostModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return runtime.GOARCH
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return runtime.GOARCH
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func percentile(xs []float64, p float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	i := int(p * float64(len(s)-1))
	return s[i]
}

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "NOT met"
}

// serve is a running `prewarm serve`.
type serve struct {
	cmd  *exec.Cmd
	url  string
	logs *bytes.Buffer
}

func (b *bench) startServe(args ...string) (*serve, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := ln.Addr().String()
	ln.Close()
	s := &serve{url: "http://" + addr, logs: &bytes.Buffer{}}
	all := append([]string{"serve", "--api-key", apiKey, "--listen", addr, "--log-level", "warn"}, args...)
	s.cmd = exec.Command(b.binary, all...)
	s.cmd.Stdout, s.cmd.Stderr = s.logs, s.logs
	if err := s.cmd.Start(); err != nil {
		return nil, err
	}
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if resp, err := http.Get(s.url + "/healthz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return s, nil
			}
		}
	}
	s.stop()
	return nil, fmt.Errorf("serve did not start: %s", s.logs.String())
}

func (s *serve) stop() {
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = s.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		_ = s.cmd.Process.Kill()
		<-done
	}
}

// peakRSS is the process's high-water resident set size, in bytes.
func peakRSS(pid int) int64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return -1
}

func (s *serve) call(ctx context.Context, method, path string, body any) (map[string]any, time.Duration, error) {
	var rd io.Reader
	if body != nil {
		j, err := json.Marshal(body)
		if err != nil {
			return nil, 0, err
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequestWithContext(ctx, method, s.url+path, rd)
	if err != nil {
		return nil, 0, err
	}
	req.Header.Set("x-api-key", apiKey)
	start := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	took := time.Since(start)
	if err != nil {
		return nil, took, err
	}
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		return nil, took, fmt.Errorf("%s %s: %d %q", method, path, resp.StatusCode, raw)
	}
	if resp.StatusCode != 200 {
		return out, took, fmt.Errorf("%s %s: %d %v", method, path, resp.StatusCode, out)
	}
	return out, took, nil
}

func (s *serve) submit(ctx context.Context, job map[string]any) (string, time.Duration, error) {
	out, took, err := s.call(ctx, "POST", "/prewarm", job)
	if err != nil {
		return "", took, err
	}
	return out["request_id"].(string), took, nil
}

// wait polls until the job ends and returns its last progress.
func (s *serve) wait(ctx context.Context, id string, timeout time.Duration) (map[string]any, error) {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		p, _, err := s.call(ctx, "GET", "/prewarm?req_id="+id, nil)
		if err != nil {
			return nil, err
		}
		switch p["status"] {
		case "FINISHED", "FAILED", "TIMEOUT", "STOPPED":
			return p, nil
		}
		time.Sleep(10 * time.Millisecond)
	}
	return nil, fmt.Errorf("job %s did not end within %v", id, timeout)
}

func num(v any) int64 { f, _ := v.(float64); return int64(f) }
