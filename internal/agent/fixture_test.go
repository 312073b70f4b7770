package agent

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"prewarm/internal/warm"
	"prewarm/internal/warm/warmtest"
)

// The tests of this package run in synctest bubbles: fetches, heartbeats,
// budgets and deadlines take fake time, and the store is the real SQLite
// one, opened inside the bubble and closed before it ends. The queue is
// River; it is left out (a recording enqueuer and a fake Queue stand in for
// it), since River's own clients do not belong in a bubble.

var discard = slog.New(slog.DiscardHandler)

// env is a test's store.
type env struct{ *warmtest.Env }

// newEnv opens a fresh SQLite store; it is closed when the test ends.
func newEnv(t *testing.T) *env { return &env{warmtest.NewEnv(t)} }

var (
	popA = warm.POPState{Code: "AAA1-P1", Explicit: true, Addresses: []string{"192.0.2.1", "192.0.2.2"}}
	popB = warm.POPState{Code: "BBB1-P1", Explicit: true, Addresses: []string{"198.51.100.7"}}
)

// jobSpec describes a planned job: n URLs, every one through each POP in a
// single batch (seq = the POP's position), all probed fine.
type jobSpec struct {
	id        string
	urls      int
	pops      []warm.POPState // default: popA
	timeout   time.Duration   // default: 30 minutes
	headers   []string
	encodings []string
	verify    bool
	keepWarm  time.Duration // keep_warm_until, from now; 0: none
}

func urlOf(i int) string { return fmt.Sprintf("https://www.example.test/assets/%d.js", i) }

// plan records a job as the planner would leave it: IN_PROGRESS, POPs
// saved, batches queued, every URL probed.
func (e *env) plan(js jobSpec) *warm.Job {
	e.T.Helper()
	if js.pops == nil {
		js.pops = []warm.POPState{popA}
	}
	if js.timeout == 0 {
		js.timeout = 30 * time.Minute
	}
	now := time.Now()
	urls := make([]string, js.urls)
	for i := range urls {
		urls[i] = urlOf(i)
	}
	job := &warm.Job{ID: js.id, Status: warm.StatusCreated, CFDomain: "d1.cloudfront.net", TargetType: "pop",
		Headers: js.headers, Encodings: js.encodings, Verify: js.verify, Timeout: js.timeout, URLCount: js.urls,
		CreatedAt: now, UpdatedAt: now, TimeoutAt: now.Add(js.timeout)}
	if js.keepWarm > 0 {
		job.KeepWarmUntil = now.Add(js.keepWarm)
	}
	for _, p := range js.pops {
		job.Targets = append(job.Targets, warm.Target{Code: p.Code, Explicit: true})
	}
	e.Must(e.St.CreateJob(e.Ctx, job, urls))
	_, err := e.St.Transition(e.Ctx, js.id, []warm.Status{warm.StatusCreated}, warm.StatusInProgress, "")
	e.Must(err)
	e.Must(e.St.SavePOPs(e.Ctx, js.id, js.pops))
	chunk := warm.PlanChunk{PlannedURLs: js.urls}
	probed := warm.ProbeChunk{ProbedURLs: js.urls}
	for i, u := range urls {
		chunk.URLs = append(chunk.URLs, warm.URL{Index: i, URL: u, Size: -1})
		probed.URLs = append(probed.URLs, warm.URL{Index: i, URL: u, Size: 100, Probed: true})
	}
	for seq, p := range js.pops {
		chunk.Batches = append(chunk.Batches, warm.Batch{JobID: js.id, Seq: seq, POP: p.Code, From: 0, To: js.urls, Location: p.Location})
	}
	e.Must(e.St.SavePlanChunk(e.Ctx, js.id, chunk))
	e.Must(e.St.FinishPlanning(e.Ctx, js.id))
	e.Must(e.St.SaveProbeChunk(e.Ctx, js.id, probed))
	e.Must(e.St.FinishProbing(e.Ctx, js.id))
	job, err = e.St.Job(e.Ctx, js.id)
	e.Must(err)
	return job
}

// wantFinished fails the test unless jobID is FINISHED with done tasks
// done.
func (e *env) wantFinished(jobID string, done int64) {
	e.T.Helper()
	if p := e.Progress(jobID); p.Status != warm.StatusFinished || p.Done != done {
		e.T.Fatalf("%s with %d done, want FINISHED with %d", p.Status, p.Done, done)
	}
}

// batchRow is a batch as the store keeps it.
type batchRow struct {
	state         warm.BatchState
	agent         string
	claimed, done int
}

func (e *env) batch(jobID string, seq int) batchRow {
	e.T.Helper()
	var b batchRow
	var state string
	e.Must(e.DB.Reader().QueryRow(e.Ctx, `SELECT state, agent, claimed, done FROM batches WHERE job_id = $1 AND seq = $2`,
		jobID, seq).Scan(&state, &b.agent, &b.claimed, &b.done))
	b.state = warm.BatchState(state)
	return b
}

// wantBatch fails the test unless batch seq of jobID is in state.
func (e *env) wantBatch(jobID string, seq int, state warm.BatchState) {
	e.T.Helper()
	if b := e.batch(jobID, seq); b.state != state {
		e.T.Fatalf("batch %d of %s is %s, want %s", seq, jobID, b.state, state)
	}
}

// tasks are the job's recorded tasks.
func (e *env) tasks(jobID string) []warm.TaskRow {
	e.T.Helper()
	var out []warm.TaskRow
	e.Must(e.St.Tasks(e.Ctx, jobID, warm.TaskFilter{}, func(r warm.TaskRow) error {
		out = append(out, r)
		return nil
	}))
	return out
}

func (e *env) stop(jobID string) {
	e.T.Helper()
	ok, err := e.St.Transition(e.Ctx, jobID, []warm.Status{warm.StatusInProgress}, warm.StatusStopped, "stopped by request")
	e.Must(err)
	if !ok {
		e.T.Fatalf("job %s was not running", jobID)
	}
}

// fetcher is a fake edge. A fetch takes delay(URL) of (fake) time, or
// until its context ends; it records every request and how many fetches
// were in flight at once.
type fetcher struct {
	delay func(url string) time.Duration // nil: one second

	mu          sync.Mutex
	reqs        []warm.FetchRequest
	aborted     []string
	inFlight    int
	maxInFlight int
}

func (f *fetcher) Fetch(ctx context.Context, r warm.FetchRequest) warm.Result {
	f.mu.Lock()
	f.reqs = append(f.reqs, r)
	f.inFlight++
	f.maxInFlight = max(f.maxInFlight, f.inFlight)
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		f.inFlight--
		f.mu.Unlock()
	}()
	d := time.Second
	if f.delay != nil {
		d = f.delay(r.URL)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
		f.mu.Lock()
		f.aborted = append(f.aborted, r.URL)
		f.mu.Unlock()
		return warm.Result{Attempts: 1, Error: ctx.Err().Error(), Duration: d}
	}
	res := warm.Result{OK: true, StatusCode: 200, Bytes: 100, CacheStatus: "MISS", Attempts: 1, Duration: d}
	if len(r.Addresses) > 0 {
		res.EdgeIP = r.Addresses[0]
	}
	return res
}

func (f *fetcher) requests() []warm.FetchRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]warm.FetchRequest(nil), f.reqs...)
}

// fetchedURLs counts the fetches of each URL.
func (f *fetcher) fetchedURLs() map[string]int {
	out := map[string]int{}
	for _, r := range f.requests() {
		out[r.URL]++
	}
	return out
}

func (f *fetcher) abortedCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.aborted)
}

// runnerStore is what a test's runner reads and writes.
type runnerStore interface {
	BatchStore
	RecordStore
}

// newRunner is a runner over st with its own pool of concurrency fetchers
// and its own writer, both stopped when the test ends.
func newRunner(t *testing.T, st runnerStore, f Fetcher, concurrency int) *Runner {
	pool := NewPool(f, concurrency)
	t.Cleanup(pool.Close)
	r := &Runner{
		Store: st, Pool: pool, Cancels: NewCancels(), AgentID: "agent-1", Log: discard, Now: time.Now,
		FlushEvery: 100, FlushInterval: 200 * time.Millisecond, StatusInterval: time.Second,
		Budget: time.Hour, RecordTimeout: 10 * time.Second,
	}
	r.Writer = NewWriter(st, discard, r.JobEnded)
	background(t, r.Writer.Run)
	return r
}

// background runs fn until the test ends: then its context is cancelled
// and fn waited for.
func background(t *testing.T, fn func(context.Context)) {
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn(ctx)
	}()
	t.Cleanup(func() {
		stop()
		<-done
	})
}

// start runs a batch in the background; the channel yields its error. If
// the test ends first, the run is cancelled and waited for, so that a
// failing test ends cleanly.
func start(t *testing.T, ctx context.Context, r *Runner, jobID string, seq int, drain <-chan struct{}) <-chan error {
	ctx, cancel := context.WithCancel(ctx)
	done, finished := make(chan error, 1), make(chan struct{})
	go func() {
		defer close(finished)
		done <- r.Run(ctx, jobID, seq, drain)
	}()
	t.Cleanup(func() {
		cancel()
		<-finished
	})
	return done
}

// mustRun runs batch seq of jobID with a drain that never closes; the test
// fails if the run returns an error.
func (e *env) mustRun(r *Runner, jobID string, seq int) {
	e.T.Helper()
	if err := r.Run(e.Ctx, jobID, seq, open()); err != nil {
		e.T.Fatal(err)
	}
}

// open is a drain that never closes.
func open() <-chan struct{} { return make(chan struct{}) }

// advance lets fake time run for d, then waits until every goroutine of
// the bubble is blocked again.
func advance(d time.Duration) {
	time.Sleep(d)
	synctest.Wait()
}
