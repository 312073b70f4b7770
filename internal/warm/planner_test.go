package warm_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"prewarm/internal/store"
	"prewarm/internal/warm"
)

func TestPlannerQueuesABatchPerPOPPerBatchSize(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		a, b, c := pop("AAA1-P1", "192.0.2.1"), pop("BBB1-P1", "192.0.2.2"), pop("CCC1-P1", "192.0.2.3")
		gone := warm.POPState{Code: "GON1-P1", Explicit: true, Error: "does not resolve"}
		skipped := warm.POPState{Code: "SKP1-P1", Skipped: true}
		res := &resolver{pops: []warm.POPState{a, gone, b, skipped, c}}
		pr := &prober{}
		e.submit("j1", urlList(10), time.Hour, func(j *warm.Job) { j.Encodings = []string{"br", "gzip"} })
		p := e.planner(res, pr)
		p.ChunkSize, p.BatchSize = 8, 4

		if err := p.Plan(e.Ctx, "j1"); err != nil {
			t.Fatal(err)
		}
		usable := []warm.POPState{a, b, c}
		seqs := e.Q.Batches()
		if sorted := slices.Sorted(slices.Values(seqs)); !slices.Equal(sorted, []int{0, 1, 2, 3, 4, 5, 6, 7, 8}) {
			t.Fatalf("queued batches %v, want 0..8 once each (3 ranges × 3 POPs)", seqs)
		}
		for _, seq := range seqs {
			from := seq / 3 * 4
			want := warm.Batch{JobID: "j1", Seq: seq, POP: usable[seq%3].Code, From: from, To: min(from+4, 10)}
			if got := e.batch("j1", seq); got != want {
				t.Errorf("batch %d is %+v, want %+v", seq, got, want)
			}
		}
		prog := e.Progress("j1")
		if prog.Status != warm.StatusInProgress || prog.Total != 10*3*2 || !prog.Planned || prog.PlannedURLs != 10 ||
			!prog.Probed || prog.ProbedURLs != 10 || prog.TotalSize != 10*probedSize*3*2 {
			t.Fatalf("%s, counts %+v: want 60 tasks planned and probed", prog.Status, prog.Counts)
		}
		saved, err := e.St.POPs(e.Ctx, "j1")
		e.Must(err)
		var codes []string
		for _, s := range saved {
			codes = append(codes, s.Code)
		}
		if !slices.Equal(codes, []string{"AAA1-P1", "GON1-P1", "BBB1-P1", "SKP1-P1", "CCC1-P1"}) || saved[1].Error == "" || !saved[3].Skipped {
			t.Fatalf("saved POPs %+v", saved)
		}
		for i := range 10 {
			if n := pr.count(urlOf(i)); n != 1 {
				t.Errorf("%s probed %d times, want 1", urlOf(i), n)
			}
		}
		for _, r := range pr.reqs {
			if !slices.Equal(r.Headers, []string{"X-A: 1"}) || len(r.Addresses) != 1 {
				t.Errorf("probe %+v: want the job's headers through one usable POP", r)
			}
		}

		// Run again (a retry, a restart): the POPs are read back, not
		// resolved; nothing is queued or probed twice.
		if err := p.Plan(e.Ctx, "j1"); err != nil {
			t.Fatal(err)
		}
		if n := res.count(); n != 1 {
			t.Fatalf("POPs resolved %d times, want once", n)
		}
		if n := len(e.Q.Batches()); n != 9 {
			t.Fatalf("%d batches queued after a second run, want 9", n)
		}
		if n := pr.total(); n != 10 {
			t.Fatalf("%d probes after a second run, want 10", n)
		}
		if got := e.Progress("j1").TotalSize; got != prog.TotalSize {
			t.Fatalf("expected size %d after a second run, want %d", got, prog.TotalSize)
		}
	})
}

// The URLs' hosts are checked against cf_domain once, before anything is
// queued, and only for CloudFront POPs: an edge of an edges file answers
// whatever host it is set up for.
func TestPlannerWarnsOfHostsCFDomainMayNotServe(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		res := &resolver{pops: []warm.POPState{pop("AAA1-P1", "192.0.2.1")}, strangers: map[string]bool{"other.test": true}}
		urls := []string{"https://d1.cloudfront.net/a", "https://www.example.test/b", "https://OTHER.test/c", "https://www.example.test/d"}
		e.submit("cf", urls, time.Hour, nil)
		if err := e.planner(res, &prober{}).Plan(e.Ctx, "cf"); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(res.checked, []string{"www.example.test", "other.test"}) {
			t.Fatalf("hosts checked %q, want each host but cf_domain's once", res.checked)
		}
		sum, err := e.St.Summary(e.Ctx, "cf")
		e.Must(err)
		if !slices.Equal(sum.Warnings, []string{"other.test is not d1.cloudfront.net"}) {
			t.Fatalf("warnings %q", sum.Warnings)
		}

		res.checked = nil
		e.submit("edges", urls, time.Hour, func(j *warm.Job) { j.Targets = []warm.Target{{Code: "fra-1", Explicit: true, Edge: true}} })
		if err := e.planner(res, &prober{}).Plan(e.Ctx, "edges"); err != nil {
			t.Fatal(err)
		}
		if len(res.checked) != 0 {
			t.Fatalf("an edges-file job had its hosts checked: %q", res.checked)
		}
	})
}

func TestPlannerFailsAJobWithoutAUsablePOP(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		res := &resolver{pops: []warm.POPState{
			{Code: "AAA1-P1", Explicit: true, Error: "does not resolve"},
			{Code: "BBB1-P1", Skipped: true},
			{Code: "CCC1-P1", Explicit: true, Error: "refused address 10.0.0.1"},
		}}
		pr := &prober{}
		e.submit("j1", urlList(3), time.Hour, nil)
		e.planFails(e.planner(res, pr), pr,
			"no POP could be used: AAA1-P1: does not resolve; BBB1-P1: skipped (does not resolve); CCC1-P1: refused address 10.0.0.1")
	})
}

// planFails plans j1 and checks that planning ended the job FAILED with
// msg before queuing a batch or probing a URL. Plan itself succeeds: a job
// that cannot run is ended, not retried.
func (e *env) planFails(p *warm.Planner, pr *prober, msg string) {
	e.T.Helper()
	if err := p.Plan(e.Ctx, "j1"); err != nil {
		e.T.Fatalf("Plan returned %v; a job that cannot run is failed, not retried", err)
	}
	if prog := e.Progress("j1"); prog.Status != warm.StatusFailed || prog.Message != msg {
		e.T.Fatalf("%s %q, want FAILED with %q", prog.Status, prog.Message, msg)
	}
	if len(e.Q.Batches()) != 0 || pr.total() != 0 {
		e.T.Fatal("a job that failed in planning was queued or probed")
	}
}

// faulty fails some of the store's writes.
type faulty struct {
	*store.Store
	mu        sync.Mutex
	note      error
	chunk     error
	chunksOK  int // SavePlanChunk calls that succeed before chunk is returned
	chunkSeen int
}

func (f *faulty) Note(ctx context.Context, jobID, msg string) error {
	f.mu.Lock()
	err := f.note
	f.mu.Unlock()
	if err != nil {
		return err
	}
	return f.Store.Note(ctx, jobID, msg)
}

func (f *faulty) SavePlanChunk(ctx context.Context, jobID string, c warm.PlanChunk) error {
	f.mu.Lock()
	f.chunkSeen++
	err := f.chunk
	if f.chunkSeen <= f.chunksOK {
		err = nil
	}
	f.mu.Unlock()
	if err != nil {
		return err
	}
	return f.Store.SavePlanChunk(ctx, jobID, c)
}

func (f *faulty) heal() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.note, f.chunk = nil, nil
}

// asking is a job edit asking for an expansion ("expand") or for an
// invalidation ("invalidate") before the job is warmed.
func asking(kind string) func(*warm.Job) {
	return func(j *warm.Job) {
		if kind == "expand" {
			j.Expand = []string{"hls"}
		} else {
			j.NeedInvalidate = true
		}
	}
}

func TestPlannerReturnsAFailedNote(t *testing.T) {
	for _, kind := range []string{"expand", "invalidate"} {
		t.Run(kind, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				e := newEnv(t)
				boom := errors.New("database is locked")
				p := e.planner(&resolver{pops: []warm.POPState{pop("AAA1-P1", "192.0.2.1")}}, &prober{})
				p.Store = &faulty{Store: e.St, note: boom}
				x, v := &expander{urls: urlList(3)}, &invalidator{q: e.Q}
				p.Expander, p.Invalidator = x, v
				e.submit("j1", urlList(2), time.Hour, asking(kind))
				if err := p.Plan(e.Ctx, "j1"); !errors.Is(err, boom) {
					t.Fatalf("Plan returned %v, want the store's error", err)
				}
				e.WantStatus("j1", warm.StatusInProgress) // a store error must not end the job
				if x.calls+v.calls != 0 || len(e.Q.Batches()) != 0 {
					t.Fatal("planning went on past the failed write")
				}
			})
		})
	}
}

// A write of the plan that fails is returned, and the step's retry
// resumes after the last chunk written, queuing no batch twice.
func TestPlannerResumesAfterTheLastPlanChunkWritten(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		boom := errors.New("disk I/O error")
		pr := &prober{}
		p := e.planner(&resolver{pops: []warm.POPState{pop("AAA1-P1", "192.0.2.1"), pop("BBB1-P1", "192.0.2.2")}}, pr)
		f := &faulty{Store: e.St, chunk: boom, chunksOK: 1}
		p.Store = f
		e.submit("j1", urlList(10), time.Hour, nil)

		if err := p.Plan(e.Ctx, "j1"); !errors.Is(err, boom) {
			t.Fatalf("Plan returned %v, want the store's error", err)
		}
		prog := e.Progress("j1")
		if prog.PlannedURLs != 4 || prog.Planned || prog.ProbedURLs != 0 || prog.Status != warm.StatusInProgress {
			t.Fatalf("%s, counts %+v: want the first chunk of 4 planned, nothing probed", prog.Status, prog.Counts)
		}
		if got := e.Q.Batches(); !slices.Equal(got, []int{0, 1, 2, 3}) {
			t.Fatalf("queued %v before the failure, want the first chunk's 0..3", got)
		}

		f.heal()
		if err := p.Plan(e.Ctx, "j1"); err != nil {
			t.Fatal(err)
		}
		if got := slices.Sorted(slices.Values(e.Q.Batches())); !slices.Equal(got, []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}) {
			t.Fatalf("queued %v over both runs, want 0..9 once each", got)
		}
		if prog := e.Progress("j1"); !prog.Planned || prog.Total != 20 || !prog.Probed {
			t.Fatalf("counts %+v after the resume", prog.Counts)
		}
	})
}

// Past its budget, planning checkpoints and asks to continue later; the
// next run probes only what is left and counts nothing twice.
func TestPlannerBudgetInterruptsProbingAndTheResumeCountsNothingTwice(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		pr := &prober{delay: time.Second}
		p := e.planner(&resolver{pops: []warm.POPState{pop("AAA1-P1", "192.0.2.1"), pop("BBB1-P1", "192.0.2.2")}}, pr)
		p.ChunkSize, p.BatchSize, p.ProbeConcurrency, p.Budget = 2, 2, 1, 2500*time.Millisecond
		e.submit("j1", urlList(6), time.Hour, nil)

		begin := time.Now()
		if err := p.Plan(e.Ctx, "j1"); !errors.Is(err, warm.ErrInterrupted) {
			t.Fatalf("Plan returned %v, want ErrInterrupted", err)
		}
		if d := time.Since(begin); d != 4*time.Second {
			t.Fatalf("the first run took %v, want 4s (two chunks of two one-second probes)", d)
		}
		prog := e.Progress("j1")
		if !prog.Planned || prog.ProbedURLs != 4 || prog.Probed || prog.TotalSize != 4*probedSize*2 {
			t.Fatalf("counts %+v: want everything queued, 4 URLs probed", prog.Counts)
		}
		if n := len(e.Q.Batches()); n != 6 {
			t.Fatalf("%d batches queued, want 6", n)
		}

		if err := p.Plan(e.Ctx, "j1"); err != nil {
			t.Fatal(err)
		}
		prog = e.Progress("j1")
		if !prog.Probed || prog.ProbedURLs != 6 || prog.TotalSize != 6*probedSize*2 || prog.Total != 12 {
			t.Fatalf("counts %+v after the resume: want 6 URLs probed and sized once", prog.Counts)
		}
		if n := len(e.Q.Batches()); n != 6 {
			t.Fatalf("%d batches queued after the resume, want 6", n)
		}
		for i := range 4 {
			if n := pr.count(urlOf(i)); n != 1 {
				t.Errorf("%s probed %d times; its chunk was saved before the interruption", urlOf(i), n)
			}
		}
	})
}

func TestPlannerExpandsThroughTheFirstUsablePOP(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		gone := warm.POPState{Code: "GON1-P1", Explicit: true, Error: "does not resolve"}
		a, b := pop("AAA1-P1", "192.0.2.1"), pop("BBB1-P1", "192.0.2.2")
		p := e.planner(&resolver{pops: []warm.POPState{gone, a, b}}, &prober{})
		x := &expander{urls: urlList(5)}
		p.Expander = x
		e.submit("j1", urlList(2), time.Hour, func(j *warm.Job) { j.Expand = []string{"hls"} })

		if err := p.Plan(e.Ctx, "j1"); err != nil {
			t.Fatal(err)
		}
		if x.via.Code != a.Code || x.limit != p.MaxURLs {
			t.Fatalf("expanded via %s with limit %d, want %s and %d", x.via.Code, x.limit, a.Code, p.MaxURLs)
		}
		got, err := e.St.JobURLs(e.Ctx, "j1")
		e.Must(err)
		if !slices.Equal(got, urlList(5)) {
			t.Fatalf("URL list %v after expansion", got)
		}
		prog := e.Progress("j1")
		if !prog.Expanded || prog.Total != 5*2 || prog.PlannedURLs != 5 || prog.Message != "expanded 2 URLs to 5" {
			t.Fatalf("%q, counts %+v: want 10 tasks over the 5 URLs", prog.Message, prog.Counts)
		}
		if last := e.batch("j1", 5); last.From != 4 || last.To != 5 || last.POP != b.Code {
			t.Fatalf("last batch %+v", last)
		}
		// A resumed run does not expand again.
		if err := p.Plan(e.Ctx, "j1"); err != nil || x.calls != 1 {
			t.Fatalf("second run: %v, %d expansions", err, x.calls)
		}
	})
}

// A failed expansion or invalidation fails the job before anything is
// probed or queued.
func TestPlannerFailsTheJobWhenExpansionOrInvalidationFails(t *testing.T) {
	for kind, msg := range map[string]string{
		"expand":     "expand: master.m3u8: HTTP 404",
		"invalidate": "invalidation failed, nothing was warmed: AccessDenied",
	} {
		t.Run(kind, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				e := newEnv(t)
				pr := &prober{}
				p := e.planner(&resolver{pops: []warm.POPState{pop("AAA1-P1", "192.0.2.1")}}, pr)
				p.Expander = &expander{err: errors.New("master.m3u8: HTTP 404")}
				p.Invalidator = &invalidator{q: e.Q, err: errors.New("AccessDenied")}
				e.submit("j1", urlList(2), time.Hour, asking(kind))
				e.planFails(p, pr, msg)
			})
		})
	}
}

// A job that invalidates and expands clears its documents and what they
// list at the POP (the old release), then reads them again and warms what
// they list after the invalidation (the new one).
func TestPlannerExpandsAfterTheInvalidation(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		p := e.planner(&resolver{pops: []warm.POPState{pop("AAA1-P1", "192.0.2.1")}}, &prober{})
		master := "https://www.example.test/master.m3u8"
		stale := []string{master, "https://www.example.test/v1/a.ts", "https://www.example.test/v1/b.ts"}
		fresh := []string{master, "https://www.example.test/v2/a.ts", "https://www.example.test/v2/b.ts"}
		v := &invalidator{q: e.Q}
		x := &expander{urls: stale, then: fresh, hook: func() string { return fmt.Sprintf("%d invalidations", v.calls) }}
		p.Expander, p.Invalidator = x, v
		e.submit("j1", []string{master}, time.Hour, func(j *warm.Job) { j.NeedInvalidate, j.Expand = true, []string{"hls"} })
		if err := p.Plan(e.Ctx, "j1"); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(v.urls, stale) {
			t.Fatalf("invalidated %v, want the documents and what they listed before: %v", v.urls, stale)
		}
		if !slices.Equal(x.seen, []string{"0 invalidations", "1 invalidations"}) {
			t.Fatalf("reads of the documents: %v, want one before and one after the invalidation", x.seen)
		}
		urls, err := e.St.JobURLs(e.Ctx, "j1")
		e.Must(err)
		if !slices.Equal(urls, fresh) {
			t.Fatalf("the job warms %v, want what the documents list after the invalidation: %v", urls, fresh)
		}
	})
}

func TestPlannerInvalidatesBeforeQueuingAnything(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		p := e.planner(&resolver{pops: []warm.POPState{pop("AAA1-P1", "192.0.2.1"), pop("BBB1-P1", "192.0.2.2")}}, &prober{})
		v := &invalidator{q: e.Q}
		p.Invalidator = v
		e.submit("j1", urlList(3), time.Hour, func(j *warm.Job) { j.NeedInvalidate = true })
		if err := p.Plan(e.Ctx, "j1"); err != nil {
			t.Fatal(err)
		}
		if v.calls != 1 || v.before != 0 || !slices.Equal(v.urls, urlList(3)) {
			t.Fatalf("invalidated %d times, with %d batches already queued, urls %v", v.calls, v.before, v.urls)
		}
		prog := e.Progress("j1")
		if !prog.Invalidated || prog.Message != "invalidated 3 paths at 2 POPs" || len(e.Q.Batches()) != 4 {
			t.Fatalf("%q, counts %+v, %d batches", prog.Message, prog.Counts, len(e.Q.Batches()))
		}
		if err := p.Plan(e.Ctx, "j1"); err != nil || v.calls != 1 {
			t.Fatalf("second run: %v, %d invalidations; want none again", err, v.calls)
		}
	})
}

// A URL the edge answers with an error fails at every POP in every
// variant; one no POP answered is the POPs' fault and is warmed anyway.
func TestPlannerFailsURLsThatFailTheProbe(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		pr := &prober{status: map[string]int{urlOf(1): 404}, silent: map[string]bool{urlOf(2): true}}
		p := e.planner(&resolver{pops: []warm.POPState{pop("AAA1-P1", "192.0.2.1"), pop("BBB1-P1", "192.0.2.2")}}, pr)
		e.submit("j1", urlList(3), time.Hour, func(j *warm.Job) { j.Encodings = []string{"br", "gzip"} })
		if err := p.Plan(e.Ctx, "j1"); err != nil {
			t.Fatal(err)
		}
		prog := e.Progress("j1")
		if prog.Failed != 4 || prog.Done != 4 || prog.TotalSize != probedSize*2*2 || prog.Status != warm.StatusInProgress {
			t.Fatalf("%s, counts %+v: want the 404 failed at 2 POPs × 2 encodings", prog.Status, prog.Counts)
		}
		if n := pr.count(urlOf(2)); n != 2 {
			t.Fatalf("the unanswered URL was probed %d times, want once per POP", n)
		}
		var failed []string
		e.Must(e.St.Tasks(e.Ctx, "j1", warm.TaskFilter{FailedOnly: true}, func(r warm.TaskRow) error {
			// Every POP's task names the POPs that agreed.
			if r.URL != urlOf(1) || r.Error != "size probe through BBB1-P1 and AAA1-P1: HTTP 404" {
				t.Errorf("failed task %+v", r)
			}
			failed = append(failed, r.POP+" "+r.Variant)
			return nil
		}))
		slices.Sort(failed)
		if !slices.Equal(failed, []string{"AAA1-P1 br", "AAA1-P1 gzip", "BBB1-P1 br", "BBB1-P1 gzip"}) {
			t.Fatalf("failed tasks %v", failed)
		}
	})
}

// One POP's refusal is that POP's: a URL a geo-blocking POP answers 403
// is probed through the next POP, and fails nowhere at planning.
func TestPlannerDoesNotFailAURLForOnePOPsRefusal(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		pr := &prober{refuse: map[string]int{"192.0.2.1": 403}}
		p := e.planner(&resolver{pops: []warm.POPState{pop("AAA1-P1", "192.0.2.1"), pop("BBB1-P1", "192.0.2.2"),
			pop("CCC1-P1", "192.0.2.3")}}, pr)
		e.submit("j1", urlList(6), time.Hour, nil)
		if err := p.Plan(e.Ctx, "j1"); err != nil {
			t.Fatal(err)
		}
		if prog := e.Progress("j1"); prog.Failed != 0 || prog.TotalSize != probedSize*6*3 {
			t.Fatalf("counts %+v: want no URL failed by AAA1-P1's refusal, every size known", prog.Counts)
		}
	})
}

func TestPlannerFailsAJobWhoseEveryURLFailsTheProbe(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		pr := &prober{status: map[string]int{urlOf(0): 404, urlOf(1): 403}}
		p := e.planner(&resolver{pops: []warm.POPState{pop("AAA1-P1", "192.0.2.1")}}, pr)
		e.submit("j1", urlList(2), time.Hour, nil)
		if err := p.Plan(e.Ctx, "j1"); err != nil {
			t.Fatal(err)
		}
		if prog := e.Progress("j1"); prog.Status != warm.StatusFailed || prog.Message != "every URL failed the size probe" {
			t.Fatalf("%s %q", prog.Status, prog.Message)
		}
	})
}

func TestPlannerDoesNothingForAJobPastItsDeadlineOrEnded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		res, pr := &resolver{pops: []warm.POPState{pop("AAA1-P1", "192.0.2.1")}}, &prober{}
		p := e.planner(res, pr)
		e.submit("late", urlList(2), time.Minute, nil)
		e.submit("stopped", urlList(2), time.Hour, nil)
		_, err := e.St.Transition(e.Ctx, "stopped", []warm.Status{warm.StatusCreated}, warm.StatusStopped, "")
		e.Must(err)
		time.Sleep(time.Minute)

		for _, id := range []string{"late", "stopped"} {
			if err := p.Plan(e.Ctx, id); err != nil {
				t.Fatalf("%s: Plan returned %v", id, err)
			}
		}
		if res.count() != 0 || pr.total() != 0 || len(e.Q.Batches()) != 0 {
			t.Fatal("planning went ahead")
		}
		// The timeout step, not the planner, ends a late job.
		e.WantStatus("late", warm.StatusCreated)
		wantNotFound(t, p.Plan(e.Ctx, "nope"))
	})
}

// Probing stops at the job's deadline without an error (the timeout step
// ends the job), but a shutdown is an error, so the step runs again.
func TestPlannerProbingStopsAtTheDeadlineAndOnShutdown(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		p := e.planner(&resolver{pops: []warm.POPState{pop("AAA1-P1", "192.0.2.1")}}, &prober{delay: time.Hour})
		e.submit("late", urlList(3), 10*time.Second, nil)
		e.submit("cut", urlList(3), time.Hour, nil)

		begin := time.Now()
		if err := p.Plan(e.Ctx, "late"); err != nil {
			t.Fatalf("Plan returned %v at the deadline, want nil", err)
		}
		if d := time.Since(begin); d != 10*time.Second {
			t.Fatalf("Plan returned after %v, want at the 10s deadline", d)
		}
		if prog := e.Progress("late"); prog.Status != warm.StatusInProgress || prog.ProbedURLs != 0 || !prog.Planned {
			t.Fatalf("%s, counts %+v", prog.Status, prog.Counts)
		}

		ctx, cancel := context.WithTimeout(e.Ctx, 5*time.Second)
		defer cancel()
		if err := p.Plan(ctx, "cut"); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Plan returned %v on shutdown, want the context's error", err)
		}
		if prog := e.Progress("cut"); prog.Status != warm.StatusInProgress || prog.ProbedURLs != 0 {
			t.Fatalf("%s, counts %+v", prog.Status, prog.Counts)
		}
	})
}

func TestPlannerStopsProbingAJobThatWasStopped(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		pr := &prober{delay: time.Second}
		p := e.planner(&resolver{pops: []warm.POPState{pop("AAA1-P1", "192.0.2.1")}}, pr)
		p.ChunkSize, p.BatchSize = 2, 2
		e.submit("j1", urlList(6), time.Hour, nil)
		begin := time.Now()
		done := make(chan error, 1)
		go func() { done <- p.Plan(e.Ctx, "j1") }()

		time.Sleep(1500 * time.Millisecond) // the first chunk is saved at 1s
		_, err := e.St.Transition(e.Ctx, "j1", []warm.Status{warm.StatusInProgress}, warm.StatusStopped, "stopped by request")
		e.Must(err)
		if err := <-done; err != nil {
			t.Fatalf("Plan returned %v for a stopped job", err)
		}
		if prog := e.Progress("j1"); prog.Status != warm.StatusStopped || prog.ProbedURLs != 2 {
			t.Fatalf("%s with %d URLs probed, want STOPPED with the first chunk's 2", prog.Status, prog.ProbedURLs)
		}
		// The stop is seen when the chunk under way ends (2s); the
		// probes of the next one are abandoned, not waited for.
		if d := time.Since(begin); d != 2*time.Second {
			t.Fatalf("Plan returned after %v, want 2s", d)
		}
	})
}

// A job with a rate is not size-probed: each probe is a fetch through a POP
// that would spend the rate before the warm got any of it.
func TestPlannerDoesNotProbeAJobWithARate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		pr := &prober{}
		p := e.planner(&resolver{pops: []warm.POPState{pop("AAA1-P1", "192.0.2.1")}}, pr)
		e.submit("j1", urlList(3), time.Hour, func(j *warm.Job) { j.MaxRPS = 5 })
		e.submit("j2", urlList(3), time.Hour, nil)
		for _, id := range []string{"j1", "j2"} {
			if err := p.Plan(e.Ctx, id); err != nil {
				t.Fatal(err)
			}
		}
		if n := pr.count(urlOf(0)); n != 1 {
			t.Fatalf("the first URL was probed %d times for a job with a rate and one without, want once", n)
		}
		if prog := e.Progress("j1"); !prog.Planned || prog.Status != warm.StatusInProgress {
			t.Fatalf("the job with a rate: %s, counts %+v", prog.Status, prog.Counts)
		}
	})
}

// A discovering job whose every country got the same edge is warned: the
// DNS server most likely ignored the client subnet. A job whose countries
// got different edges is not.
func TestPlannerWarnsWhenEveryCountryGotTheSameEdge(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		discovering := func(j *warm.Job) {
			j.Targets = []warm.Target{{Code: "JP", Explicit: true, Discover: warm.DiscoverECS}, {Code: "US", Explicit: true, Discover: warm.DiscoverECS}}
		}
		for id, pops := range map[string][]warm.POPState{
			"same":      {pop("JP-1", "192.0.2.1"), pop("US-1", "192.0.2.1")},
			"different": {pop("JP-1", "192.0.2.1"), pop("US-1", "192.0.2.9")},
		} {
			e.submit(id, []string{"https://www.example.test/a"}, time.Hour, discovering)
			if err := e.planner(&resolver{pops: pops}, &prober{}).Plan(e.Ctx, id); err != nil {
				t.Fatal(err)
			}
			sum, err := e.St.Summary(e.Ctx, id)
			e.Must(err)
			warned := slices.ContainsFunc(sum.Warnings, func(w string) bool {
				return strings.Contains(w, "every country got the same edge (192.0.2.1): does --dns-server pass EDNS Client Subnet on?")
			})
			if warned != (id == "same") {
				t.Errorf("%s: warnings %q", id, sum.Warnings)
			}
		}
	})
}

// finishes counts the planner's separate writes that end planning and
// probing.
type finishes struct {
	*store.Store
	planning, probing atomic.Int32
}

func (f *finishes) FinishPlanning(ctx context.Context, jobID string) error {
	f.planning.Add(1)
	return f.Store.FinishPlanning(ctx, jobID)
}

func (f *finishes) FinishProbing(ctx context.Context, jobID string) error {
	f.probing.Add(1)
	return f.Store.FinishProbing(ctx, jobID)
}

// The last chunk of a plan marks the job planned, and, when the job is not
// size-probed, probed too, in the transaction that queues its batches: a
// small job's plan takes two writes fewer. A probed job still ends its
// probing apart, after the probe.
func TestPlannerEndsPlanningWithTheLastChunk(t *testing.T) {
	for _, c := range []struct {
		name          string
		urls, minURLs int
		wantProbing   int32
	}{
		{"not probed", 6, 100, 0},
		{"probed", 6, 1, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				e := newEnv(t)
				p := e.planner(&resolver{pops: []warm.POPState{pop("AAA1-P1", "192.0.2.1")}}, &prober{})
				f := &finishes{Store: e.St}
				p.Store, p.ProbeMinURLs = f, c.minURLs
				e.submit("j1", urlList(c.urls), time.Hour, nil)
				if err := p.Plan(e.Ctx, "j1"); err != nil {
					t.Fatal(err)
				}
				if n := f.planning.Load(); n != 0 {
					t.Errorf("FinishPlanning written %d times, want 0: the last chunk marks the job planned", n)
				}
				if n := f.probing.Load(); n != c.wantProbing {
					t.Errorf("FinishProbing written %d times, want %d", n, c.wantProbing)
				}
				if prog := e.Progress("j1"); !prog.Planned || !prog.Probed || prog.Total != int64(c.urls) || prog.PlannedURLs != c.urls {
					t.Fatalf("progress after the plan: planned %v, probed %v, counts %+v", prog.Planned, prog.Probed, prog.Counts)
				}
				if got := len(e.Q.Batches()); got != 3 {
					t.Fatalf("%d batches queued, want 3", got)
				}
			})
		})
	}
}
