package warm_test

import (
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"prewarm/internal/edge"
	"prewarm/internal/warm"
)

func TestVantageAgentsQueuesEachPOPForItsAgentsAndFailsThoseWithout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		now := time.Now()
		for _, a := range []warm.Agent{
			{ID: "tokyo", Location: "JP", Active: true},
			{ID: "frankfurt", Location: "europe", Active: true},
			{ID: "virginia", Location: "US"}, // standing by: takes no work
			{ID: "anywhere", Active: true},
		} {
			a.StartedAt, a.LastHeartbeat = now, now
			_, _, err := e.St.Heartbeat(e.Ctx, a, now.Add(-time.Minute))
			e.Must(err)
		}
		res := &resolver{pops: []warm.POPState{pop("NRT57-C1", "192.0.2.1"), pop("FRA56-P1", "192.0.2.2"), pop("IAD89-C1", "192.0.2.3")}}
		e.submit("j1", urlList(4), time.Hour, func(j *warm.Job) { j.Vantage = warm.VantageAgents })
		p := e.planner(res, &prober{})
		p.Locator, p.Fleet, p.LiveWindow = edge.Builtin(), e.St, 10*time.Second
		e.Must(p.Plan(e.Ctx, "j1"))

		where := map[string]string{}
		for _, s := range e.Q.Steps() {
			if s.Kind == warm.StepWarm {
				where[s.POP] = s.Location
			}
		}
		if len(where) != 2 || where["NRT57-C1"] != "JP" || where["FRA56-P1"] != "europe" {
			t.Fatalf("batches queued for %v, want NRT57-C1's for JP and FRA56-P1's for europe only", where)
		}
		saved, err := e.St.POPs(e.Ctx, "j1")
		e.Must(err)
		if saved[2].Code != "IAD89-C1" || !strings.HasPrefix(saved[2].Error, "no agent located in US") || saved[2].Usable() {
			t.Fatalf("IAD89-C1 saved as %+v, want failed: no agent located in US", saved[2])
		}
		if saved[0].Location != "JP" || saved[1].Location != "europe" {
			t.Fatalf("saved locations %q %q", saved[0].Location, saved[1].Location)
		}
		sum, err := e.St.Summary(e.Ctx, "j1")
		e.Must(err)
		if len(sum.FailurePOPs) != 1 || sum.FailurePOPs[0] != "IAD89-C1" {
			t.Fatalf("failure pops %v, want IAD89-C1", sum.FailurePOPs)
		}
		if prog := e.Progress("j1"); prog.Total != 4*2 {
			t.Fatalf("%d tasks, want 8: the failed POP plans none", prog.Total)
		}
	})
}

func TestVantageAnywhereQueuesForAnyAgent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		res := &resolver{pops: []warm.POPState{pop("NRT57-C1", "192.0.2.1")}}
		e.submit("j1", urlList(2), time.Hour, nil)
		p := e.planner(res, &prober{})
		p.Locator, p.Fleet, p.LiveWindow = edge.Builtin(), e.St, 10*time.Second
		e.Must(p.Plan(e.Ctx, "j1"))
		for _, s := range e.Q.Steps() {
			if s.Kind == warm.StepWarm && s.Location != "" {
				t.Fatalf("step %+v queued for a location; no agent is located and the job asks for none", s)
			}
		}
	})
}
