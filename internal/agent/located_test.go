package agent

import (
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"prewarm/internal/warm"
)

func (e *env) beatAt(id, location string) {
	e.T.Helper()
	now := time.Now()
	_, _, err := e.St.Heartbeat(e.Ctx, warm.Agent{ID: id, Location: location, Active: true, StartedAt: now, LastHeartbeat: now}, time.Time{})
	e.Must(err)
}

// jpJob plans job j1, 4 URLs at a POP that only an agent located in JP
// warms, and has agent tokyo, in JP, report; it returns the store and a
// reaper that watches locations.
func jpJob(t *testing.T) (*env, *Reaper) {
	e := newEnv(t)
	jp := popA
	jp.Location = "JP"
	e.plan(jobSpec{id: "j1", urls: 4, pops: []warm.POPState{jp}})
	r := &Reaper{Store: e.St, Requeue: (&requeues{}).requeue, Window: 10 * time.Second, Log: discard, Now: time.Now,
		Located: e.St, LocationGrace: 30 * time.Second}
	e.beatAt("tokyo", "JP")
	return e, r
}

func TestAPOPWhoseLocatedAgentDiesFailsAfterTheGrace(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e, r := jpJob(t)
		e.claim("j1", 0, "tokyo", 4)
		e.Must(r.ReapOnce(e.Ctx))

		time.Sleep(11 * time.Second) // tokyo is silent: dead, JP has no agent
		e.Must(r.ReapOnce(e.Ctx))
		time.Sleep(25 * time.Second)
		e.Must(r.ReapOnce(e.Ctx))
		if p := e.Progress("j1"); p.Status != warm.StatusInProgress || p.Failed != 0 {
			t.Fatalf("within the grace: %s with %d failed, want the job waiting for an agent in JP", p.Status, p.Failed)
		}

		time.Sleep(10 * time.Second)
		e.Must(r.ReapOnce(e.Ctx))
		p := e.Progress("j1")
		if p.Status != warm.StatusFinished || p.Failed != 4 || p.Done != 4 || p.InProgress != 0 {
			t.Fatalf("after the grace: %s, counts %+v; want FINISHED with its 4 tasks failed", p.Status, p.Counts)
		}
		sum, err := e.St.Summary(e.Ctx, "j1")
		e.Must(err)
		if !slices.Equal(sum.FailurePOPs, []string{popA.Code}) {
			t.Fatalf("failure pops %v, want [%s]", sum.FailurePOPs, popA.Code)
		}
		pops, err := e.St.POPs(e.Ctx, "j1")
		e.Must(err)
		if !strings.HasPrefix(pops[0].Error, "no agent located in JP") {
			t.Fatalf("POP error %q, want no agent located in JP", pops[0].Error)
		}
		e.Must(r.ReapOnce(e.Ctx)) // the job ended: nothing left to fail, no error
	})
}

func TestALocationWhoseAgentComesBackKeepsItsPOP(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e, r := jpJob(t)
		time.Sleep(11 * time.Second)
		e.Must(r.ReapOnce(e.Ctx)) // JP unmanned from here
		time.Sleep(20 * time.Second)
		e.beatAt("tokyo-2", "JP") // a replacement, within the grace
		e.Must(r.ReapOnce(e.Ctx))
		for range 4 {
			time.Sleep(9 * time.Second)
			e.beatAt("tokyo-2", "JP")
			e.Must(r.ReapOnce(e.Ctx))
		}
		if p := e.Progress("j1"); p.Status != warm.StatusInProgress || p.Failed != 0 {
			t.Fatalf("%s with %d failed; want JP's tasks left for its new agent", p.Status, p.Failed)
		}
	})
}
