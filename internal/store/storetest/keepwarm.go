package storetest

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"prewarm/internal/store"
	"prewarm/internal/warm"
)

// keepWarmJob plans a keep-warm job of n URLs at two POPs and records its
// first warm: every URL × POP kept, due at due, but URL 0 at BBB1-P1,
// which cannot be kept.
func (f *fixture) keepWarmJob(id string, n int, due time.Time) {
	f.t.Helper()
	f.keepWarmUntil = f.now.Add(time.Hour)
	defer func() { f.keepWarmUntil = time.Time{} }()
	batches := f.planned(id, n)
	for _, b := range batches {
		rs := results(b.POP, 0, n, true)
		for i := range rs {
			rs[i].Keep, rs[i].RewarmAt = true, due
			if b.POP == "BBB1-P1" && i == 0 {
				rs[i].RewarmAt, rs[i].NotKept = time.Time{}, "no-store"
			}
		}
		_, err := f.s.RecordResults(f.ctx, b, rs, warm.BatchDone)
		f.must(err)
	}
}

// checkKeepCounts compares a job's counts as the store keeps them with
// their sums over its rewarms rows.
func (f *fixture) checkKeepCounts(jobID string) *warm.KeepWarm {
	f.t.Helper()
	job, err := f.s.Job(f.ctx, jobID)
	f.must(err)
	kw, err := f.s.KeepWarm(f.ctx, job)
	f.must(err)
	var sum warm.KeepWarm
	var next int64
	f.must(f.db.Reader().QueryRow(f.ctx, `SELECT
		COALESCE(SUM(CASE WHEN due_at > 0 OR queued THEN 1 ELSE 0 END), 0),
		COALESCE(SUM(CASE WHEN queued THEN 1 ELSE 0 END), 0),
		COALESCE(SUM(CASE WHEN due_at = 0 AND NOT queued AND not_kept = '' THEN 1 ELSE 0 END), 0),
		COALESCE(SUM(CASE WHEN not_kept <> '' THEN 1 ELSE 0 END), 0),
		COALESCE(SUM(rewarms), 0), COALESCE(SUM(failures), 0),
		COALESCE(MIN(CASE WHEN due_at > 0 AND NOT queued THEN due_at END), 0)
		FROM rewarms WHERE job_id = $1`, jobID).Scan(&sum.Kept, &sum.Queued, &sum.Ended, &sum.NotKept, &sum.Rewarms, &sum.Failed, &next))
	got := [6]int64{kw.Kept, kw.Queued, kw.Ended, kw.NotKept, kw.Rewarms, kw.Failed}
	want := [6]int64{sum.Kept, sum.Queued, sum.Ended, sum.NotKept, sum.Rewarms, sum.Failed}
	if got != want || kw.Next.UnixMicro() != next && next != 0 {
		f.t.Fatalf("job %s: counts kept %v next %v, summed from its rows %v next %v", jobID, got, kw.Next, want, next)
	}
	return kw
}

// keepWarmAgain records a keep-warm job's first warm again, as a batch
// run twice would.
func (f *fixture) keepWarmAgain(id string, n int, due time.Time) {
	f.t.Helper()
	for seq, pop := range []string{"AAA1-P1", "BBB1-P1"} {
		rs := results(pop, 0, n, true)
		for i := range rs {
			rs[i].Keep, rs[i].RewarmAt = true, due
		}
		_, err := f.s.RecordResults(f.ctx, warm.Batch{JobID: id, Seq: seq, POP: pop, From: 0, To: n}, rs, warm.BatchDone)
		f.must(err)
	}
}

// queuedRewarms are the re-warms of steps, by POP + URL index, counted.
func queuedRewarms(steps []warm.Step) map[string]int {
	out := map[string]int{}
	for _, st := range steps {
		for _, rw := range st.Rewarms {
			out[fmt.Sprintf("%s %s %d", st.JobID, st.POP, rw.URLIndex)]++
		}
	}
	return out
}

// A keep-warm job's rows: due re-warms are queued once, ahead of other
// work, in steps of one POP; their tasks carry their URLs; recording them
// twice counts once; the counts say how the keeping stands.
func testKeepWarmRows(t *testing.T, f *fixture) {
	due := f.now.Add(10 * time.Second)
	f.keepWarmJob("kw", 300, due)
	job, err := f.s.Job(f.ctx, "kw")
	f.must(err)
	kw, err := f.s.KeepWarm(f.ctx, job)
	f.must(err)
	if kw.Kept != 599 || kw.NotKept != 1 || kw.Queued != 0 || !kw.Next.Equal(due) {
		t.Fatalf("after the first warm: %+v", kw)
	}
	before := len(f.q.Steps())
	if n, err := f.s.QueueRewarms(f.ctx, due.Add(-time.Millisecond), 5000); err != nil || n != 0 {
		t.Fatalf("before due: queued %d, %v", n, err)
	}
	n, err := f.s.QueueRewarms(f.ctx, due, 5000)
	f.must(err)
	steps := f.q.Steps()[before:]
	if n != 599 || len(steps) != 4 { // AAA1: 250 + 50, BBB1: 250 + 49
		t.Fatalf("queued %d re-warms in %d steps, want 599 in 4", n, len(steps))
	}
	for _, st := range steps {
		if st.Kind != warm.StepWarm || st.Priority != warm.PriorityHigh || len(st.Rewarms) > 250 {
			t.Fatalf("step %+v", st)
		}
	}
	if n, err := f.s.QueueRewarms(f.ctx, due.Add(time.Hour), 5000); err != nil || n != 0 {
		t.Fatalf("queued again: %d, %v", n, err)
	}
	st := steps[0]
	tasks, err := f.s.RewarmTasks(f.ctx, "kw", st.POP, st.Rewarms)
	f.must(err)
	if len(tasks) != len(st.Rewarms) || tasks[0].URL != fmt.Sprintf("https://example.test/%d", tasks[0].URLIndex) {
		t.Fatalf("%d tasks for %d re-warms: %+v", len(tasks), len(st.Rewarms), tasks[:min(2, len(tasks))])
	}
	next := due.Add(time.Minute)
	rs := make([]warm.Result, len(tasks))
	for i, tk := range tasks {
		rs[i] = warm.Result{URLIndex: tk.URLIndex, POP: st.POP, OK: i > 0, CacheStatus: "MISS", RewarmAt: next}
	}
	// One became no-store, one is fresh to the end, one is put off (its
	// host paused), one is put off past the end.
	rs[1].RewarmAt, rs[1].NotKept = time.Time{}, "no-store"
	rs[2].RewarmAt = time.Time{}
	rs[3] = warm.Result{URLIndex: rs[3].URLIndex, POP: st.POP, Deferred: true, RewarmAt: next.Add(time.Second)}
	rs[4] = warm.Result{URLIndex: rs[4].URLIndex, POP: st.POP, Deferred: true}
	f.must(f.s.RecordRewarms(f.ctx, "kw", st.POP, rs))
	f.must(f.s.RecordRewarms(f.ctx, "kw", st.POP, rs)) // a step run twice
	if tasks, err := f.s.RewarmTasks(f.ctx, "kw", st.POP, st.Rewarms); err != nil || len(tasks) != 0 {
		t.Fatalf("recorded re-warms still listed: %d, %v", len(tasks), err)
	}
	kw = f.checkKeepCounts("kw")
	if kw.Rewarms != int64(len(rs))-3 || kw.Failed != 1 || kw.Queued != 599-int64(len(rs)) || kw.Kept != 596 ||
		kw.NotKept != 2 || kw.Ended != 2 || !kw.Next.Equal(next) {
		t.Fatalf("after %d re-warms recorded (one failed, two put off): %+v", len(rs), kw)
	}
	// Every other step's re-warms done, some twice.
	for _, st := range steps[1:] {
		rs := make([]warm.Result, len(st.Rewarms))
		for i, rw := range st.Rewarms {
			rs[i] = warm.Result{URLIndex: rw.URLIndex, POP: st.POP, OK: i%3 > 0, RewarmAt: next}
		}
		f.must(f.s.RecordRewarms(f.ctx, "kw", st.POP, rs))
		f.must(f.s.RecordRewarms(f.ctx, "kw", st.POP, rs[:len(rs)/2]))
	}
	if kw := f.checkKeepCounts("kw"); kw.Queued != 0 {
		t.Fatalf("all recorded: %+v", kw)
	}
	// A first warm's results written again add nothing.
	f.keepWarmAgain("kw", 300, due)
	f.checkKeepCounts("kw")
}

// Nodes racing to queue the same due re-warms (each its own store on the
// database, all at once, round after round) queue each exactly once.
func testRewarmsClaimedOnce(t *testing.T, f *fixture) {
	const nodes, rounds, n = 6, 3, 500
	due := f.now.Add(time.Second)
	f.keepWarmJob("race", n, due)
	for round := range rounds {
		at := due.Add(time.Duration(round) * time.Minute)
		recs := make([]*Recorder, nodes)
		var wg sync.WaitGroup
		start := make(chan struct{})
		errs := make([]error, nodes)
		for i := range recs {
			recs[i] = &Recorder{}
			s := store.New(f.db, recs[i], func() time.Time { return at })
			wg.Go(func() {
				<-start
				_, errs[i] = s.QueueRewarms(f.ctx, at, 5000)
			})
		}
		close(start)
		wg.Wait()
		var all []warm.Step
		for i, r := range recs {
			f.must(errs[i])
			all = append(all, r.Steps()...)
		}
		counts := queuedRewarms(all)
		if len(counts) != 2*n-1 {
			t.Fatalf("round %d: %d re-warms queued, want %d", round, len(counts), 2*n-1)
		}
		for key, c := range counts {
			if c != 1 {
				t.Fatalf("round %d: %s queued %d times", round, key, c)
			}
		}
		// Each re-warm done: due again a minute later.
		for _, st := range all {
			rs := make([]warm.Result, len(st.Rewarms))
			for i, rw := range st.Rewarms {
				rs[i] = warm.Result{URLIndex: rw.URLIndex, POP: st.POP, OK: true, RewarmAt: at.Add(time.Minute)}
			}
			f.must(f.s.RecordRewarms(f.ctx, st.JobID, st.POP, rs))
		}
		f.checkKeepCounts("race")
	}
}

// A keep-warm job's first warm that leaves nothing to keep ends the job at
// once, FINISHED, saying why, with a warning; one that keeps something
// goes on, its timeout_at still the first warm's deadline, and is due to
// end at keep_warm_until.
func testKeepWarmNothingKept(t *testing.T, f *fixture) {
	until := f.now.Add(time.Hour)
	f.keepWarmUntil = until
	defer func() { f.keepWarmUntil = time.Time{} }()
	batches := f.planned("idle", 3)
	for i, b := range batches {
		rs := results(b.POP, 0, 3, true)
		for j := range rs {
			rs[j].Keep, rs[j].NotKept = true, "no freshness information"
		}
		st, err := f.s.RecordResults(f.ctx, b, rs, warm.BatchDone)
		f.must(err)
		if last := i == len(batches)-1; last != (st == warm.StatusFinished) {
			t.Fatalf("after batch %d of %d: status %s", i+1, len(batches), st)
		}
	}
	p := f.progress("idle")
	want := "nothing to keep warm: 6 objects cannot be kept (no freshness the POP tells; see not_kept_urls)"
	if p.Status != warm.StatusFinished || p.Message != want {
		t.Fatalf("nothing kept: %s %q, want FINISHED %q", p.Status, p.Message, want)
	}
	sum, err := f.s.Summary(f.ctx, "idle")
	f.must(err)
	if len(sum.Warnings) != 1 || !strings.Contains(sum.Warnings[0], "proxy_cache_valid") {
		t.Fatalf("warnings: %q", sum.Warnings)
	}

	due := f.now.Add(10 * time.Second)
	f.keepWarmJob("kw", 3, due)
	p = f.progress("kw")
	if p.Status != warm.StatusInProgress || !p.Warmed || !p.TimeoutAt.Equal(f.now.Add(5*time.Minute)) {
		t.Fatalf("keeping: %s warmed %v timeout_at %v", p.Status, p.Warmed, p.TimeoutAt)
	}
	for at, want := range map[time.Time]int{p.TimeoutAt.Add(time.Second): 0, until: 1} {
		if ids, err := f.s.Overdue(f.ctx, at); err != nil || len(ids) != want {
			t.Fatalf("overdue at %v: %v %v, want %d", at, ids, err, want)
		}
	}
}
