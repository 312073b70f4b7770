package agent

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"prewarm/internal/warm"
)

// writes wraps the store and remembers every RecordBatches call.
type writes struct {
	runnerStore
	mu    sync.Mutex
	sizes []int // results per call that wrote some
	calls int
	last  warm.BatchState
	fail  error
}

func (w *writes) RecordBatches(ctx context.Context, ups []warm.BatchUpdate) (map[string]warm.Status, error) {
	w.mu.Lock()
	w.calls++
	n := 0
	for _, u := range ups {
		n += len(u.Results)
		if u.State != "" {
			w.last = u.State
		}
	}
	if n > 0 {
		w.sizes = append(w.sizes, n)
	}
	fail := w.fail
	w.mu.Unlock()
	if fail != nil {
		return nil, fail
	}
	return w.runnerStore.RecordBatches(ctx, ups)
}

func (w *writes) written() []int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.sizes)
}

// observed remembers what the runner reports to its observer.
type observed struct {
	mu      sync.Mutex
	results []warm.Result
}

func (o *observed) Observe(r warm.Result) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.results = append(o.results, r)
}

func TestRunnerFetchesEachTaskOnceThroughItsPOP(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		e.plan(jobSpec{id: "j1", urls: 3, pops: []warm.POPState{popA, popB}, verify: true,
			encodings: []string{"br", "gzip"}, headers: []string{"X-Token: t", "accept-encoding: identity"}})
		f := &fetcher{}
		r := newRunner(t, e.St, f, 8)
		obs := &observed{}
		r.Observer = obs

		e.mustRun(r, "j1", 1) // batch 1: popB

		reqs := f.requests()
		if len(reqs) != 6 {
			t.Fatalf("%d fetches, want 3 URLs × 2 encodings", len(reqs))
		}
		seen := map[[2]string]bool{}
		for _, q := range reqs {
			key := [2]string{q.URL, q.Variant}
			if seen[key] {
				t.Errorf("%s in %q fetched twice", q.URL, q.Variant)
			}
			seen[key] = true
			if q.POP != popB.Code || !slices.Equal(q.Addresses, popB.Addresses) || !q.Verify {
				t.Errorf("request %+v: want POP %s at %v, verified", q, popB.Code, popB.Addresses)
			}
			// The variant's Accept-Encoding replaces the job's own.
			if want := []string{"X-Token: t", "Accept-Encoding: " + q.Variant}; !slices.Equal(q.Headers, want) {
				t.Errorf("headers %q, want %q", q.Headers, want)
			}
		}
		for i := range 3 {
			for _, v := range []string{"br", "gzip"} {
				if !seen[[2]string{urlOf(i), v}] {
					t.Errorf("%s in %s never fetched", urlOf(i), v)
				}
			}
		}

		rows := e.tasks("j1")
		if len(rows) != 6 {
			t.Fatalf("%d tasks recorded, want 6", len(rows))
		}
		for _, row := range rows {
			if row.POP != popB.Code || !row.OK || row.URL != urlOf(row.URLIndex) || row.At.IsZero() {
				t.Errorf("recorded %+v", row)
			}
		}
		p := e.Progress("j1")
		if p.Done != 6 || p.OK != 6 || p.Failed != 0 || p.InProgress != 0 {
			t.Fatalf("counts %+v, want 6 done and ok", p.Counts)
		}
		if b := e.batch("j1", 1); b.state != warm.BatchDone || b.agent != "agent-1" {
			t.Fatalf("batch %+v, want done by agent-1", b)
		}
		e.wantBatch("j1", 0, warm.BatchPending)
		if len(obs.results) != 6 || obs.results[0].POP != popB.Code {
			t.Fatalf("observer heard %d results", len(obs.results))
		}
	})
}

func TestVariantHeadersKeepTheJobsHeadersWithoutAVariant(t *testing.T) {
	h := []string{"X-A: 1", "Accept-Encoding: identity"}
	if got := variantHeaders(h, ""); !slices.Equal(got, h) {
		t.Fatalf("%q", got)
	}
	if got := variantHeaders(h, "br"); !slices.Equal(got, []string{"X-A: 1", "Accept-Encoding: br"}) {
		t.Fatalf("%q", got)
	}
	if !slices.Equal(h, []string{"X-A: 1", "Accept-Encoding: identity"}) {
		t.Fatalf("the job's headers were changed: %q", h)
	}
}

func TestRunnerWritesResultsInBulk(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		e.plan(jobSpec{id: "j1", urls: 10})
		// Every fetch ends at once, between two ticks of the flush
		// interval: only FlushEvery splits the writes.
		f := &fetcher{delay: func(string) time.Duration { return 1050 * time.Millisecond }}
		w := &writes{runnerStore: e.St}
		r := newRunner(t, w, f, 10)
		r.FlushEvery = 4

		e.mustRun(r, "j1", 0)
		// The runner hands over 4, 4, then 2; a write carries one or more
		// handovers, whole, in order.
		sum := 0
		for _, n := range w.written() {
			if sum += n; sum != 4 && sum != 8 && sum != 10 {
				t.Fatalf("writes of %v results: not whole handovers of 4, 4 and 2", w.written())
			}
		}
		if sum != 10 {
			t.Fatalf("writes of %v results, want 10 in all", w.written())
		}
		if w.last != warm.BatchDone {
			t.Fatalf("last write left the batch %s", w.last)
		}
		e.wantFinished("j1", 10)
	})
}

// A batch with a slow task records the others every flush interval, so
// progress moves while the slow one runs.
func TestRunnerRecordsWhatItHasEveryFlushInterval(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		e.plan(jobSpec{id: "j1", urls: 3})
		f := &fetcher{delay: func(u string) time.Duration {
			if u == urlOf(2) {
				return 10 * time.Second
			}
			return 50 * time.Millisecond
		}}
		r := newRunner(t, e.St, f, 3)
		begin := time.Now()
		done := start(t, e.Ctx, r, "j1", 0, open())

		// The quick two end at 50ms and are written at the 200ms tick,
		// well before the status interval.
		advance(500 * time.Millisecond)
		if p := e.Progress("j1"); p.Done != 2 || p.InProgress != 1 {
			t.Fatalf("after 500ms: %d done, %d in progress; want 2 and 1", p.Done, p.InProgress)
		}
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if d := time.Since(begin); d != 10*time.Second {
			t.Fatalf("the batch took %v, want the slow task's 10s", d)
		}
		if p := e.Progress("j1"); p.Done != 3 || p.InProgress != 0 {
			t.Fatalf("%d done, %d in progress at the end", p.Done, p.InProgress)
		}
	})
}

// Two runs of one batch at once (a rescued batch whose agent was only
// slow) both fetch everything; each task still counts once.
func TestRunnerCountsABatchRunTwiceOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		e.plan(jobSpec{id: "j1", urls: 5})
		f := &fetcher{}
		r := newRunner(t, e.St, f, 10)

		first, second := start(t, e.Ctx, r, "j1", 0, open()), start(t, e.Ctx, r, "j1", 0, open())
		if err := errors.Join(<-first, <-second); err != nil {
			t.Fatal(err)
		}
		// Both runs read the pending tasks before either writes, nearly
		// always; now and then the database answers the second read after
		// the first run's results are in. Some task must be fetched twice,
		// or the test proves nothing.
		fetched := len(f.requests())
		if fetched <= 5 || fetched > 10 {
			t.Fatalf("%d fetches, want both runs to fetch some of the 5 tasks", fetched)
		}
		p := e.Progress("j1")
		if p.Done != 5 || p.OK != 5 || p.DownloadSize != 500 || p.Status != warm.StatusFinished {
			t.Fatalf("%s, counts %+v: want 5 tasks counted once", p.Status, p.Counts)
		}
		pops, err := e.St.POPs(e.Ctx, "j1")
		e.Must(err)
		if pops[0].Done != 5 || pops[0].Attempted != 5 {
			t.Fatalf("POP counted %d done, %d attempted; want 5", pops[0].Done, pops[0].Attempted)
		}
		if n := len(e.tasks("j1")); n != 5 {
			t.Fatalf("%d task rows, want 5", n)
		}

		// A third run finds nothing left to fetch.
		e.mustRun(r, "j1", 0)
		if n := len(f.requests()); n != fetched {
			t.Fatalf("a run of a finished batch fetched %d more", n-fetched)
		}
	})
}

// stopMidBatch runs a 6-task batch four at a time whose first two tasks
// are quick and the rest take an hour, calls stop after one second and
// checks the run ends then, aborting the four fetches in flight and
// recording none of them.
func stopMidBatch(t *testing.T, stop func(e *env, r *Runner), within time.Duration) {
	e := newEnv(t)
	e.plan(jobSpec{id: "j1", urls: 6})
	f := &fetcher{delay: func(u string) time.Duration {
		if u == urlOf(0) || u == urlOf(1) {
			return 100 * time.Millisecond
		}
		return time.Hour
	}}
	r := newRunner(t, e.St, f, 4)
	done := start(t, e.Ctx, r, "j1", 0, open())

	time.Sleep(time.Second)
	stopped := time.Now()
	stop(e, r)
	if err := <-done; err != nil {
		t.Fatalf("a stopped batch returned %v, want nil (nothing to continue)", err)
	}
	if d := time.Since(stopped); d > within {
		t.Fatalf("the run ended %v after the stop, want within %v", d, within)
	}
	if n := f.abortedCount(); n != 4 {
		t.Fatalf("%d fetches aborted, want the 4 in flight", n)
	}
	p := e.Progress("j1")
	if p.Status != warm.StatusStopped || p.Done != 2 || p.Failed != 0 {
		t.Fatalf("%s with %d done, %d failed; want STOPPED, 2 done, none failed", p.Status, p.Done, p.Failed)
	}
	for _, row := range e.tasks("j1") {
		if row.URLIndex >= 0 && !row.OK { // -1: the POP's row of tasks not done
			t.Errorf("an aborted fetch was recorded: %+v", row)
		}
	}
	if b := e.batch("j1", 0); b.state != warm.BatchPending || b.claimed != 0 {
		t.Fatalf("batch %+v, want pending with no claim", b)
	}
	if n := len(r.Cancels.jobs); n != 0 {
		t.Fatalf("%d jobs still watched after the run", n)
	}
}

// A stop decided in this process (the API's Service.Stop) aborts the
// fetches at once.
func TestRunnerAbortsAtOnceWhenItsProcessStopsTheJob(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		stopMidBatch(t, func(e *env, r *Runner) {
			e.stop("j1")
			r.Cancels.Cancel("j1")
		}, 0)
	})
}

// A stop decided elsewhere is learnt from the store within a status
// interval (plus a flush tick).
func TestRunnerNoticesAStopRecordedByAnotherProcess(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		stopMidBatch(t, func(e *env, _ *Runner) { e.stop("j1") }, 1200*time.Millisecond)
	})
}

// tenSlowTasks plans a job of ten one-second tasks and returns a runner
// fetching two at a time.
func tenSlowTasks(t *testing.T) (*env, *fetcher, *Runner) {
	e := newEnv(t)
	e.plan(jobSpec{id: "j1", urls: 10})
	f := &fetcher{}
	return e, f, newRunner(t, e.St, f, 2)
}

// checkInterrupted checks that a run cut short at 2.5s, with tasks 0–3
// done and 4–5 in flight, fed nothing more, let the two in flight finish
// and recorded them, and left the batch to continue.
func checkInterrupted(t *testing.T, e *env, f *fetcher, err error) {
	t.Helper()
	if !errors.Is(err, warm.ErrInterrupted) {
		t.Fatalf("run returned %v, want ErrInterrupted", err)
	}
	if n := len(f.requests()); n != 6 {
		t.Fatalf("%d fetches, want 6: no new fetch after the cut", n)
	}
	p := e.Progress("j1")
	if p.Done != 6 || p.Failed != 0 || p.InProgress != 0 || p.Status != warm.StatusInProgress {
		t.Fatalf("%s, counts %+v: want 6 done, none in progress", p.Status, p.Counts)
	}
	e.wantBatch("j1", 0, warm.BatchPending)
}

func TestRunnerStopsFeedingWhenTheAgentDrainsAndAResumeFinishesTheRest(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e, f, r := tenSlowTasks(t)
		drain := make(chan struct{})
		done := start(t, e.Ctx, r, "j1", 0, drain)
		time.Sleep(2500 * time.Millisecond)
		close(drain)
		checkInterrupted(t, e, f, <-done)

		e.mustRun(r, "j1", 0)
		for i := range 10 {
			if n := f.fetchedURLs()[urlOf(i)]; n != 1 {
				t.Errorf("%s fetched %d times over both runs, want 1", urlOf(i), n)
			}
		}
		e.wantFinished("j1", 10)
		e.wantBatch("j1", 0, warm.BatchDone)
	})
}

func TestRunnerStopsFeedingWhenItsBudgetRunsOut(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e, f, r := tenSlowTasks(t)
		r.Budget = 2500 * time.Millisecond
		checkInterrupted(t, e, f, r.Run(e.Ctx, "j1", 0, open()))
	})
}

// A shutdown cuts the step's context: the fetches in flight abort, and
// what was fetched is still recorded though the context is gone.
func TestRunnerRecordsWhatItFetchedWhenItsStepIsCancelled(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e, f, r := tenSlowTasks(t)
		r.FlushInterval = time.Minute // nothing written before the cut
		ctx, cancel := context.WithCancel(e.Ctx)
		done := start(t, ctx, r, "j1", 0, open())
		time.Sleep(2500 * time.Millisecond)
		cancel()
		if err := <-done; !errors.Is(err, warm.ErrInterrupted) {
			t.Fatalf("run returned %v, want ErrInterrupted", err)
		}
		if n := f.abortedCount(); n != 2 {
			t.Fatalf("%d fetches aborted, want the 2 in flight", n)
		}
		if p := e.Progress("j1"); p.Done != 4 || p.Failed != 0 {
			t.Fatalf("counts %+v, want the 4 fetched before the cut", p.Counts)
		}
	})
}

func TestRunnerTimesTheJobOutAtItsDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		e.plan(jobSpec{id: "j1", urls: 10, timeout: 4500 * time.Millisecond})
		f := &fetcher{}
		r := newRunner(t, e.St, f, 1)
		begin := time.Now()
		e.mustRun(r, "j1", 0)
		if d := time.Since(begin); d != 4500*time.Millisecond {
			t.Fatalf("the run ended after %v, want at the deadline", d)
		}
		p := e.Progress("j1")
		if p.Status != warm.StatusTimeout || !strings.Contains(p.Message, "4 of 10 tasks done") {
			t.Fatalf("%s %q, want TIMEOUT with 4 of 10 done", p.Status, p.Message)
		}
		if p.Failed != 0 || f.abortedCount() != 1 {
			t.Fatalf("%d failed, %d aborted; want the fetch in flight aborted, not failed", p.Failed, f.abortedCount())
		}
	})
}

func TestRunnerPastTheDeadlineFetchesNothingAndTimesTheJobOut(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		e.plan(jobSpec{id: "j1", urls: 3, timeout: time.Minute})
		f := &fetcher{}
		r := newRunner(t, e.St, f, 1)
		time.Sleep(time.Minute)
		e.mustRun(r, "j1", 0)
		if n := len(f.requests()); n != 0 {
			t.Fatalf("%d fetches after the deadline", n)
		}
		e.WantStatus("j1", warm.StatusTimeout)
	})
}

func TestRunnerMarksABatchWithoutAddressesDone(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		gone := warm.POPState{Code: "CCC1-P1", Explicit: true, Error: "does not resolve"}
		e.plan(jobSpec{id: "j1", urls: 3, pops: []warm.POPState{popA, gone}})
		f := &fetcher{}
		r := newRunner(t, e.St, f, 1)
		e.mustRun(r, "j1", 1)
		if n := len(f.requests()); n != 0 {
			t.Fatalf("%d fetches through a POP without addresses", n)
		}
		e.wantBatch("j1", 1, warm.BatchDone)
	})
}

func TestRunnerLeavesEndedJobsAlone(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		e.plan(jobSpec{id: "j1", urls: 3})
		e.stop("j1")
		f := &fetcher{}
		r := newRunner(t, e.St, f, 1)
		e.mustRun(r, "j1", 0)
		if n := len(f.requests()); n != 0 {
			t.Fatalf("%d fetches for a stopped job", n)
		}
		if b := e.batch("j1", 0); b.state != warm.BatchPending || b.agent != "" {
			t.Fatalf("batch %+v claimed for a stopped job", b)
		}
		if err := r.Run(e.Ctx, "nope", 0, open()); !errors.Is(err, warm.ErrNotFound) {
			t.Fatalf("unknown job: %v, want ErrNotFound", err)
		}
		e.plan(jobSpec{id: "j2", urls: 1})
		if err := r.Run(e.Ctx, "j2", 7, open()); !errors.Is(err, warm.ErrNotFound) {
			t.Fatalf("unknown batch: %v, want ErrNotFound", err)
		}
	})
}

// Writes that keep failing are tried again while the batch may wait; when
// its step ends first, the run ends with the writes' error and leaves no
// fetch or goroutine behind (the bubble would not end otherwise).
func TestRunnerReturnsAFailedWrite(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		e.plan(jobSpec{id: "j1", urls: 10})
		boom := errors.New("disk full")
		w := &writes{runnerStore: e.St, fail: boom}
		f := &fetcher{delay: func(u string) time.Duration {
			if u == urlOf(0) {
				return 100 * time.Millisecond
			}
			return time.Hour
		}}
		r := newRunner(t, w, f, 2)
		ctx, cancel := context.WithTimeout(e.Ctx, time.Minute)
		defer cancel()
		err := r.Run(ctx, "j1", 0, open())
		if !errors.Is(err, boom) || !strings.Contains(err.Error(), "record results of batch 0 of job j1") {
			t.Fatalf("run returned %v, want the write's error", err)
		}
		if w.mu.Lock(); w.calls < 3 {
			t.Errorf("%d writes, want the failed one tried again", w.calls)
		}
		w.mu.Unlock()
		synctest.Wait()
		if n := f.abortedCount(); n != 2 {
			t.Fatalf("%d fetches aborted, want the 2 left in flight", n)
		}
	})
}

// batchReads counts the reads of a batch's bounds.
type batchReads struct {
	runnerStore
	mu sync.Mutex
	n  int
}

func (b *batchReads) Batch(ctx context.Context, jobID string, seq int) (warm.Batch, error) {
	b.mu.Lock()
	b.n++
	b.mu.Unlock()
	return b.runnerStore.Batch(ctx, jobID, seq)
}

// A queue entry that carries its batch's POP and range spares the read of
// them; one without is read.
func TestRunnerReadsABatchOnlyWhenItsEntryDoesNotSay(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		e.plan(jobSpec{id: "j1", urls: 2, pops: []warm.POPState{popA, popB}})
		st := &batchReads{runnerStore: e.St}
		r := newRunner(t, st, &fetcher{}, 4)
		if err := r.RunBatch(e.Ctx, warm.Batch{JobID: "j1", Seq: 0, POP: popA.Code, From: 0, To: 2}, open()); err != nil {
			t.Fatal(err)
		}
		e.mustRun(r, "j1", 1)
		if st.n != 1 {
			t.Fatalf("%d reads of a batch, want 1 (for the entry without bounds)", st.n)
		}
		e.wantFinished("j1", 4)
	})
}

// slowDone is a database whose writes that end a batch take a second (a
// far one, busy): the batch waits for that write, and the fetch slot it
// fetched in goes to the next batch meanwhile.
type slowDone struct{ runnerStore }

func (s slowDone) RecordBatches(ctx context.Context, ups []warm.BatchUpdate) (map[string]warm.Status, error) {
	for _, u := range ups {
		if u.State == warm.BatchDone {
			time.Sleep(time.Second)
		}
	}
	return s.runnerStore.RecordBatches(ctx, ups)
}

func TestABatchWaitingForItsLastWriteLeavesItsFetchSlot(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		e.plan(jobSpec{id: "j1", urls: 5, pops: []warm.POPState{popA, popB}})
		f := &fetcher{delay: func(string) time.Duration { return 100 * time.Millisecond }}
		r := newRunner(t, slowDone{e.St}, f, 10)
		r.SetFetching(1)
		first := start(t, e.Ctx, r, "j1", 0, open())
		advance(50 * time.Millisecond)
		second := start(t, e.Ctx, r, "j1", 1, open())
		advance(100 * time.Millisecond) // the first has fetched; its last write takes a second
		if n := len(f.requests()); n != 10 {
			t.Fatalf("%d fetches started 150 ms in, want the second batch's 5 beside the first's 5: its slot was held", n)
		}
		for _, done := range []<-chan error{first, second} {
			if err := <-done; err != nil {
				t.Fatal(err)
			}
		}
		e.wantFinished("j1", 10)
	})
}
