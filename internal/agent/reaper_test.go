package agent

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"prewarm/internal/warm"
)

// requeues records the agents whose queue entries were handed back; it
// fails while fail is set.
type requeues struct {
	mu    sync.Mutex
	ids   []string
	tries int
	fail  error
}

func (r *requeues) requeue(_ context.Context, agentID string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.tries++
	if r.fail != nil {
		return r.fail
	}
	r.ids = append(r.ids, agentID)
	return nil
}

func (r *requeues) list() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.ids)
}

func (e *env) beat(id string) {
	e.T.Helper()
	now := time.Now()
	_, _, err := e.St.Heartbeat(e.Ctx, warm.Agent{ID: id, Active: true, StartedAt: now, LastHeartbeat: now}, time.Time{})
	e.Must(err)
}

func (e *env) claim(jobID string, seq int, agentID string, tasks int) {
	e.T.Helper()
	b, err := e.St.Batch(e.Ctx, jobID, seq)
	e.Must(err)
	e.Must(e.St.ClaimBatch(e.Ctx, b, agentID, tasks))
}

// twoAgents: "dead" claimed batch 0 and last reported 11s ago, "live"
// claimed batch 1 and reported 3s ago.
func twoAgents(t *testing.T) *env {
	e := newEnv(t)
	e.plan(jobSpec{id: "j1", urls: 4, pops: []warm.POPState{popA, popB}})
	e.beat("dead")
	e.claim("j1", 0, "dead", 4)
	time.Sleep(8 * time.Second)
	e.beat("live")
	e.claim("j1", 1, "live", 4)
	time.Sleep(3 * time.Second)
	return e
}

func TestReaperHandsBackOnlyTheWorkOfSilentAgents(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := twoAgents(t)
		rq := &requeues{}
		r := &Reaper{Store: e.St, Requeue: rq.requeue, Window: 10 * time.Second, Log: discard, Now: time.Now}
		if p := e.Progress("j1"); p.InProgress != 8 {
			t.Fatalf("%d tasks in progress before reaping, want 8", p.InProgress)
		}

		e.Must(r.ReapOnce(e.Ctx))
		if got := rq.list(); !slices.Equal(got, []string{"dead"}) {
			t.Fatalf("requeued %v, want [dead]", got)
		}
		if got := ids(e.fleet()); !slices.Equal(got, []string{"live"}) {
			t.Fatalf("agents %v, want [live]", got)
		}
		if b := e.batch("j1", 0); b.state != warm.BatchPending || b.claimed != 0 {
			t.Fatalf("the dead agent's batch: %+v, want pending, unclaimed", b)
		}
		if b := e.batch("j1", 1); b.state != warm.BatchRunning || b.agent != "live" || b.claimed != 4 {
			t.Fatalf("the live agent's batch: %+v, want untouched", b)
		}
		if p := e.Progress("j1"); p.InProgress != 4 {
			t.Fatalf("%d tasks in progress, want the live agent's 4", p.InProgress)
		}

		// Another serve process reaping too finds nothing more to do.
		e.Must(r.ReapOnce(e.Ctx))
		if got := rq.list(); len(got) != 1 {
			t.Fatalf("requeued %v after a second pass", got)
		}
	})
}

// When the queue cannot take the work back, the agent stays listed with
// its batches, so that a later pass tries again.
func TestReaperKeepsADeadAgentWhoseWorkCouldNotBeRequeued(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := twoAgents(t)
		boom := errors.New("queue unavailable")
		rq := &requeues{fail: boom}
		r := &Reaper{Store: e.St, Requeue: rq.requeue, Window: 10 * time.Second, Log: discard, Now: time.Now}
		if err := r.ReapOnce(e.Ctx); !errors.Is(err, boom) {
			t.Fatalf("ReapOnce returned %v, want the requeue's error", err)
		}
		if got := ids(e.fleet()); !slices.Equal(got, []string{"dead", "live"}) {
			t.Fatalf("agents %v, want both still listed", got)
		}
		if b := e.batch("j1", 0); b.state != warm.BatchRunning || b.agent != "dead" {
			t.Fatalf("batch %+v released though its work was not requeued", b)
		}
	})
}

func TestReaperRunReapsOnItsTickerAndRetriesFailures(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		e.beat("dead")
		rq := &requeues{fail: errors.New("queue unavailable")}
		r := &Reaper{Store: e.St, Requeue: rq.requeue, Window: 10 * time.Second, Log: discard, Now: time.Now}
		background(t, r.Run)

		advance(10500 * time.Millisecond) // exactly 10s silent at the 10s tick: not yet dead
		rq.mu.Lock()
		tries := rq.tries
		rq.mu.Unlock()
		if tries != 0 {
			t.Fatal("reaped at the edge of the window")
		}
		advance(time.Second) // the 11s tick fails to requeue
		if len(e.fleet()) != 1 {
			t.Fatal("reaped though the requeue failed")
		}
		rq.mu.Lock()
		rq.fail = nil
		rq.mu.Unlock()
		advance(time.Second) // the 12s tick succeeds
		if agents := e.fleet(); len(agents) != 0 {
			t.Fatalf("agents %v, want the dead one reaped", ids(agents))
		}
		if got := rq.list(); !slices.Equal(got, []string{"dead"}) {
			t.Fatalf("requeued %v", got)
		}
	})
}
