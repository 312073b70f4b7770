// Package storetest is the one conformance suite every database behind the
// store must pass: the embedded SQLite and PostgreSQL run the same tests.
// Its Recorder and Progress also serve the tests of the packages over the
// store (see sqlitetest).
package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"prewarm/internal/store"
	"prewarm/internal/warm"
)

// Opener returns a fresh, migrated, empty database for one test.
type Opener func(t *testing.T) store.DB

// Recorder is an Enqueuer that remembers what was queued: the suite, and
// the tests of the packages over the store, check the store's side of
// queuing; the queue has its own end-to-end tests. Set Fail before use to
// make Enqueue fail (and the store's transaction with it).
type Recorder struct {
	Fail error

	mu    sync.Mutex
	steps []warm.Step
}

// Enqueue records steps, or fails with r.Fail.
func (r *Recorder) Enqueue(_ context.Context, _ store.Tx, steps ...warm.Step) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.Fail != nil {
		return r.Fail
	}
	r.steps = append(r.steps, steps...)
	return nil
}

// Steps are the steps queued so far, in queue order.
func (r *Recorder) Steps() []warm.Step {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.steps)
}

// Kinds counts the steps queued of each kind.
func (r *Recorder) Kinds() map[warm.StepKind]int {
	out := map[warm.StepKind]int{}
	for _, s := range r.Steps() {
		out[s.Kind]++
	}
	return out
}

// Batches are the sequence numbers of the batches queued, in queue order.
func (r *Recorder) Batches() []int {
	var out []int
	for _, s := range r.Steps() {
		if s.Kind == warm.StepWarm {
			out = append(out, s.Batch)
		}
	}
	return out
}

type fixture struct {
	t   *testing.T
	ctx context.Context
	db  store.DB
	s   *store.Store
	q   *Recorder
	now time.Time
	// keepWarmUntil, when set, is the keep_warm_until of the jobs made.
	keepWarmUntil time.Time
}

func newFixture(t *testing.T, open Opener) *fixture {
	f := &fixture{t: t, ctx: context.Background(), q: &Recorder{}, now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	f.db = open(t)
	f.s = store.New(f.db, f.q, func() time.Time { return f.now })
	return f
}

func (f *fixture) job(id string, urls ...string) *warm.Job {
	f.t.Helper()
	j := &warm.Job{ID: id, Status: warm.StatusCreated, CFDomain: "d1.cloudfront.net", TargetType: "pop",
		NeedInvalidate: true, DistributionID: "E2QWRUHAPOMQZL",
		Targets: []warm.Target{{Code: "AAA1-P1", Explicit: true}, {Code: "BBB1-P1", Explicit: true}},
		Headers: []string{"X-A: 1"}, Timeout: 5 * time.Minute, URLCount: len(urls),
		CreatedAt: f.now, UpdatedAt: f.now, TimeoutAt: f.now.Add(5 * time.Minute), KeepWarmUntil: f.keepWarmUntil}
	if err := f.s.CreateJob(f.ctx, j, urls); err != nil {
		f.t.Fatalf("CreateJob: %v", err)
	}
	return j
}

func (f *fixture) must(err error) {
	f.t.Helper()
	if err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) progress(id string) *warm.Progress { return Progress(f.t, f.s, id) }

// Progress is job id's progress as st has it; a read that fails ends the
// test.
func Progress(t testing.TB, st *store.Store, id string) *warm.Progress {
	t.Helper()
	p, err := st.Progress(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// planned makes a job IN_PROGRESS with two usable POPs and every URL in one
// batch per POP, probed fine.
func (f *fixture) planned(id string, n int) []warm.Batch {
	f.t.Helper()
	urls := make([]string, n)
	for i := range urls {
		urls[i] = fmt.Sprintf("https://example.test/%d", i)
	}
	f.job(id, urls...)
	_, err := f.s.Transition(f.ctx, id, []warm.Status{warm.StatusCreated}, warm.StatusInProgress, "")
	f.must(err)
	f.must(f.s.SavePOPs(f.ctx, id, []warm.POPState{
		{Code: "AAA1-P1", Explicit: true, Addresses: []string{"192.0.2.1"}},
		{Code: "BBB1-P1", Explicit: true, Addresses: []string{"192.0.2.2", "192.0.2.3"}},
	}))
	us, err := f.s.URLs(f.ctx, id, 0, n)
	f.must(err)
	for i := range us {
		us[i].Size, us[i].Probed = 100, true
	}
	batches := []warm.Batch{{JobID: id, Seq: 0, POP: "AAA1-P1", From: 0, To: n}, {JobID: id, Seq: 1, POP: "BBB1-P1", From: 0, To: n}}
	f.must(f.s.SavePlanChunk(f.ctx, id, warm.PlanChunk{URLs: us, Batches: batches, PlannedURLs: n}))
	f.must(f.s.FinishPlanning(f.ctx, id))
	f.must(f.s.SaveProbeChunk(f.ctx, id, warm.ProbeChunk{URLs: us, ProbedURLs: n}))
	f.must(f.s.FinishProbing(f.ctx, id))
	return batches
}

// The last chunk of a plan marks the job planned, and probed when it says
// so; the job then ends with its last results, with no other write.
func testLastPlanChunk(t *testing.T, f *fixture) {
	for _, probed := range []bool{false, true} {
		id := fmt.Sprintf("j-%v", probed)
		f.job(id, "https://example.test/0", "https://example.test/1")
		_, err := f.s.Transition(f.ctx, id, []warm.Status{warm.StatusCreated}, warm.StatusInProgress, "")
		f.must(err)
		f.must(f.s.SavePOPs(f.ctx, id, []warm.POPState{{Code: "AAA1-P1", Explicit: true, Addresses: []string{"192.0.2.1"}}}))
		us, err := f.s.URLs(f.ctx, id, 0, 2)
		f.must(err)
		b := warm.Batch{JobID: id, Seq: 0, POP: "AAA1-P1", From: 0, To: 2}
		f.must(f.s.SavePlanChunk(f.ctx, id, warm.PlanChunk{URLs: us, Batches: []warm.Batch{b}, PlannedURLs: 2, Planned: true, Probed: probed}))
		if p := f.progress(id); !p.Planned || p.Probed != probed || p.PlannedURLs != 2 || p.Total != 2 {
			t.Fatalf("%s after its last chunk: planned %v, probed %v, %+v", id, p.Planned, p.Probed, p.Counts)
		}
		_, err = f.s.RecordResults(f.ctx, b, results("AAA1-P1", 0, 2, true), warm.BatchDone)
		f.must(err)
		if p := f.progress(id); p.Status != warm.StatusFinished || p.Done != 2 {
			t.Fatalf("%s after its results: %s %+v, want FINISHED", id, p.Status, p.Counts)
		}
	}
}

func results(pop string, from, to int, ok bool) []warm.Result {
	var out []warm.Result
	for i := from; i < to; i++ {
		r := warm.Result{URLIndex: i, POP: pop, OK: ok, StatusCode: 200, Bytes: 100, Attempts: 1, CacheStatus: "MISS",
			EdgeIP: "192.0.2.1", TTFB: 3 * time.Millisecond, Duration: 5 * time.Millisecond, At: time.Unix(1700000000, 0).UTC()}
		if !ok {
			r.StatusCode, r.Bytes, r.Error = 404, 0, "HTTP 404 Not Found"
		}
		out = append(out, r)
	}
	return out
}

// Run runs the suite.
func Run(t *testing.T, open Opener) {
	tests := map[string]func(t *testing.T, f *fixture){
		"CreateJobRoundTrip":             testCreateJob,
		"CreateJobRollsBackOnQueueFail":  testCreateJobRollback,
		"Transition":                     testTransition,
		"PlanAndPending":                 testPlanAndPending,
		"LastPlanChunk":                  testLastPlanChunk,
		"ResultsCountOnce":               testResultsCountOnce,
		"FinishAndInProgress":            testFinishAndInProgress,
		"NotDoneWhenAJobEnds":            testNotDoneWhenAJobEnds,
		"ReportPages":                    testReportPages,
		"StalledReportsHoldNoConnection": testStalledReports,
		"Notifications":                  testNotifications,
		"Retention":                      testRetention,
		"RefusingPOP":                    testRefusingPOP,
		"AllProbesFailed":                testAllProbesFailed,
		"SummaryAndTasks":                testSummaryAndTasks,
		"ListJobs":                       testListJobs,
		"Settings":                       testSettings,
		"Agents":                         testAgents,
		"VariantsAndVerification":        testVariantsAndVerification,
		"ReplaceURLs":                    testReplaceURLs,
		"BudgetShares":                   testBudgetShares,
		"HostStates":                     testHostStates,
		"WarningsAndWaiting":             testWarningsAndWaiting,
		"TieredBatches":                  testTieredBatches,
		"BatchWindow":                    testBatchWindow,
		"KeysShareTheQueue":              testKeysShareTheQueue,
		"KeepWarmRows":                   testKeepWarmRows,
		"KeepWarmNothingKept":            testKeepWarmNothingKept,
		"RewarmsClaimedOnce":             testRewarmsClaimedOnce,
	}
	names := make([]string, 0, len(tests))
	for name := range tests {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		t.Run(name, func(t *testing.T) { tests[name](t, newFixture(t, open)) })
	}
}

func testCreateJob(t *testing.T, f *fixture) {
	j := f.job("j1", "https://a.test/1", "https://a.test/2")
	got, err := f.s.Job(f.ctx, "j1")
	f.must(err)
	if got.CFDomain != j.CFDomain || got.Status != warm.StatusCreated || got.URLCount != 2 ||
		!got.NeedInvalidate || got.DistributionID != j.DistributionID ||
		!slices.Equal(got.Headers, j.Headers) || !slices.Equal(got.Targets, j.Targets) ||
		!got.TimeoutAt.Equal(j.TimeoutAt) || got.Timeout != j.Timeout || !got.CreatedAt.Equal(j.CreatedAt) {
		t.Fatalf("round trip: got %+v, want %+v", got, j)
	}
	if k := f.q.Kinds(); k[warm.StepPlan] != 1 || len(k) != 1 {
		t.Fatalf("queued %v, want one plan", k)
	}
	// Past its deadline, the job is overdue (until it ends).
	for at, want := range map[time.Time]int{j.TimeoutAt.Add(-time.Second): 0, j.TimeoutAt: 1} {
		if ids, err := f.s.Overdue(f.ctx, at); err != nil || len(ids) != want {
			t.Fatalf("overdue at %v: %v %v, want %d", at, ids, err, want)
		}
	}
	us, err := f.s.URLs(f.ctx, "j1", 0, 10)
	f.must(err)
	if len(us) != 2 || us[1].URL != "https://a.test/2" || us[1].Index != 1 || us[0].Size != -1 {
		t.Fatalf("urls: %+v", us)
	}
	if _, err := f.s.Job(f.ctx, "nope"); !errors.Is(err, warm.ErrNotFound) {
		t.Fatalf("unknown job: %v, want ErrNotFound", err)
	}
	if _, err := f.s.Progress(f.ctx, "nope"); !errors.Is(err, warm.ErrNotFound) {
		t.Fatalf("unknown progress: %v, want ErrNotFound", err)
	}
}

func testCreateJobRollback(t *testing.T, f *fixture) {
	f.q.Fail = errors.New("queue down")
	j := &warm.Job{ID: "j1", Status: warm.StatusCreated, Targets: []warm.Target{}, URLCount: 1, CreatedAt: f.now, TimeoutAt: f.now}
	if err := f.s.CreateJob(f.ctx, j, []string{"https://a.test/"}); err == nil {
		t.Fatal("CreateJob succeeded though queuing failed")
	}
	if _, err := f.s.Job(f.ctx, "j1"); !errors.Is(err, warm.ErrNotFound) {
		t.Fatalf("job left behind after a failed create: %v", err)
	}
}

func testTransition(t *testing.T, f *fixture) {
	f.job("j1", "https://a.test/")
	ok, err := f.s.Transition(f.ctx, "j1", []warm.Status{warm.StatusCreated}, warm.StatusInProgress, "")
	if err != nil || !ok {
		t.Fatalf("CREATED → IN_PROGRESS: %v %v", ok, err)
	}
	ok, err = f.s.Transition(f.ctx, "j1", []warm.Status{warm.StatusCreated}, warm.StatusStopped, "x")
	if err != nil || ok {
		t.Fatalf("from a state it is not in: %v %v", ok, err)
	}
	f.now = f.now.Add(time.Minute)
	ok, err = f.s.Transition(f.ctx, "j1", []warm.Status{warm.StatusCreated, warm.StatusInProgress}, warm.StatusStopped, "by request")
	if err != nil || !ok {
		t.Fatalf("IN_PROGRESS → STOPPED: %v %v", ok, err)
	}
	p := f.progress("j1")
	if p.Status != warm.StatusStopped || p.Message != "by request" || !p.UpdatedAt.Equal(f.now) {
		t.Fatalf("after stop: %+v", p.Job)
	}
	if _, err := f.s.Transition(f.ctx, "nope", []warm.Status{warm.StatusCreated}, warm.StatusStopped, ""); !errors.Is(err, warm.ErrNotFound) {
		t.Fatalf("unknown job: %v", err)
	}
	f.must(f.s.Note(f.ctx, "j1", "waiting"))
	if p := f.progress("j1"); p.Message != "waiting" || p.Invalidated {
		t.Fatalf("note: %+v", p)
	}
	f.must(f.s.MarkInvalidated(f.ctx, "j1", "invalidated"))
	if p := f.progress("j1"); p.Message != "invalidated" || !p.Invalidated {
		t.Fatalf("invalidated: %+v %+v", p.Job, p.Counts)
	}
}

func testPlanAndPending(t *testing.T, f *fixture) {
	f.job("j1", "https://a.test/0", "https://a.test/1", "https://a.test/2")
	f.must(f.s.SavePOPs(f.ctx, "j1", []warm.POPState{
		{Code: "AAA1-P1", Explicit: true, Addresses: []string{"192.0.2.1"}},
		{Code: "BBB1-P1", Explicit: true, Error: "does not resolve"},
		{Code: "CCC1-P1", Skipped: true},
		{Code: "DDD1-P1", Addresses: []string{"192.0.2.4"}, PurgeMethod: "BAN"},
	}))
	pops, err := f.s.POPs(f.ctx, "j1")
	f.must(err)
	if len(pops) != 4 || pops[0].Code != "AAA1-P1" || pops[1].Error == "" || !pops[2].Skipped || pops[3].Addresses[0] != "192.0.2.4" ||
		pops[3].PurgeMethod != "BAN" || pops[0].PurgeMethod != "" {
		t.Fatalf("pops: %+v", pops)
	}
	if p := f.progress("j1"); p.Total != 6 {
		t.Fatalf("total %d, want 3 URLs × 2 usable POPs", p.Total)
	}
	us, err := f.s.URLs(f.ctx, "j1", 0, 3)
	f.must(err)
	us[0].Size, us[1].Size, us[2].Size = 10, 20, -1
	us[2].Error = "size probe: HTTP 404 Not Found"
	for i := range us {
		us[i].Probed = true
	}
	batches := []warm.Batch{{JobID: "j1", Seq: 0, POP: "AAA1-P1", From: 0, To: 3}, {JobID: "j1", Seq: 1, POP: "DDD1-P1", From: 0, To: 3}}
	f.must(f.s.SavePlanChunk(f.ctx, "j1", warm.PlanChunk{URLs: us, Batches: batches, PlannedURLs: 3}))
	if p := f.progress("j1"); p.PlannedURLs != 3 || p.Planned || p.Done != 0 {
		t.Fatalf("after planning: %+v", p.Counts)
	}
	// URL 2 was already fetched at DDD1 when its probe failed: that result
	// stands; at AAA1 the probe's failure fills in.
	_, err = f.s.RecordResults(f.ctx, batches[1], results("DDD1-P1", 2, 3, false), warm.BatchRunning)
	f.must(err)
	failed := []warm.Result{{URLIndex: 2, POP: "AAA1-P1", Error: us[2].Error}, {URLIndex: 2, POP: "DDD1-P1", Error: us[2].Error}}
	f.must(f.s.SaveProbeChunk(f.ctx, "j1", warm.ProbeChunk{URLs: us, Failed: failed, ProbedURLs: 3}))
	p := f.progress("j1")
	if p.ProbedURLs != 3 || p.TotalSize != 60 || p.Done != 2 || p.Failed != 2 || p.Probed {
		t.Fatalf("after probing: %+v", p.Counts)
	}
	if k := f.q.Kinds(); k[warm.StepWarm] != 2 {
		t.Fatalf("queued %v, want two warm steps", k)
	}
	got, err := f.s.URLs(f.ctx, "j1", 0, 3)
	f.must(err)
	if got[1].Size != 20 || !got[1].Probed || got[2].Error == "" {
		t.Fatalf("probes not saved: %+v", got)
	}
	b, err := f.s.Batch(f.ctx, "j1", 1)
	f.must(err)
	if b != batches[1] {
		t.Fatalf("batch: %+v, want %+v", b, batches[1])
	}
	if _, err := f.s.Batch(f.ctx, "j1", 9); !errors.Is(err, warm.ErrNotFound) {
		t.Fatalf("unknown batch: %v", err)
	}
	tasks, err := f.s.PendingTasks(f.ctx, b, []string{""})
	f.must(err)
	if len(tasks) != 2 || tasks[0].URL != "https://a.test/0" || tasks[1].URLIndex != 1 {
		t.Fatalf("pending tasks (URL 2 failed its probe): %+v", tasks)
	}
	_, err = f.s.RecordResults(f.ctx, b, results("DDD1-P1", 0, 1, true), warm.BatchRunning)
	f.must(err)
	tasks, err = f.s.PendingTasks(f.ctx, b, []string{""})
	f.must(err)
	if len(tasks) != 1 || tasks[0].URLIndex != 1 {
		t.Fatalf("pending after one result: %+v", tasks)
	}
	// Replayed chunks (a planner retried after a crash before its
	// checkpoint committed elsewhere) change nothing they already wrote.
	f.must(f.s.SavePlanChunk(f.ctx, "j1", warm.PlanChunk{URLs: us, Batches: batches[:1], PlannedURLs: 3}))
	f.must(f.s.SaveProbeChunk(f.ctx, "j1", warm.ProbeChunk{URLs: us, Failed: failed, ProbedURLs: 3}))
	if p := f.progress("j1"); p.Done != 3 || p.Failed != 2 {
		t.Fatalf("replayed chunk counted twice: %+v", p.Counts)
	}
	var rows []warm.TaskRow
	f.must(f.s.Tasks(f.ctx, "j1", warm.TaskFilter{FailedOnly: true, POP: "DDD1-P1"}, func(r warm.TaskRow) error { rows = append(rows, r); return nil }))
	if len(rows) != 1 || rows[0].StatusCode != 404 {
		t.Fatalf("the fetched result was replaced by the probe's: %+v", rows)
	}
}

func testResultsCountOnce(t *testing.T, f *fixture) {
	batches := f.planned("j1", 10)
	rs := append(results("AAA1-P1", 0, 8, true), results("AAA1-P1", 8, 10, false)...)
	for range 3 { // a batch re-run after a crash sends the same results again
		st, err := f.s.RecordResults(f.ctx, batches[0], rs, warm.BatchRunning)
		f.must(err)
		if st != warm.StatusInProgress {
			t.Fatalf("status %s", st)
		}
	}
	p := f.progress("j1")
	if p.Done != 10 || p.OK != 8 || p.Failed != 2 || p.DownloadSize != 800 || p.Total != 20 || p.TotalSize != 2000 {
		t.Fatalf("counters: %+v", p.Counts)
	}
	pops, err := f.s.POPs(f.ctx, "j1")
	f.must(err)
	if a := pops[0]; a.Done != 10 || a.OK != 8 || a.Failed != 2 || a.Bytes != 800 || !a.Reached {
		t.Fatalf("pop counters: %+v", a)
	}
	if pops[1].Done != 0 {
		t.Fatalf("other pop counted: %+v", pops[1])
	}
	// Concurrent writers of overlapping results still count each task once.
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Go(func() {
			_, err := f.s.RecordResults(f.ctx, batches[1], results("BBB1-P1", i, 10, true), warm.BatchRunning)
			if err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if p := f.progress("j1"); p.Done != 20 || p.Status != warm.StatusFinished || p.Percent() != 100 {
		t.Fatalf("after all: %+v %s", p.Counts, p.Status)
	}
}

// A job that ends before its tasks are done says where it got stuck: the
// tasks left at each POP, with the last error seen there; a finished job
// lists none.
func testNotDoneWhenAJobEnds(t *testing.T, f *fixture) {
	batches := f.planned("j1", 4)
	_, err := f.s.RecordResults(f.ctx, batches[0], results("AAA1-P1", 0, 4, true), warm.BatchDone)
	f.must(err)
	_, err = f.s.RecordResults(f.ctx, batches[1], results("BBB1-P1", 0, 1, false), warm.BatchRunning)
	f.must(err)
	if sum, err := f.s.Summary(f.ctx, "j1"); err != nil || len(sum.NotDone) != 0 {
		t.Fatalf("a running job: %+v %v", sum.NotDone, err)
	}
	_, err = f.s.Transition(f.ctx, "j1", []warm.Status{warm.StatusInProgress}, warm.StatusTimeout, "timed out")
	f.must(err)
	sum, err := f.s.Summary(f.ctx, "j1")
	f.must(err)
	want := []warm.POPNotDone{{POP: "BBB1-P1", Tasks: 3, LastError: "HTTP 404 Not Found"}}
	if !slices.Equal(sum.NotDone, want) {
		t.Fatalf("not done %+v, want %+v", sum.NotDone, want)
	}
	// The report says it too, in a row for the POP ahead of its tasks.
	var rows []warm.TaskRow
	f.must(f.s.Tasks(f.ctx, "j1", warm.TaskFilter{FailedOnly: true}, func(r warm.TaskRow) error { rows = append(rows, r); return nil }))
	if len(rows) != 2 || rows[0].POP != "BBB1-P1" || rows[0].URLIndex != -1 ||
		rows[0].Error != "3 tasks not done: the job ended TIMEOUT; last error here: HTTP 404 Not Found" || rows[1].StatusCode != 404 {
		t.Fatalf("report rows %+v", rows)
	}
}

// A report reads its rows a page at a time: every task comes once, in
// order, across pages, and a limit holds across them.
func testReportPages(t *testing.T, f *fixture) {
	const n = 4321
	batches := f.planned("j1", n)
	_, err := f.s.RecordResults(f.ctx, batches[0], results("AAA1-P1", 0, n, true), warm.BatchDone)
	f.must(err)
	_, err = f.s.RecordResults(f.ctx, batches[1], results("BBB1-P1", 0, n, false), warm.BatchDone)
	f.must(err)
	var rows []warm.TaskRow
	f.must(f.s.Tasks(f.ctx, "j1", warm.TaskFilter{}, func(r warm.TaskRow) error { rows = append(rows, r); return nil }))
	if len(rows) != 2*n {
		t.Fatalf("%d rows, want %d", len(rows), 2*n)
	}
	for i, r := range rows {
		if pop, idx := []string{"AAA1-P1", "BBB1-P1"}[i/n], i%n; r.POP != pop || r.URLIndex != idx || r.URL != fmt.Sprintf("https://example.test/%d", idx) {
			t.Fatalf("row %d: %s %d %s, want %s %d", i, r.POP, r.URLIndex, r.URL, pop, idx)
		}
	}
	rows = rows[:0]
	f.must(f.s.Tasks(f.ctx, "j1", warm.TaskFilter{FailedOnly: true, Limit: n - 1}, func(r warm.TaskRow) error { rows = append(rows, r); return nil }))
	if len(rows) != n-1 || rows[0].POP != "BBB1-P1" || rows[n-2].URLIndex != n-2 {
		t.Fatalf("%d failed rows with a limit of %d", len(rows), n-1)
	}
}

// A report whose client has stopped reading blocks in its row callback
// (the HTTP write). Many such reports at once — more than the store has
// read connections — must leave reads answering: a report holds a
// connection only while it reads a page, never while its rows are sent.
func testStalledReports(t *testing.T, f *fixture) {
	const n = 2500 // more than a page
	batches := f.planned("j1", n)
	_, err := f.s.RecordResults(f.ctx, batches[0], results("AAA1-P1", 0, n, true), warm.BatchDone)
	f.must(err)
	const readers = 80 // over both engines' read pools
	stalled, release := make(chan struct{}, readers), make(chan struct{})
	errs := make(chan error, readers)
	for range readers {
		go func() {
			first := true
			errs <- f.s.Tasks(f.ctx, "j1", warm.TaskFilter{}, func(warm.TaskRow) error {
				if first {
					first = false
					stalled <- struct{}{}
					<-release
				}
				return nil
			})
		}()
	}
	ctx, cancel := context.WithTimeout(f.ctx, 10*time.Second)
	defer cancel()
	for i := range readers {
		select {
		case <-stalled:
		case <-ctx.Done():
			close(release)
			t.Fatalf("only %d of %d reports had their first row in 10 s: the others wait for connections the stalled ones hold", i, readers)
		}
	}
	if _, err := f.s.Job(ctx, "j1"); err != nil {
		t.Errorf("a read while %d reports are stalled: %v", readers, err)
	}
	if _, err := f.s.Summary(ctx, "j1"); err != nil {
		t.Errorf("a summary while %d reports are stalled: %v", readers, err)
	}
	close(release)
	for range readers {
		f.must(<-errs)
	}
}

func testFinishAndInProgress(t *testing.T, f *fixture) {
	batches := f.planned("j1", 4)
	f.must(f.s.ClaimBatch(f.ctx, batches[0], "agent-1", 4))
	p := f.progress("j1")
	if p.InProgress != 4 || p.Available() != 4 {
		t.Fatalf("after claim: in progress %d available %d", p.InProgress, p.Available())
	}
	_, err := f.s.RecordResults(f.ctx, batches[0], results("AAA1-P1", 0, 3, true), warm.BatchRunning)
	f.must(err)
	if p := f.progress("j1"); p.InProgress != 1 || p.Done != 3 || p.Available() != 4 {
		t.Fatalf("after 3 results: %+v avail %d", p.Counts, p.Available())
	}
	// Interrupted: the claim is released, the rest waits.
	_, err = f.s.RecordResults(f.ctx, batches[0], nil, warm.BatchPending)
	f.must(err)
	if p := f.progress("j1"); p.InProgress != 0 || p.Available() != 5 {
		t.Fatalf("after release: %+v avail %d", p.Counts, p.Available())
	}
	_, err = f.s.RecordResults(f.ctx, batches[0], results("AAA1-P1", 3, 4, true), warm.BatchDone)
	f.must(err)
	st, err := f.s.RecordResults(f.ctx, batches[1], results("BBB1-P1", 0, 4, false), warm.BatchDone)
	f.must(err)
	if st != warm.StatusFinished {
		t.Fatalf("status after last task: %s", st)
	}
	p = f.progress("j1")
	if p.Status != warm.StatusFinished || p.Available() != 0 || p.Running() != 0 {
		t.Fatalf("finished job: %s avail %d running %d", p.Status, p.Available(), p.Running())
	}
	// A job not fully planned does not finish even when its counts match.
	f.job("j2", "https://a.test/")
	_, err = f.s.Transition(f.ctx, "j2", []warm.Status{warm.StatusCreated}, warm.StatusInProgress, "")
	f.must(err)
	f.must(f.s.SavePOPs(f.ctx, "j2", []warm.POPState{{Code: "AAA1-P1", Addresses: []string{"192.0.2.1"}}}))
	b := warm.Batch{JobID: "j2", Seq: 0, POP: "AAA1-P1", From: 0, To: 1}
	us, _ := f.s.URLs(f.ctx, "j2", 0, 1)
	f.must(f.s.SavePlanChunk(f.ctx, "j2", warm.PlanChunk{URLs: us, Batches: []warm.Batch{b}, PlannedURLs: 1}))
	st, err = f.s.RecordResults(f.ctx, b, results("AAA1-P1", 0, 1, true), warm.BatchDone)
	f.must(err)
	if st != warm.StatusInProgress {
		t.Fatalf("unplanned job finished: %s", st)
	}
	f.must(f.s.FinishPlanning(f.ctx, "j2"))
	if p := f.progress("j2"); p.Status != warm.StatusInProgress || !p.Planned {
		t.Fatalf("planned, done, not probed: %s", p.Status)
	}
	f.must(f.s.SaveProbeChunk(f.ctx, "j2", warm.ProbeChunk{URLs: us, ProbedURLs: 1}))
	f.must(f.s.FinishProbing(f.ctx, "j2"))
	if p := f.progress("j2"); p.Status != warm.StatusFinished || !p.Probed {
		t.Fatalf("planned, probed and done: %s", p.Status)
	}
}

func testAllProbesFailed(t *testing.T, f *fixture) {
	f.job("j1", "https://a.test/0", "https://a.test/1")
	_, err := f.s.Transition(f.ctx, "j1", []warm.Status{warm.StatusCreated}, warm.StatusInProgress, "")
	f.must(err)
	f.must(f.s.SavePOPs(f.ctx, "j1", []warm.POPState{{Code: "AAA1-P1", Addresses: []string{"192.0.2.1"}}}))
	us, _ := f.s.URLs(f.ctx, "j1", 0, 2)
	var failed []warm.Result
	for i := range us {
		us[i].Error, us[i].Probed = "size probe: HTTP 404 Not Found", true
		failed = append(failed, warm.Result{URLIndex: i, POP: "AAA1-P1", Error: us[i].Error})
	}
	f.must(f.s.SavePlanChunk(f.ctx, "j1", warm.PlanChunk{URLs: us, PlannedURLs: 2}))
	f.must(f.s.FinishPlanning(f.ctx, "j1"))
	f.must(f.s.SaveProbeChunk(f.ctx, "j1", warm.ProbeChunk{URLs: us, Failed: failed, ProbedURLs: 2}))
	f.must(f.s.FinishProbing(f.ctx, "j1"))
	p := f.progress("j1")
	if p.Status != warm.StatusFailed || p.Message == "" || p.Done != 2 || p.Failed != 2 {
		t.Fatalf("all probes failed: %s %q %+v", p.Status, p.Message, p.Counts)
	}
	sum, err := f.s.Summary(f.ctx, "j1")
	f.must(err)
	if len(sum.FailureURLs) != 2 || len(sum.FailurePOPs) != 0 {
		t.Fatalf("summary: %+v", sum)
	}
}

func testSummaryAndTasks(t *testing.T, f *fixture) {
	f.job("j1", "https://a.test/0", "https://a.test/1")
	_, err := f.s.Transition(f.ctx, "j1", []warm.Status{warm.StatusCreated}, warm.StatusInProgress, "")
	f.must(err)
	f.must(f.s.SavePOPs(f.ctx, "j1", []warm.POPState{
		{Code: "LIVE1-P1", Addresses: []string{"192.0.2.1"}},
		{Code: "DEAD1-P1", Addresses: []string{"192.0.2.9"}},
		{Code: "GONE1-P1", Error: "d1.gone1-p1.cloudfront.net does not resolve (NXDOMAIN)"},
		{Code: "SKIP1-P1", Skipped: true},
	}))
	live := warm.Batch{JobID: "j1", Seq: 0, POP: "LIVE1-P1", From: 0, To: 2}
	dead := warm.Batch{JobID: "j1", Seq: 1, POP: "DEAD1-P1", From: 0, To: 2}
	us, _ := f.s.URLs(f.ctx, "j1", 0, 2)
	f.must(f.s.SavePlanChunk(f.ctx, "j1", warm.PlanChunk{URLs: us, Batches: []warm.Batch{live, dead}, PlannedURLs: 2}))
	f.must(f.s.FinishPlanning(f.ctx, "j1"))
	f.must(f.s.SaveProbeChunk(f.ctx, "j1", warm.ProbeChunk{URLs: us, ProbedURLs: 2}))
	f.must(f.s.FinishProbing(f.ctx, "j1"))
	_, err = f.s.RecordResults(f.ctx, live, append(results("LIVE1-P1", 0, 1, true), results("LIVE1-P1", 1, 2, false)...), warm.BatchDone)
	f.must(err)
	refused := []warm.Result{
		{URLIndex: 0, POP: "DEAD1-P1", Attempts: 3, Error: "connect 192.0.2.9: connection refused", EdgeIP: "192.0.2.9"},
		{URLIndex: 1, POP: "DEAD1-P1", Attempts: 3, Error: "connect 192.0.2.9: connection refused", EdgeIP: "192.0.2.9"},
	}
	st, err := f.s.RecordResults(f.ctx, dead, refused, warm.BatchDone)
	f.must(err)
	if st != warm.StatusFinished {
		t.Fatalf("status %s", st)
	}
	sum, err := f.s.Summary(f.ctx, "j1")
	f.must(err)
	if !slices.Equal(sum.FailurePOPs, []string{"DEAD1-P1", "GONE1-P1"}) {
		t.Fatalf("failure pops %v", sum.FailurePOPs)
	}
	if !slices.Equal(sum.FailureURLs, []string{"https://a.test/1"}) {
		t.Fatalf("failure urls %v (a dead POP is the POP's failure, not its URLs')", sum.FailureURLs)
	}
	var rows []warm.TaskRow
	f.must(f.s.Tasks(f.ctx, "j1", warm.TaskFilter{FailedOnly: true}, func(r warm.TaskRow) error { rows = append(rows, r); return nil }))
	if len(rows) != 4 || rows[0].POP != "GONE1-P1" || rows[0].URL != "" || rows[1].POP != "DEAD1-P1" ||
		rows[3].POP != "LIVE1-P1" || rows[3].StatusCode != 404 || rows[3].URL != "https://a.test/1" {
		t.Fatalf("failed tasks: %+v", rows)
	}
	rows = rows[:0]
	f.must(f.s.Tasks(f.ctx, "j1", warm.TaskFilter{POP: "LIVE1-P1"}, func(r warm.TaskRow) error { rows = append(rows, r); return nil }))
	if len(rows) != 2 || !rows[0].OK || rows[0].TTFB != 3*time.Millisecond || rows[0].CacheStatus != "MISS" {
		t.Fatalf("tasks of one pop: %+v", rows)
	}
}

func testListJobs(t *testing.T, f *fixture) {
	f.job("old", "https://a.test/")
	f.now = f.now.Add(time.Minute)
	f.job("new", "https://a.test/")
	_, err := f.s.Transition(f.ctx, "old", []warm.Status{warm.StatusCreated}, warm.StatusStopped, "")
	f.must(err)
	jobs, err := f.s.ListJobs(f.ctx, warm.JobFilter{})
	f.must(err)
	if len(jobs) != 2 || jobs[0].ID != "new" || jobs[1].ID != "old" {
		t.Fatalf("list: %v", jobs)
	}
	jobs, err = f.s.ListJobs(f.ctx, warm.JobFilter{Status: warm.StatusStopped, Limit: 5})
	f.must(err)
	if len(jobs) != 1 || jobs[0].ID != "old" {
		t.Fatalf("list stopped: %v", jobs)
	}
}

func testSettings(t *testing.T, f *fixture) {
	n, err := f.s.DesiredCapacity(f.ctx)
	f.must(err)
	if n != -1 {
		t.Fatalf("unset capacity %d, want -1", n)
	}
	f.must(f.s.SetDesiredCapacity(f.ctx, 3))
	f.must(f.s.SetDesiredCapacity(f.ctx, 0))
	if n, _ := f.s.DesiredCapacity(f.ctx); n != 0 {
		t.Fatalf("capacity %d, want 0", n)
	}
	a, err := f.s.Secret(f.ctx, "reports")
	f.must(err)
	b, err := f.s.Secret(f.ctx, "reports")
	f.must(err)
	if len(a) != 32 || string(a) != string(b) {
		t.Fatal("secret not stable")
	}
}

func testAgents(t *testing.T, f *fixture) {
	beat := func(id string, started time.Time) []warm.Agent {
		live, _, err := f.s.Heartbeat(f.ctx, warm.Agent{ID: id, Name: id, Host: "h", Concurrency: 8, StartedAt: started, LastHeartbeat: f.now}, f.now.Add(-10*time.Second))
		f.must(err)
		return live
	}
	beat("b", f.now.Add(-time.Minute))
	live := beat("a", f.now)
	if len(live) != 2 || live[0].ID != "b" {
		t.Fatalf("live agents ranked by start: %+v", live)
	}
	f.now = f.now.Add(20 * time.Second)
	live = beat("a", f.now.Add(-20*time.Second))
	if len(live) != 1 || live[0].ID != "a" {
		t.Fatalf("silent agent still live: %+v", live)
	}
	f.must(f.s.RemoveAgent(f.ctx, "a"))
	all, err := f.s.Agents(f.ctx, time.Time{})
	f.must(err)
	if len(all) != 1 || all[0].ID != "b" {
		t.Fatalf("after remove: %+v", all)
	}
}

func testVariantsAndVerification(t *testing.T, f *fixture) {
	j := &warm.Job{ID: "j1", Status: warm.StatusInProgress, CFDomain: "d1.cloudfront.net", TargetType: "pop",
		Targets: []warm.Target{{Code: "AAA1-P1"}}, Verify: true, Encodings: []string{"br", "gzip"}, Expand: []string{"hls"},
		URLCount: 2, CreatedAt: f.now, UpdatedAt: f.now, TimeoutAt: f.now.Add(time.Hour)}
	f.must(f.s.CreateJob(f.ctx, j, []string{"https://a.test/0", "https://a.test/1"}))
	got, err := f.s.Job(f.ctx, "j1")
	f.must(err)
	if !got.Verify || fmt.Sprint(got.Encodings) != "[br gzip]" || fmt.Sprint(got.Expand) != "[hls]" {
		t.Fatalf("job: %+v", got)
	}
	f.must(f.s.SavePOPs(f.ctx, "j1", []warm.POPState{{Code: "AAA1-P1", Addresses: []string{"192.0.2.1"}}}))
	if p := f.progress("j1"); p.Total != 4 {
		t.Fatalf("total %d, want 2 URLs × 1 POP × 2 encodings", p.Total)
	}
	us, _ := f.s.URLs(f.ctx, "j1", 0, 2)
	b := warm.Batch{JobID: "j1", Seq: 0, POP: "AAA1-P1", From: 0, To: 2}
	f.must(f.s.SavePlanChunk(f.ctx, "j1", warm.PlanChunk{URLs: us, Batches: []warm.Batch{b}, PlannedURLs: 2}))
	tasks, err := f.s.PendingTasks(f.ctx, b, got.Variants())
	f.must(err)
	if len(tasks) != 4 || tasks[0].Variant != "br" || tasks[1].Variant != "gzip" || tasks[1].URLIndex != 0 {
		t.Fatalf("tasks: %+v", tasks)
	}
	rs := []warm.Result{
		{URLIndex: 0, POP: "AAA1-P1", Variant: "br", OK: true, StatusCode: 200, Attempts: 1, Verified: true},
		{URLIndex: 0, POP: "AAA1-P1", Variant: "gzip", OK: true, StatusCode: 200, Attempts: 1, Verified: true,
			Warning: "responses vary on Accept-Language; the job sends one value"},
		{URLIndex: 1, POP: "AAA1-P1", Variant: "br", OK: true, StatusCode: 200, Attempts: 1, Reason: "no-store"},
	}
	_, err = f.s.RecordResults(f.ctx, b, rs, warm.BatchRunning)
	f.must(err)
	tasks, err = f.s.PendingTasks(f.ctx, b, got.Variants())
	f.must(err)
	if len(tasks) != 1 || tasks[0].URLIndex != 1 || tasks[0].Variant != "gzip" {
		t.Fatalf("pending after three: %+v", tasks)
	}
	p := f.progress("j1")
	if p.Verified != 2 || p.NotCached != 1 || p.Done != 3 {
		t.Fatalf("counts %+v", p.Counts)
	}
	pops, _ := f.s.POPs(f.ctx, "j1")
	if pops[0].Verified != 2 || pops[0].NotCached != 1 {
		t.Fatalf("pop counts %+v", pops[0])
	}
	sum, err := f.s.Summary(f.ctx, "j1")
	f.must(err)
	if fmt.Sprint(sum.NotCachedURLs) != "[https://a.test/1]" || len(sum.Warnings) != 1 || len(sum.FailureURLs) != 0 {
		t.Fatalf("summary %+v", sum)
	}
	if want := []warm.NotCachedReason{{Reason: "no-store", Count: 1, ExampleURL: "https://a.test/1", ExamplePOP: "AAA1-P1"}}; !slices.Equal(sum.NotCachedReasons, want) {
		t.Fatalf("not cached reasons %+v, want %+v", sum.NotCachedReasons, want)
	}
	var rows []warm.TaskRow
	f.must(f.s.Tasks(f.ctx, "j1", warm.TaskFilter{}, func(r warm.TaskRow) error { rows = append(rows, r); return nil }))
	if len(rows) != 3 || rows[1].Variant != "gzip" || rows[1].Warning == "" || rows[2].Reason != "no-store" || !rows[0].Verified {
		t.Fatalf("rows %+v", rows)
	}
}

func testReplaceURLs(t *testing.T, f *fixture) {
	f.job("j1", "https://a.test/master.m3u8")
	f.must(f.s.SavePOPs(f.ctx, "j1", []warm.POPState{
		{Code: "AAA1-P1", Addresses: []string{"192.0.2.1"}}, {Code: "BBB1-P1", Addresses: []string{"192.0.2.2"}}}))
	f.must(f.s.ReplaceURLs(f.ctx, "j1", []string{"https://a.test/master.m3u8", "https://a.test/a.m3u8", "https://a.test/s1.ts"}))
	p := f.progress("j1")
	if p.URLCount != 3 || p.Total != 6 || !p.Expanded {
		t.Fatalf("after replace: %d URLs, %d tasks, expanded %v", p.URLCount, p.Total, p.Expanded)
	}
	all, err := f.s.JobURLs(f.ctx, "j1")
	f.must(err)
	if len(all) != 3 || all[2] != "https://a.test/s1.ts" {
		t.Fatalf("urls %v", all)
	}
}

// A job's notification is claimed only once the job has ended and it is
// due, by one claimant for the lease; its attempts are recorded on the job.
func testNotifications(t *testing.T, f *fixture) {
	j := &warm.Job{ID: "n1", Status: warm.StatusCreated, TargetType: "pop", Targets: []warm.Target{{Code: "AAA1-P1"}},
		Timeout: time.Minute, URLCount: 1, CreatedAt: f.now, UpdatedAt: f.now, TimeoutAt: f.now.Add(time.Minute),
		Notify: warm.Notification{URL: "https://hooks.example.com/x", State: warm.NotifyPending}}
	f.must(f.s.CreateJob(f.ctx, j, []string{"https://a.test/1"}))
	f.job("plain", "https://a.test/1") // no notification
	claim := func(at time.Time) []string {
		t.Helper()
		ps, err := f.s.ClaimNotifications(f.ctx, at, time.Minute, 10)
		f.must(err)
		var ids []string
		for _, p := range ps {
			ids = append(ids, p.ID)
		}
		return ids
	}
	if ids := claim(f.now); len(ids) != 0 {
		t.Fatalf("claimed %v of running jobs", ids)
	}
	for _, id := range []string{"n1", "plain"} {
		_, err := f.s.Transition(f.ctx, id, []warm.Status{warm.StatusCreated}, warm.StatusStopped, "stopped by request")
		f.must(err)
	}
	if ids := claim(f.now); fmt.Sprint(ids) != "[n1]" {
		t.Fatalf("claimed %v, want [n1]", ids)
	}
	if ids := claim(f.now.Add(30 * time.Second)); len(ids) != 0 {
		t.Fatalf("claimed %v again within the lease", ids)
	}
	f.must(f.s.NotifyAttempt(f.ctx, "n1", warm.NotifyPending, "answered 503", f.now, f.now.Add(10*time.Second)))
	if ids := claim(f.now.Add(5 * time.Second)); len(ids) != 0 {
		t.Fatalf("claimed %v before the retry is due", ids)
	}
	if ids := claim(f.now.Add(10 * time.Second)); fmt.Sprint(ids) != "[n1]" {
		t.Fatalf("the retry: claimed %v", ids)
	}
	at := f.now.Add(11 * time.Second)
	f.must(f.s.NotifyAttempt(f.ctx, "n1", warm.NotifyDelivered, "", at, time.Time{}))
	if ids := claim(f.now.Add(time.Hour)); len(ids) != 0 {
		t.Fatalf("claimed %v once delivered", ids)
	}
	got, err := f.s.Job(f.ctx, "n1")
	f.must(err)
	if n := got.Notify; n.State != warm.NotifyDelivered || n.Attempts != 2 || n.Error != "" || !n.At.Equal(at) || n.URL != j.Notify.URL {
		t.Fatalf("notification %+v", n)
	}
}

// Past retention an ended job loses its per-task rows and keeps its
// summary; running jobs and recent ones are untouched; many jobs leave the
// task tables at the floor of those kept.
func testRetention(t *testing.T, f *fixture) {
	count := func(table string) (n int) {
		t.Helper()
		f.must(f.s.DB().QueryRow(f.ctx, `SELECT COUNT(*) FROM `+table).Scan(&n))
		return n
	}
	var before *warm.Summary
	for i := range 5 {
		id := fmt.Sprintf("old%d", i)
		batches := f.planned(id, 50)
		_, err := f.s.RecordResults(f.ctx, batches[0], results("AAA1-P1", 0, 50, true), warm.BatchDone)
		f.must(err)
		// old0 fails half its URLs at BBB1-P1 (a failure of theirs, not of
		// the POP, which warmed the other half).
		_, err = f.s.RecordResults(f.ctx, batches[1], append(results("BBB1-P1", 0, 25, i != 0), results("BBB1-P1", 25, 50, true)...), warm.BatchDone)
		f.must(err)
		if i == 0 {
			before, err = f.s.Summary(f.ctx, id)
			f.must(err)
		}
	}
	f.now = f.now.Add(48 * time.Hour)
	recent := f.planned("recent", 25)
	_, err := f.s.RecordResults(f.ctx, recent[0], results("AAA1-P1", 0, 25, true), warm.BatchDone)
	f.must(err)
	_, err = f.s.RecordResults(f.ctx, recent[1], results("BBB1-P1", 0, 25, true), warm.BatchDone)
	f.must(err)
	running := f.planned("running", 10)
	_, err = f.s.RecordResults(f.ctx, running[0], results("AAA1-P1", 0, 5, true), warm.BatchRunning)
	f.must(err)
	if n := count("results"); n != 5*100+50+5 {
		t.Fatalf("%d results before trimming", n)
	}
	trimmed, err := f.s.Retain(f.ctx, f.now.Add(-24*time.Hour), 3)
	f.must(err)
	if len(trimmed) != 3 {
		t.Fatalf("trimmed %v, want 3 (the limit)", trimmed)
	}
	more, err := f.s.Retain(f.ctx, f.now.Add(-24*time.Hour), 3)
	f.must(err)
	if len(more) != 2 {
		t.Fatalf("then trimmed %v, want the 2 left", more)
	}
	if n := count("results"); n != 55 {
		t.Fatalf("%d results after trimming, want the recent and running jobs' 55", n)
	}
	if n := count("job_urls"); n != 35 {
		t.Fatalf("%d URLs after trimming, want the recent and running jobs' 35", n)
	}
	after, err := f.s.Summary(f.ctx, "old0")
	f.must(err)
	if !slices.Equal(after.FailureURLs, before.FailureURLs) || len(after.FailureURLs) != 25 || after.Job.ID != "old0" ||
		!slices.Equal(after.FailurePOPs, before.FailurePOPs) {
		t.Fatalf("summary after trimming %+v, before %+v", after, before)
	}
	if p := f.progress("old0"); p.Done != 100 || p.Failed != 25 {
		t.Fatalf("counters after trimming: %+v", p.Counts)
	}
	if again, err := f.s.Retain(f.ctx, f.now.Add(time.Second), 10); err != nil || fmt.Sprint(again) != "[recent]" {
		t.Fatalf("a later sweep trimmed %v, %v; want only the recent job (not the running one)", again, err)
	}
}

// A POP that refuses every task (a geo-block: 403s) while another warms
// them is the failure, not its URLs; a URL refused everywhere is the URL's.
func testRefusingPOP(t *testing.T, f *fixture) {
	batches := f.planned("j1", 4)
	_, err := f.s.RecordResults(f.ctx, batches[0], append(results("AAA1-P1", 0, 3, true), results("AAA1-P1", 3, 4, false)...), warm.BatchDone)
	f.must(err)
	refused := results("BBB1-P1", 0, 4, false)
	for i := range refused {
		refused[i].StatusCode, refused[i].Error = 403, "HTTP 403 Forbidden"
	}
	_, err = f.s.RecordResults(f.ctx, batches[1], refused, warm.BatchDone)
	f.must(err)
	sum, err := f.s.Summary(f.ctx, "j1")
	f.must(err)
	if fmt.Sprint(sum.FailurePOPs) != "[BBB1-P1]" || fmt.Sprint(sum.FailureURLs) != "[https://example.test/3]" {
		t.Fatalf("failure pops %v, urls %v; want the refusing POP, and only the URL that failed at the other too", sum.FailurePOPs, sum.FailureURLs)
	}
}
