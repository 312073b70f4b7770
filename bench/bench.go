package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http/httptrace"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"prewarm/client"
	"prewarm/internal/launch"
	"prewarm/internal/minicdn"
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
	agents   int // started so far
}

func newBench(runs int) (*bench, error) {
	dir, err := os.MkdirTemp("", "prewarm-bench-")
	if err != nil {
		return nil, err
	}
	b := &bench{runs: runs, dir: dir}
	if b.binary, err = launch.Build(context.Background(), dir); err != nil {
		os.RemoveAll(dir)
		return nil, err
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

// serve is a running `prewarm serve` and a client of its API.
type serve struct {
	*launch.Process
	*client.Client
}

func (b *bench) startServe(args ...string) (*serve, error) {
	p, err := launch.Serve(context.Background(), launch.Options{Binary: b.binary, StopGrace: time.Minute,
		Args: append([]string{"--api-key", apiKey}, args...)})
	if err != nil {
		return nil, err
	}
	c, err := client.New(p.URL, apiKey)
	if err != nil {
		p.Kill()
		return nil, err
	}
	return &serve{p, c}, nil
}

// startAgent starts a `prewarm agent` process.
func (b *bench) startAgent(args ...string) (*agentProc, error) {
	opts := launch.Options{Binary: b.binary, StopGrace: time.Minute, Args: args}
	if agentLogs != "" {
		opts.LogLevel = "debug"
	}
	p, err := launch.Agent(context.Background(), opts)
	if err != nil {
		return nil, err
	}
	b.agents++
	return &agentProc{Process: p, n: b.agents}, nil
}

// agentLogs is -agent-logs: where agents' debug logs go, if anywhere.
var agentLogs string

// agentProc is an agent the bench started; Stop keeps its log under
// -agent-logs.
type agentProc struct {
	*launch.Process
	n int
}

func (a *agentProc) Stop() error {
	err := a.Process.Stop()
	if agentLogs != "" {
		path := filepath.Join(agentLogs, fmt.Sprintf("agent-%d.log", a.n))
		if werr := os.WriteFile(path, []byte(a.Log()), 0o644); werr != nil {
			fmt.Fprintln(os.Stderr, "bench: -agent-logs:", werr)
		} else {
			fmt.Fprintln(os.Stderr, "agent log:", path)
		}
	}
	return err
}

func (s *serve) stop() { s.Stop() }

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

// submit starts a job and returns its id and how long the server took to
// accept it: from sending the request to the answer's first byte, so the
// client's own encoding of a large URL list is not counted.
func (s *serve) submit(ctx context.Context, job client.JobRequest) (string, time.Duration, error) {
	var sent, answered time.Time
	ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		GetConn:              func(string) { sent = time.Now() },
		GotFirstResponseByte: func() { answered = time.Now() },
	})
	ans, err := s.Submit(ctx, job)
	if err != nil {
		return "", 0, err
	}
	return ans.RequestID, answered.Sub(sent), nil
}

// wait polls until the job ends and returns its last progress.
func (s *serve) wait(ctx context.Context, id string, timeout time.Duration) (*client.ProgressResponse, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	return s.Wait(ctx, id, &client.WaitOptions{Interval: 10 * time.Millisecond})
}

// warm runs a job from POST until a client sees it FINISHED with nothing
// failed, and returns its id and its tasks per second over that time.
func (s *serve) warm(ctx context.Context, job client.JobRequest) (string, float64, error) {
	start := time.Now()
	id, _, err := s.submit(ctx, job)
	if err != nil {
		return "", 0, err
	}
	p, err := s.wait(ctx, id, 20*time.Minute)
	if err != nil {
		return id, 0, err
	}
	if p.Status != client.StatusFinished || p.FailedCount != 0 {
		return id, 0, fmt.Errorf("job %s: %+v", id, p)
	}
	return id, float64(p.TotalCount) / time.Since(start).Seconds(), nil
}

// stage is a case's mini CDN and the prewarm serving it, on the embedded
// database in a data directory named for the case.
type stage struct {
	cdn   *minicdn.CDN
	codes []string
	srv   *serve
}

// setUp announces a case and starts its CDN of specs and a serve on it,
// with extra flags.
func (b *bench) setUp(title, name string, specs []minicdn.POPSpec, extra ...string) (*stage, error) {
	fmt.Fprintln(os.Stderr, title)
	cdn, err := minicdn.Start(context.Background(), minicdn.Options{POPs: specs})
	if err != nil {
		return nil, err
	}
	st := &stage{cdn: cdn}
	for _, s := range specs {
		st.codes = append(st.codes, s.Code)
	}
	st.srv, err = b.startServe(append(fetchArgs(cdn, filepath.Join(b.dir, name), ""), extra...)...)
	if err != nil {
		cdn.Close()
		return nil, err
	}
	return st, nil
}

func (st *stage) close() {
	st.srv.stop()
	st.cdn.Close()
}

// popSpecs are n POPs named BEN1-P1, BEN2-P1, …, each with the spec edit
// gives it (nil: none).
func popSpecs(n int, edit func(i int, s *minicdn.POPSpec)) []minicdn.POPSpec {
	specs := make([]minicdn.POPSpec, n)
	for i := range specs {
		specs[i] = minicdn.POPSpec{Code: fmt.Sprintf("BEN%d-P1", i+1)}
		if edit != nil {
			edit(i, &specs[i])
		}
	}
	return specs
}
