package agent

import (
	"context"
	"net/url"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"prewarm/internal/warm"
)

// edgeAnswers is a fake edge whose answer to each URL the test sets (by
// default a fresh MISS with max-age=60), counting the fetches of each.
type edgeAnswers struct {
	mu      sync.Mutex
	answer  map[string]warm.Result
	fetches map[string]int
}

func (f *edgeAnswers) set(u string, r warm.Result) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.answer[u] = r
}

func (f *edgeAnswers) count(u string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.fetches[u]
}

func (f *edgeAnswers) Fetch(_ context.Context, r warm.FetchRequest) warm.Result {
	time.Sleep(100 * time.Millisecond) // fake time: the round trip
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fetches[r.URL]++
	if res, ok := f.answer[r.URL]; ok {
		return res
	}
	now := time.Now()
	return warm.Result{OK: true, StatusCode: 200, CacheStatus: "BYPASS", Attempts: 1,
		Fresh: warm.Freshness{Until: now.Add(time.Minute), Lifetime: time.Minute, AgeKnown: true}}
}

func throttled(retryAfter time.Duration) warm.Result {
	return warm.Result{StatusCode: 429, RetryAfter: retryAfter, Error: "HTTP 429 Too Many Requests", Attempts: 1}
}

// rewarmRow is a rewarms row as the store keeps it.
type rewarmRow struct {
	due                        time.Time
	queued                     bool
	rewarms, failures, failing int
}

func (e *env) rewarmRow(jobID, pop string, idx int) rewarmRow {
	e.T.Helper()
	var r rewarmRow
	var due int64
	e.Must(e.DB.Reader().QueryRow(e.Ctx, `SELECT due_at, queued, rewarms, failures, failing FROM rewarms
		WHERE job_id = $1 AND pop = $2 AND url_idx = $3`, jobID, pop, idx).Scan(&due, &r.queued, &r.rewarms, &r.failures, &r.failing))
	if due > 0 {
		r.due = time.UnixMicro(due)
	}
	return r
}

// keepWarmRunner plans a keep-warm job of n URLs at popA, records its
// first warm with every URL due for a re-warm now, and returns a runner
// with budgets that keep host pauses.
func keepWarmRunner(t *testing.T, e *env, f Fetcher, n int) *Runner {
	job := e.plan(jobSpec{id: "kw", urls: n, keepWarm: time.Hour})
	rs := make([]warm.Result, n)
	for i := range rs {
		rs[i] = warm.Result{URLIndex: i, POP: popA.Code, OK: true, StatusCode: 200, Attempts: 1, At: time.Now(),
			Keep: true, RewarmAt: time.Now()}
	}
	_, err := e.St.RecordResults(e.Ctx, warm.Batch{JobID: job.ID, Seq: 0, POP: popA.Code, From: 0, To: n}, rs, warm.BatchDone)
	e.Must(err)
	r := newRunner(t, e.St, f, 8)
	r.Budgets = newTestBudgets(newBudgetStore())
	background(t, r.Budgets.Run)
	return r
}

// rewarmDue queues the re-warms due now and runs each queued entry, as a
// node and an agent would; it returns how many it queued.
func (e *env) rewarmDue(r *Runner) int {
	e.T.Helper()
	before := len(e.Q.Steps())
	n, err := e.St.QueueRewarms(e.Ctx, time.Now(), 5000)
	e.Must(err)
	for _, st := range e.Q.Steps()[before:] {
		e.Must(r.RunRewarms(e.Ctx, st.JobID, st.POP, st.Rewarms))
	}
	return n
}

// A 429 to a re-warm pauses its host like any fetch's: the re-warm is put
// off until the Retry-After has passed — not counted, not failed — and no
// re-warm of that host falling due meanwhile is fetched; after the pause
// each goes again and is kept warm as before.
func TestRewarmThrottledWaitsForItsHostsPause(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		f := &edgeAnswers{answer: map[string]warm.Result{}, fetches: map[string]int{}}
		f.set(urlOf(0), throttled(90*time.Second))
		r := keepWarmRunner(t, e, f, 3)
		start := time.Now()
		if n := e.rewarmDue(r); n != 3 {
			t.Fatalf("queued %d re-warms, want 3", n)
		}
		pausedUntil := r.Budgets.PausedUntil(hostOf0())
		if want := start.Add(90 * time.Second); pausedUntil.Before(want) || pausedUntil.After(want.Add(time.Second)) {
			t.Fatalf("host paused until +%v, want +90s", pausedUntil.Sub(start))
		}
		row := e.rewarmRow("kw", popA.Code, 0)
		if row.queued || !row.due.Equal(pausedUntil) || row.rewarms != 0 || row.failures != 0 || row.failing != 0 {
			t.Fatalf("the throttled re-warm: %+v, want due at the pause's end (+%v), not counted", row, pausedUntil.Sub(start))
		}
		if row := e.rewarmRow("kw", popA.Code, 1); row.rewarms != 1 || row.failures != 0 {
			t.Fatalf("a re-warm answered before the 429: %+v", row)
		}

		// Within the pause, URLs 1 and 2 fall due (a minute after their
		// re-warm): put off to the pause's end, not fetched.
		f.mu.Lock()
		delete(f.answer, urlOf(0)) // answers fine from now on
		f.mu.Unlock()
		time.Sleep(start.Add(time.Minute + time.Second).Sub(time.Now()))
		if n := e.rewarmDue(r); n != 2 || f.count(urlOf(1)) != 1 || f.count(urlOf(2)) != 1 {
			t.Fatalf("60 s in: queued %d; fetches %d, %d, want 2 queued and put off", n, f.count(urlOf(1)), f.count(urlOf(2)))
		}
		if row := e.rewarmRow("kw", popA.Code, 2); row.queued || !row.due.Equal(pausedUntil) || row.rewarms != 1 {
			t.Fatalf("a re-warm due in the pause: %+v, want due at its end", row)
		}
		time.Sleep(time.Until(pausedUntil))
		if n := e.rewarmDue(r); n != 3 {
			t.Fatalf("after the pause, %d re-warms due, want 3", n)
		}
		for i := range 3 {
			if n := f.count(urlOf(i)); n != 2 {
				t.Fatalf("url %d fetched %d times, want 2 (one before the pause, one after)", i, n)
			}
		}
		kw, err := e.St.KeepWarm(e.Ctx, &warm.Job{ID: "kw", Status: warm.StatusInProgress})
		e.Must(err)
		if kw.Rewarms != 5 || kw.Failed != 0 || kw.Kept != 3 {
			t.Fatalf("keep-warm counts %+v, want 5 re-warms, none failed", kw)
		}
	})
}

// While a host is paused (here by another agent, through the store), a
// re-warm that falls due is not fetched: it is put off to the pause's end.
func TestRewarmOfAPausedHostIsPutOff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		f := &edgeAnswers{answer: map[string]warm.Result{}, fetches: map[string]int{}}
		r := keepWarmRunner(t, e, f, 2)
		// The circuit breaker of another fetch of the host opened.
		for range breakerMin {
			r.Budgets.Observe(e.Ctx, "other", urlOf(9), warm.Result{StatusCode: 502, Error: "HTTP 502 Bad Gateway"})
		}
		resume := r.Budgets.PausedUntil(hostOf0())
		if resume.IsZero() {
			t.Fatal("the breaker did not pause the host")
		}
		if n := e.rewarmDue(r); n != 2 || f.count(urlOf(0))+f.count(urlOf(1)) != 0 {
			t.Fatalf("queued %d; fetched %d and %d while the host was paused", n, f.count(urlOf(0)), f.count(urlOf(1)))
		}
		if row := e.rewarmRow("kw", popA.Code, 1); row.queued || !row.due.Equal(resume) || row.failures != 0 {
			t.Fatalf("a re-warm of a paused host: %+v, want due at %v", row, resume)
		}
		time.Sleep(time.Until(resume))
		if n := e.rewarmDue(r); n != 2 || f.count(urlOf(0)) != 1 || f.count(urlOf(1)) != 1 {
			t.Fatalf("after the pause: queued %d, fetched %d and %d", n, f.count(urlOf(0)), f.count(urlOf(1)))
		}
	})
}

// A re-warm that keeps failing is tried again after 5 s, then 10, 20, …
// up to 5 minutes, not every 5 s; one success starts the count again.
func TestFailingRewarmBacksOff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		f := &edgeAnswers{answer: map[string]warm.Result{}, fetches: map[string]int{}}
		f.set(urlOf(0), warm.Result{StatusCode: 404, Error: "HTTP 404 Not Found", Attempts: 1})
		r := keepWarmRunner(t, e, f, 1)
		var waits []time.Duration
		for range 9 {
			if n := e.rewarmDue(r); n != 1 {
				t.Fatalf("queued %d re-warms, want 1", n)
			}
			row := e.rewarmRow("kw", popA.Code, 0)
			waits = append(waits, row.due.Sub(time.Now()).Round(time.Second))
			time.Sleep(time.Until(row.due))
		}
		want := []time.Duration{5, 10, 20, 40, 80, 160, 300, 300, 300}
		for i := range want {
			if want[i] *= time.Second; waits[i] != want[i] {
				t.Fatalf("waits after each failure %v, want %v", waits, want)
			}
		}
		delete(f.answer, urlOf(0))
		e.rewarmDue(r)
		if row := e.rewarmRow("kw", popA.Code, 0); row.failing != 0 || row.failures != 9 || row.rewarms != 1 {
			t.Fatalf("after a success: %+v", row)
		}
	})
}

func hostOf0() string {
	u, _ := url.Parse(urlOf(0))
	return u.Hostname()
}
