package warm_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"prewarm/internal/store"
	"prewarm/internal/warm"
)

// selector takes the keys of a "pop" job as its targets.
type selector struct{}

func (selector) Countries(_ string, keys []string) ([]string, error) { return keys, nil }

func (selector) Select(_ string, keys []string) ([]warm.Target, error) {
	var out []warm.Target
	for _, k := range keys {
		out = append(out, warm.Target{Code: k, Explicit: true})
	}
	return out, nil
}

// cancels records the jobs whose fetches were aborted.
type cancels struct {
	mu  sync.Mutex
	ids []string
}

func (c *cancels) Cancel(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ids = append(c.ids, id)
}

func (c *cancels) list() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.ids)
}

// service is a Service over e's store and the cancels it aborts through.
func (e *env) service() (*warm.Service, *cancels) {
	n, c := 0, &cancels{}
	return &warm.Service{Store: e.St, Selector: selector{}, Limits: warm.DefaultLimits, Cancels: c,
		LiveWindow: 10 * time.Second, Now: time.Now,
		NewID: func() string { n++; return "job-" + string(rune('0'+n)) }}, c
}

func TestServiceSubmitRecordsTheJobAndQueuesItsPlanning(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		s, _ := e.service()
		two := 2
		job, err := s.Submit(e.Ctx, warm.JobSpec{URLs: []string{urlOf(0), urlOf(1), urlOf(0)}, CFDomain: "d1.cloudfront.net",
			POPs: []string{"AAA1-P1", "BBB1-P1"}, InstanceCount: &two})
		if err != nil {
			t.Fatal(err)
		}
		if job.ID != "job-1" || job.Status != warm.StatusCreated || job.URLCount != 2 ||
			!job.TimeoutAt.Equal(time.Now().Add(warm.DefaultTimeout)) {
			t.Fatalf("submitted %+v", job)
		}
		stored, err := s.Job(e.Ctx, job.ID)
		e.Must(err)
		if stored.CFDomain != "d1.cloudfront.net" || len(stored.Targets) != 2 {
			t.Fatalf("stored %+v", stored)
		}
		var kinds []warm.StepKind
		for _, st := range e.Q.Steps() {
			kinds = append(kinds, st.Kind)
		}
		if !slices.Equal(kinds, []warm.StepKind{warm.StepPlan}) {
			t.Fatalf("queued %v, want its planning", kinds)
		}
		if f, err := s.Fleet(e.Ctx); err != nil || f.Desired != 2 {
			t.Fatalf("fleet %+v, %v: want the instance count as desired capacity", f, err)
		}

		_, err = s.Submit(e.Ctx, warm.JobSpec{URLs: []string{urlOf(0)}, POPs: []string{"AAA1-P1"}})
		var input *warm.InputError
		if !errors.As(err, &input) || input.Field != "cf_domain" {
			t.Fatalf("a spec without cf_domain: %v, want an input error naming it", err)
		}
		if jobs, err := s.ListJobs(e.Ctx, warm.JobFilter{}); err != nil || len(jobs) != 1 {
			t.Fatalf("%d jobs listed (%v), want only the valid one", len(jobs), err)
		}
	})
}

// slowReads makes the store's progress reads wait while a gate is set.
type slowReads struct {
	*store.Store
	mu   sync.Mutex
	gate chan struct{}
}

func (s *slowReads) Progress(ctx context.Context, id string) (*warm.Progress, error) {
	s.mu.Lock()
	gate := s.gate
	s.mu.Unlock()
	if gate != nil {
		<-gate
	}
	return s.Store.Progress(ctx, id)
}

// slow makes reads wait for d (or the end of the test).
func (s *slowReads) slow(t *testing.T, d time.Duration) {
	gate := make(chan struct{})
	s.mu.Lock()
	s.gate = gate
	s.mu.Unlock()
	var once sync.Once
	release := func() {
		once.Do(func() {
			s.mu.Lock()
			s.gate = nil
			s.mu.Unlock()
			close(gate)
		})
	}
	time.AfterFunc(d, release)
	t.Cleanup(release)
}

func TestServiceStopEndsOnlyThatJobAndAbortsItsFetches(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		s, c := e.service()
		reads := &slowReads{Store: e.St}
		s.Board = &warm.Board{Store: reads, Now: time.Now}
		e.submit("j1", urlList(2), time.Hour, nil)
		e.submit("j2", urlList(2), time.Hour, nil)
		if p, err := s.Progress(e.Ctx, "j1"); err != nil || p.Status != warm.StatusCreated {
			t.Fatalf("progress %v, %v", p, err)
		}

		job, err := s.Stop(e.Ctx, "j1")
		if err != nil || job.Status != warm.StatusStopped || job.Message != "stopped by request" {
			t.Fatalf("Stop: %+v, %v", job, err)
		}
		if got := c.list(); !slices.Equal(got, []string{"j1"}) {
			t.Fatalf("aborted %v, want [j1]", got)
		}
		// With the database slow, the board answers recent snapshots —
		// but none from before the stop.
		reads.slow(t, time.Second)
		if p, err := s.Progress(e.Ctx, "j1"); err != nil || p.Status != warm.StatusStopped {
			t.Fatalf("progress after the stop: %v, %v", p, err)
		}
		if p, _, err := s.JobDetail(e.Ctx, "j2"); err != nil || p.Status != warm.StatusCreated {
			t.Fatalf("the other job: %v, %v", p, err)
		}

		if _, err := s.Stop(e.Ctx, "j1"); !errors.Is(err, warm.ErrConflict) {
			t.Fatalf("stopping a stopped job: %v, want ErrConflict", err)
		}
		if _, err := s.Stop(e.Ctx, "nope"); !errors.Is(err, warm.ErrNotFound) {
			t.Fatalf("stopping an unknown job: %v, want ErrNotFound", err)
		}
		if got := c.list(); len(got) != 1 {
			t.Fatalf("aborted %v, want only the first stop to abort", got)
		}
	})
}

func TestServiceTimeoutEndsAJobOnlyPastItsDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		s, c := e.service()
		e.submit("j1", urlList(2), time.Minute, nil)
		e.submit("j2", urlList(2), time.Minute, nil)
		_, err := s.Stop(e.Ctx, "j2")
		e.Must(err)

		if err := s.Timeout(e.Ctx, "j1"); err == nil || !strings.Contains(err.Error(), "not yet") {
			t.Fatalf("a timeout before the deadline: %v, want an error", err)
		}
		time.Sleep(time.Minute)
		e.Must(s.Timeout(e.Ctx, "j1"))
		p := e.Progress("j1")
		if p.Status != warm.StatusTimeout || p.Message != "timed out after 1m0s with 0 of 0 tasks done" {
			t.Fatalf("%s %q", p.Status, p.Message)
		}
		// Whoever comes second finds the job ended, and aborts nothing.
		e.Must(s.Timeout(e.Ctx, "j1"))
		e.Must(s.Timeout(e.Ctx, "j2"))
		if got := c.list(); !slices.Equal(got, []string{"j2", "j1"}) {
			t.Fatalf("aborted %v, want j2 (its stop) and j1 once", got)
		}
		e.WantStatus("j2", warm.StatusStopped) // not timed out once stopped
		wantNotFound(t, s.Timeout(e.Ctx, "nope"))
	})
}

func TestServiceFleetCountsLiveAgents(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		s, _ := e.service()
		beat := func(id string) {
			now := time.Now()
			_, _, err := e.St.Heartbeat(e.Ctx, warm.Agent{ID: id, StartedAt: now, LastHeartbeat: now}, time.Time{})
			e.Must(err)
		}
		beat("gone")
		time.Sleep(11 * time.Second)
		beat("a1")
		beat("a2")

		f, err := s.Fleet(e.Ctx)
		e.Must(err)
		if f.Desired != 2 || len(f.Agents) != 2 || f.Agents[0].ID != "a1" {
			t.Fatalf("fleet %+v: with no capacity set, every live agent works", f)
		}
		e.Must(s.SetCapacity(e.Ctx, 1))
		if f, _ := s.Fleet(e.Ctx); f.Desired != 1 {
			t.Fatalf("desired %d after setting 1", f.Desired)
		}
		var input *warm.InputError
		if err := s.SetCapacity(e.Ctx, warm.MaxCapacity+1); !errors.As(err, &input) {
			t.Fatalf("capacity past the maximum: %v", err)
		}
		e.Must(s.Healthy(e.Ctx))
		if st, err := s.Stats(e.Ctx); err != nil || len(st.Jobs) != 0 {
			t.Fatalf("stats %+v, %v", st, err)
		}
	})
}

func TestServiceReportsWhatTheStoreHolds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		s, _ := e.service()
		p := e.planner(&resolver{pops: []warm.POPState{pop("AAA1-P1", "192.0.2.1")}},
			&prober{status: map[string]int{urlOf(1): 404}})
		e.submit("j1", urlList(2), time.Hour, nil)
		e.Must(p.Plan(e.Ctx, "j1"))

		prog, pops, err := s.JobDetail(e.Ctx, "j1")
		if err != nil || prog.Failed != 1 || len(pops) != 1 || pops[0].Failed != 1 {
			t.Fatalf("detail %+v %+v %v", prog, pops, err)
		}
		sum, err := s.Summary(e.Ctx, "j1")
		if err != nil || !slices.Equal(sum.FailureURLs, []string{urlOf(1)}) {
			t.Fatalf("summary %+v, %v", sum, err)
		}
		var rows []warm.TaskRow
		e.Must(s.Tasks(e.Ctx, "j1", warm.TaskFilter{}, func(r warm.TaskRow) error { rows = append(rows, r); return nil }))
		if len(rows) != 1 || rows[0].URL != urlOf(1) {
			t.Fatalf("tasks %+v", rows)
		}
		if p, err := s.Progress(e.Ctx, "j1"); err != nil || p.Total != 2 {
			t.Fatalf("progress %+v, %v", p, err)
		}
	})
}

// The sweep ends every running job past its deadline, and only those.
func TestServiceEndOverdue(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		s, c := e.service()
		e.submit("short", urlList(1), time.Minute, nil)
		e.submit("long", urlList(1), time.Hour, nil)
		ended, err := s.EndOverdue(e.Ctx)
		e.Must(err)
		if len(c.list()) != 0 || len(ended) != 0 {
			t.Fatalf("aborted %v before any deadline", c.list())
		}
		time.Sleep(time.Minute)
		ended, err = s.EndOverdue(e.Ctx)
		e.Must(err)
		if !slices.Equal(ended, []string{"short"}) {
			t.Fatalf("ended %v, want the short job", ended)
		}
		_, err = s.EndOverdue(e.Ctx)
		e.Must(err)
		e.WantStatus("short", warm.StatusTimeout) // past its deadline
		if st := e.Progress("long").Status; st.Terminal() {
			t.Fatalf("long job %s before its deadline", st)
		}
		if got := c.list(); !slices.Equal(got, []string{"short"}) {
			t.Fatalf("aborted %v, want the short job once", got)
		}
	})
}

// Progress says what share of the agents a running job has: the keys
// running share them alike, a key's jobs share its part; one count of the
// running jobs serves the reads of a quarter second.
func TestProgressSaysTheJobsShare(t *testing.T) {
	e := newEnv(t)
	for id, owner := range map[string]string{"ci1": "ci", "ci2": "ci", "ci3": "ci", "ops": "ops"} {
		e.submit(id, urlList(1), time.Hour, func(j *warm.Job) { j.Owner = owner })
		_, err := e.St.Transition(e.Ctx, id, []warm.Status{warm.StatusCreated}, warm.StatusInProgress, "")
		e.Must(err)
	}
	e.submit("waiting", urlList(1), time.Hour, func(j *warm.Job) { j.Owner = "ops" }) // not running: no share
	svc, _ := e.service()
	for id, want := range map[string]string{"ops": "1/2", "ci1": "1/6", "waiting": ""} {
		p, err := svc.Progress(e.Ctx, id)
		e.Must(err)
		if p.Share() != want {
			t.Errorf("%s: share %q (sharing %d, of its key %d, other keys %d), want %q", id, p.Share(), p.Sharing, p.KeyJobs, p.SharingKeys, want)
		}
	}
	list, err := svc.ListJobs(e.Ctx, warm.JobFilter{})
	e.Must(err)
	for _, p := range list {
		if p.ID == "ops" && (p.Sharing != 3 || p.SharingKeys != 1 || p.KeyJobs != 0) {
			t.Errorf("ops listed with sharing %d, other keys %d, of its key %d", p.Sharing, p.SharingKeys, p.KeyJobs)
		}
	}
}
