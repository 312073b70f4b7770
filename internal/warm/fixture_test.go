package warm_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"prewarm/internal/store/storetest"
	"prewarm/internal/warm"
	"prewarm/internal/warm/warmtest"
)

// The planner's and the service's tests run over the real SQLite store,
// opened inside a synctest bubble so that probe times, budgets and
// deadlines run in fake time; a recording enqueuer stands in for River.

var discard = slog.New(slog.DiscardHandler)

type env struct{ *warmtest.Env }

func newEnv(t *testing.T) *env { return &env{warmtest.NewEnv(t)} }

func urlOf(i int) string { return fmt.Sprintf("https://www.example.test/v/%d.ts", i) }

func urlList(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = urlOf(i)
	}
	return out
}

// submit records a job as the API does: CREATED, with its URLs, its
// planning and timeout queued.
func (e *env) submit(id string, urls []string, timeout time.Duration, edit func(*warm.Job)) *warm.Job {
	e.T.Helper()
	now := time.Now()
	j := &warm.Job{ID: id, Status: warm.StatusCreated, CFDomain: "d1.cloudfront.net", TargetType: "pop",
		Targets: []warm.Target{{Code: "AAA1-P1", Explicit: true}}, Headers: []string{"X-A: 1"},
		Timeout: timeout, URLCount: len(urls), CreatedAt: now, UpdatedAt: now, TimeoutAt: now.Add(timeout)}
	if edit != nil {
		edit(j)
	}
	e.Must(e.St.CreateJob(e.Ctx, j, urls))
	return j
}

func (e *env) batch(jobID string, seq int) warm.Batch {
	e.T.Helper()
	b, err := e.St.Batch(e.Ctx, jobID, seq)
	e.Must(err)
	return b
}

func pop(code string, addrs ...string) warm.POPState {
	return warm.POPState{Code: code, Explicit: true, Addresses: addrs}
}

// resolver answers a fixed list of POPs and counts its calls.
type resolver struct {
	pops  []warm.POPState
	mu    sync.Mutex
	calls int
	// strangers are the hosts HostWarnings warns of; checked lists the
	// hosts it was asked about.
	strangers map[string]bool
	checked   []string
}

func (r *resolver) HostWarnings(_ context.Context, cfDomain string, hosts []string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.checked = append(r.checked, hosts...)
	var out []string
	for _, h := range hosts {
		if r.strangers[h] {
			out = append(out, h+" is not "+cfDomain)
		}
	}
	return out
}

func (r *resolver) Resolve(context.Context, string, []warm.Target) []warm.POPState {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls++
	return slices.Clone(r.pops)
}

func (r *resolver) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.calls
}

// prober is a fake edge for the size probe. A probe takes delay of fake
// time (or until its context ends); a URL in status answers that HTTP
// status, one in silent gets no answer at all, the rest are 1000 bytes.
type prober struct {
	delay  time.Duration
	status map[string]int
	silent map[string]bool
	// refuse: the status an address answers every URL with, as a POP
	// that geo-blocks would.
	refuse map[string]int

	mu    sync.Mutex
	calls map[string]int
	reqs  []warm.FetchRequest
}

const probedSize = 1000

func (p *prober) Probe(ctx context.Context, r warm.FetchRequest) (int64, warm.Result) {
	p.mu.Lock()
	if p.calls == nil {
		p.calls = map[string]int{}
	}
	p.calls[r.URL]++
	p.reqs = append(p.reqs, r)
	p.mu.Unlock()
	if p.delay > 0 {
		t := time.NewTimer(p.delay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			return -1, warm.Result{Error: ctx.Err().Error()}
		}
	}
	switch {
	case p.silent[r.URL]:
		return -1, warm.Result{Error: "connection refused"}
	case len(r.Addresses) > 0 && p.refuse[r.Addresses[0]] != 0:
		code := p.refuse[r.Addresses[0]]
		return -1, warm.Result{StatusCode: code, Error: fmt.Sprintf("HTTP %d", code)}
	case p.status[r.URL] != 0:
		code := p.status[r.URL]
		return -1, warm.Result{StatusCode: code, Error: fmt.Sprintf("HTTP %d", code)}
	}
	return probedSize, warm.Result{OK: true, StatusCode: 200}
}

func (p *prober) count(url string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.calls[url]
}

func (p *prober) total() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.reqs)
}

// expander answers a fixed expansion or error.
type expander struct {
	urls []string
	err  error
	// then, when set, is what the second and later reads answer (the
	// documents changed at the POP); seen records, per read, a note from
	// the test's hook.
	then []string
	hook func() string
	seen []string

	via   warm.POPState
	limit int
	calls int
}

func (x *expander) Expand(_ context.Context, _ *warm.Job, via warm.POPState, _ []string, limit int) ([]string, error) {
	x.calls++
	x.via, x.limit = via, limit
	if x.hook != nil {
		x.seen = append(x.seen, x.hook())
	}
	if x.then != nil && x.calls > 1 {
		return x.then, x.err
	}
	return x.urls, x.err
}

// invalidator clears caches, or fails with err; it notes how many batches
// were queued when it was called.
type invalidator struct {
	err    error
	q      *storetest.Recorder
	calls  int
	before int // batches queued before the first call
	urls   []string
}

func (v *invalidator) Invalidate(_ context.Context, _ *warm.Job, pops []warm.POPState, urls []string) (string, error) {
	if v.calls == 0 {
		v.before = len(v.q.Batches())
	}
	v.calls++
	v.urls = urls
	if v.err != nil {
		return "", v.err
	}
	return fmt.Sprintf("invalidated %d paths at %d POPs", len(urls), len(pops)), nil
}

// planner plans over e's store with the given fakes: chunks of 4 URLs,
// batches of 2, two probes at once, an hour's budget.
func (e *env) planner(r *resolver, p *prober) *warm.Planner {
	return &warm.Planner{
		Store: e.St, Resolver: r, Prober: p, Invalidator: &invalidator{q: e.Q}, Expander: &expander{},
		MaxURLs: 1000, Log: discard, Now: time.Now,
		ChunkSize: 4, BatchSize: 2, ProbeConcurrency: 2, Budget: time.Hour,
	}
}

// wantNotFound fails the test unless err says the job does not exist.
func wantNotFound(t *testing.T, err error) {
	t.Helper()
	if !errors.Is(err, warm.ErrNotFound) {
		t.Fatalf("an unknown job: %v, want not found", err)
	}
}
