package agent

import (
	"cmp"
	"context"
	"log/slog"
	"prewarm/internal/every"
	"time"

	"prewarm/internal/warm"
)

// ReaperStore is what reaping reads and writes.
type ReaperStore interface {
	// Agents lists the agents heard from since liveSince (all with zero).
	Agents(ctx context.Context, liveSince time.Time) ([]warm.Agent, error)
	// ReleaseAgentBatches hands the batches a dead agent was fetching back
	// to waiting, so their tasks stop counting as in progress.
	ReleaseAgentBatches(ctx context.Context, agentID string) error
	RemoveAgent(ctx context.Context, id string) error
	// ForgetHosts drops the states of hosts paused before before.
	ForgetHosts(ctx context.Context, before time.Time) error
}

// Reaper notices agents that stopped heartbeating and hands their work back:
// the queue entries they were running become available to the live agents
// and their batches stop counting as in progress. Several reapers (one per
// serve process) may run at once; what they do is idempotent.
type Reaper struct {
	Store ReaperStore
	// Requeue makes the queue entries an agent was running available again.
	Requeue func(ctx context.Context, agentID string) error
	Window  time.Duration // an agent silent this long is dead
	Every   time.Duration // how often to look; 0 means every second
	// Located, if set, fails the POPs of jobs with vantage "agents" whose
	// location has had no live agent for LocationGrace.
	Located       LocatedStore
	LocationGrace time.Duration
	Log           *slog.Logger
	Now           func() time.Time

	forgot   time.Time
	unmanned map[string]time.Time // locations without a live agent, since when
}

// hostMemory is how long after its pause a host's state is kept: long
// after it has recovered.
const hostMemory = 15 * time.Minute

// Run reaps until ctx ends.
func (r *Reaper) Run(ctx context.Context) {
	every.Tick(ctx, cmp.Or(r.Every, time.Second), func(ctx context.Context) {
		if err := r.ReapOnce(ctx); err != nil && ctx.Err() == nil {
			r.Log.Warn("reaping dead agents", "err", err)
		}
	})
}

// ReapOnce hands back the work of every agent silent for longer than the
// window.
func (r *Reaper) ReapOnce(ctx context.Context) error {
	if now := r.Now(); now.Sub(r.forgot) > time.Minute {
		if err := r.Store.ForgetHosts(ctx, now.Add(-hostMemory)); err != nil {
			return err
		}
		r.forgot = now
	}
	agents, err := r.Store.Agents(ctx, time.Time{})
	if err != nil {
		return err
	}
	cutoff := r.Now().Add(-r.Window)
	var live []warm.Agent
	for _, a := range agents {
		if !a.LastHeartbeat.Before(cutoff) {
			live = append(live, a)
			continue
		}
		if err := r.Requeue(ctx, a.ID); err != nil {
			return err
		}
		if err := r.Store.ReleaseAgentBatches(ctx, a.ID); err != nil {
			return err
		}
		if err := r.Store.RemoveAgent(ctx, a.ID); err != nil {
			return err
		}
		r.Log.Warn("agent stopped heartbeating; its work is back in the queue", "agent", a.ID, "name", a.Name,
			"silent_for", r.Now().Sub(a.LastHeartbeat).Round(time.Second))
	}
	return r.failStranded(ctx, live)
}
