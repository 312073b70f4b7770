package storetest

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"prewarm/internal/warm"
)

// Shares of a budget never add up to more than its limit, are divided by
// demand, are given back, and expire with their agent.
func testBudgetShares(t *testing.T, f *fixture) {
	limit := warm.Limit{Concurrency: 8, RPS: 10}
	lease := func(agent string, demand, held int, ttl time.Duration) warm.Share {
		t.Helper()
		shares, err := f.s.Lease(f.ctx, agent, []warm.Want{{Key: "job:j", Limit: limit, Demand: demand, Held: held}}, ttl)
		f.must(err)
		if len(shares) != 1 || shares[0].Key != "job:j" {
			t.Fatalf("lease: %+v", shares)
		}
		return shares[0]
	}
	if a := lease("a", 20, 0, time.Minute); a.Slots != 8 || a.Rate != 10 {
		t.Fatalf("alone: %+v, want the whole budget", a)
	}
	// b asks too: nothing is free until a gives back, and a keeps what it
	// runs while its fair share drops to half.
	if b := lease("b", 20, 0, time.Minute); b.Slots != 0 {
		t.Fatalf("b while a holds everything: %+v", b)
	}
	if a := lease("a", 20, 8, time.Minute); a.Slots != 4 || a.Rate != 5 {
		t.Fatalf("a beside b: %+v, want half", a)
	}
	if b := lease("b", 20, 0, time.Minute); b.Slots != 0 {
		t.Fatalf("b while a still runs 8: %+v", b)
	}
	lease("a", 20, 4, time.Minute) // its fetches beyond its share ended
	if b := lease("b", 20, 0, time.Minute); b.Slots != 4 {
		t.Fatalf("b once a runs 4: %+v", b)
	}
	// a small demand takes what it needs; the rest goes to the other.
	lease("a", 1, 1, time.Minute)
	if b := lease("b", 20, 4, time.Minute); b.Slots != 7 {
		t.Fatalf("b beside a needing 1: %+v", b)
	}
	// giving back; then an expired share is free again.
	if a := lease("a", 0, 0, time.Minute); a.Slots != 0 {
		t.Fatalf("given back: %+v", a)
	}
	lease("b", 20, 7, time.Second)
	f.now = f.now.Add(2 * time.Second)
	if c := lease("c", 20, 0, time.Minute); c.Slots != 8 {
		t.Fatalf("after b's share expired: %+v", c)
	}
	// an unlimited dimension has no bound.
	shares, err := f.s.Lease(f.ctx, "d", []warm.Want{{Key: "host:h", Limit: warm.Limit{RPS: 5}, Demand: 3}}, time.Minute)
	f.must(err)
	if shares[0].Slots >= 0 || shares[0].Rate != 5 {
		t.Fatalf("rate only: %+v", shares[0])
	}
}

// Host limits and pauses are seen by every agent; a shorter pause does not
// cut a longer one short; recovered hosts are forgotten.
func testHostStates(t *testing.T, f *fixture) {
	hl, err := f.s.HostLimits(f.ctx)
	f.must(err)
	if !hl.Default.Unlimited() || len(hl.Hosts) != 0 {
		t.Fatalf("nothing set: %+v", hl)
	}
	f.must(f.s.SetHostLimits(f.ctx, warm.Limit{Concurrency: 64, RPS: 2.5}))
	long := warm.HostState{Host: "a.test", PausedUntil: f.now.Add(time.Minute), ResumeWindow: 4, Strikes: 2, Reason: "a.test answered 429"}
	f.must(f.s.PauseHost(f.ctx, long))
	f.must(f.s.PauseHost(f.ctx, warm.HostState{Host: "a.test", PausedUntil: f.now.Add(time.Second), ResumeWindow: 1, Strikes: 1}))
	f.must(f.s.PauseHost(f.ctx, warm.HostState{Host: "b.test", PausedUntil: f.now.Add(-time.Hour), ResumeWindow: 1, Strikes: 1}))
	hl, err = f.s.HostLimits(f.ctx)
	f.must(err)
	got := hl.Hosts["a.test"]
	if hl.Default != (warm.Limit{Concurrency: 64, RPS: 2.5}) || !got.PausedUntil.Equal(long.PausedUntil) ||
		got.ResumeWindow != 4 || got.Strikes != 2 || got.Reason != long.Reason || len(hl.Hosts) != 2 {
		t.Fatalf("host limits: %+v", hl)
	}
	f.must(f.s.ForgetHosts(f.ctx, f.now.Add(-time.Minute)))
	hl, err = f.s.HostLimits(f.ctx)
	f.must(err)
	if _, ok := hl.Hosts["b.test"]; ok || len(hl.Hosts) != 1 {
		t.Fatalf("after forgetting: %+v", hl.Hosts)
	}
}

// Warnings are kept once each and listed in the summary; what a job waits
// for shows in its progress while it is fresh.
func testWarningsAndWaiting(t *testing.T, f *fixture) {
	f.planned("j1", 2)
	for range 2 {
		f.must(f.s.AddWarning(f.ctx, "j1", "a.test answered 429: paused 2s"))
	}
	sum, err := f.s.Summary(f.ctx, "j1")
	f.must(err)
	if !slices.Equal(sum.Warnings, []string{"a.test answered 429: paused 2s"}) {
		t.Fatalf("warnings: %q", sum.Warnings)
	}
	f.must(f.s.SetWaiting(f.ctx, "j1", "the job: waiting for a share of its budget (at most 2 in flight)"))
	if p := f.progress("j1"); p.Waiting != "the job: waiting for a share of its budget (at most 2 in flight)" {
		t.Fatalf("waiting: %q", p.Waiting)
	}
	f.now = f.now.Add(time.Minute)
	if p := f.progress("j1"); p.Waiting != "" {
		t.Fatalf("waiting a minute later: %q", p.Waiting)
	}
}

// A batch that waits for another is queued when that one is first done,
// and top-tier batches of a tiered job when their URLs' probe is saved.
func testTieredBatches(t *testing.T, f *fixture) {
	f.job("j1", "https://a.test/0", "https://a.test/1", "https://a.test/2", "https://a.test/3")
	us, err := f.s.URLs(f.ctx, "j1", 0, 4)
	f.must(err)
	batches := []warm.Batch{
		{JobID: "j1", Seq: 0, POP: "AAA1-P1", From: 0, To: 2, After: warm.AfterProbe},
		{JobID: "j1", Seq: 1, POP: "BBB1-P1", From: 0, To: 2, After: "AAA1-P1"},
		{JobID: "j1", Seq: 2, POP: "AAA1-P1", From: 2, To: 4, After: warm.AfterProbe},
		{JobID: "j1", Seq: 3, POP: "BBB1-P1", From: 2, To: 4, After: "AAA1-P1"},
	}
	f.must(f.s.SavePlanChunk(f.ctx, "j1", warm.PlanChunk{URLs: us, Batches: batches, PlannedURLs: 4}))
	if q := f.q.Batches(); len(q) != 0 {
		t.Fatalf("queued before anything: %v", q)
	}
	f.must(f.s.SaveProbeChunk(f.ctx, "j1", warm.ProbeChunk{From: 0, URLs: us[:2], ProbedURLs: 2}))
	if q := f.q.Batches(); !slices.Equal(q, []int{0}) {
		t.Fatalf("after the first probe chunk: %v", q)
	}
	for range 2 { // done twice: the waiting batch is queued once
		_, err := f.s.RecordResults(f.ctx, batches[0], results("AAA1-P1", 0, 2, true), warm.BatchDone)
		f.must(err)
	}
	if q := f.q.Batches(); !slices.Equal(q, []int{0, 1}) {
		t.Fatalf("after the top tier's batch: %v", q)
	}
}

// A job keeps only its window of batches in the queue (per active agent;
// none here counts as one): each batch done queues the next, in order; a
// high job's window is larger, and its steps say so.
func testBatchWindow(t *testing.T, f *fixture) {
	for _, tc := range []struct {
		id       string
		priority warm.Priority
		window   int
	}{{"low", warm.PriorityLow, 8}, {"normal", warm.PriorityNormal, 24}, {"high", warm.PriorityHigh, 48}} {
		j := &warm.Job{ID: tc.id, Status: warm.StatusInProgress, CFDomain: "d1.cloudfront.net", TargetType: "pop",
			Targets: []warm.Target{}, Timeout: time.Minute, URLCount: 1, Priority: tc.priority,
			CreatedAt: f.now, UpdatedAt: f.now, TimeoutAt: f.now.Add(time.Minute)}
		f.must(f.s.CreateJob(f.ctx, j, []string{"https://a.test/x"}))
		var batches []warm.Batch
		for seq := range 200 {
			batches = append(batches, warm.Batch{JobID: tc.id, Seq: seq, POP: fmt.Sprintf("P%d", seq), From: 0, To: 1})
		}
		before := len(f.q.Steps())
		f.must(f.s.SavePlanChunk(f.ctx, tc.id, warm.PlanChunk{Batches: batches, PlannedURLs: 1}))
		steps := f.q.Steps()[before:]
		if len(steps) != tc.window || steps[0].Batch != 0 || steps[len(steps)-1].Batch != tc.window-1 || steps[0].Priority != tc.priority {
			t.Fatalf("%s: queued %d steps (%+v … ), want batches 0..%d", tc.id, len(steps), steps[0], tc.window-1)
		}
		// A step carries its batch's POP and URL range: the agent need not
		// read them.
		if s := steps[5]; s.POP != "P5" || s.From != 0 || s.To != 1 {
			t.Fatalf("%s: step %+v, want batch 5's POP and range", tc.id, s)
		}
		for range 2 { // done twice: one more batch queued, once
			_, err := f.s.RecordResults(f.ctx, batches[3], nil, warm.BatchDone)
			f.must(err)
		}
		steps = f.q.Steps()[before:]
		if len(steps) != tc.window+1 || steps[tc.window].Batch != tc.window {
			t.Fatalf("%s: after one batch done, %d steps, the last %+v", tc.id, len(steps), steps[len(steps)-1])
		}
	}
	if p := f.progress("normal"); p.Priority != warm.PriorityNormal {
		t.Fatalf("normal job: priority %q", p.Priority)
	}
	if r, err := f.s.RunningByKey(f.ctx); err != nil || r[""] != 3 {
		t.Fatalf("running by key %v %v, want the 3 jobs of no key", r, err)
	}
	// The window follows the batches the active agents work at once: one
	// far from the database works 80, so a normal job keeps 120 queued.
	_, _, err := f.s.Heartbeat(f.ctx, warm.Agent{ID: "far", Name: "far", Host: "h", Concurrency: 8, Batches: 80,
		DBRoundTrip: 100 * time.Millisecond, Active: true, StartedAt: f.now, LastHeartbeat: f.now}, f.now.Add(-10*time.Second))
	f.must(err)
	j := &warm.Job{ID: "wide", Status: warm.StatusInProgress, CFDomain: "d1.cloudfront.net", TargetType: "pop",
		Targets: []warm.Target{}, Timeout: time.Minute, URLCount: 1, CreatedAt: f.now, UpdatedAt: f.now, TimeoutAt: f.now.Add(time.Minute)}
	f.must(f.s.CreateJob(f.ctx, j, []string{"https://a.test/x"}))
	var batches []warm.Batch
	for seq := range 200 {
		batches = append(batches, warm.Batch{JobID: "wide", Seq: seq, POP: fmt.Sprintf("P%d", seq), From: 0, To: 1})
	}
	before := len(f.q.Steps())
	f.must(f.s.SavePlanChunk(f.ctx, "wide", warm.PlanChunk{Batches: batches, PlannedURLs: 1}))
	if n := len(f.q.Steps()) - before; n != 120 {
		t.Fatalf("with an agent of 80 batches, a normal job queued %d, want 120", n)
	}
	agents, err := f.s.Agents(f.ctx, f.now.Add(-time.Second))
	f.must(err)
	if len(agents) != 1 || agents[0].Batches != 80 || agents[0].DBRoundTrip != 100*time.Millisecond {
		t.Fatalf("agents %+v", agents)
	}
}

// Keys share the queue as jobs do. Three jobs of "ci" run; then "ops"
// starts one of the same size. An agent takes the queue's entries in
// order and finishes each (every batch done queues its job's next): once
// ci's first windows have drained, ops gets half of what the agent takes,
// not the quarter that sharing among the four jobs alike would give it.
// A small job of ci queues its few batches whatever its key runs.
func testKeysShareTheQueue(t *testing.T, f *fixture) {
	mine := map[string]bool{}
	plan := func(id, owner string, n int) {
		j := &warm.Job{ID: id, Status: warm.StatusInProgress, CFDomain: "d1.cloudfront.net", TargetType: "pop", Owner: owner,
			Targets: []warm.Target{}, Timeout: time.Minute, URLCount: 1, CreatedAt: f.now, UpdatedAt: f.now, TimeoutAt: f.now.Add(time.Minute)}
		f.must(f.s.CreateJob(f.ctx, j, []string{"https://a.test/x"}))
		batches := make([]warm.Batch, n)
		for seq := range batches {
			batches[seq] = warm.Batch{JobID: id, Seq: seq, POP: fmt.Sprintf("P%d", seq), From: 0, To: 1}
		}
		f.must(f.s.SavePlanChunk(f.ctx, id, warm.PlanChunk{Batches: batches, PlannedURLs: 1}))
		mine[id] = true
	}
	for i := range 3 {
		plan(fmt.Sprintf("ci%d", i), "ci", 300)
	}
	plan("ops", "ops", 300)
	taken := map[string]int{}
	opsStarted := false
	for next, n := 0, 0; n < 240; next++ {
		steps := f.q.Steps()
		if next >= len(steps) {
			t.Fatalf("the queue ran dry after %d steps: %v", next, taken)
		}
		st := steps[next]
		if !mine[st.JobID] {
			continue
		}
		_, err := f.s.RecordResults(f.ctx, warm.Batch{JobID: st.JobID, Seq: st.Batch, POP: st.POP, From: st.From, To: st.To},
			nil, warm.BatchDone)
		f.must(err)
		if opsStarted = opsStarted || st.JobID == "ops"; opsStarted {
			taken[st.JobID]++
			n++
		}
	}
	if taken["ops"] < 110 || taken["ops"] > 130 {
		t.Fatalf("of 240 batches taken after ops's first, per job %v: want about half for ops", taken)
	}
	t.Logf("of 240 batches taken after ops's first: %v", taken)
	// What progress says of it comes from the jobs running per key.
	if r, err := f.s.RunningByKey(f.ctx); err != nil || len(r) != 2 || r["ci"] != 3 || r["ops"] != 1 {
		t.Fatalf("running by key %v %v, want ci 3 and ops 1", r, err)
	}
	before := len(f.q.Batches())
	plan("ci-small", "ci", 8)
	if n := len(f.q.Batches()) - before; n != 8 {
		t.Fatalf("a small job of ci queued %d of its 8 batches", n)
	}
}
