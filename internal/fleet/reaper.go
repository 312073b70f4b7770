package fleet

import (
	"context"
	"log/slog"
	"time"

	"prewarm/internal/warm"
)

// Reaper notices agents that stopped heartbeating and hands their work back:
// the queue entries they were running become available to the live agents
// and their batches stop counting as in progress. Several reapers (one per
// serve process) may run at once; what they do is idempotent.
type Reaper struct {
	Store   warm.Store
	Requeue func(ctx context.Context, agentID string) error
	Window  time.Duration // an agent silent this long is dead
	Log     *slog.Logger
	Now     func() time.Time
}

// Run reaps every second until ctx ends.
func (r *Reaper) Run(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := r.reap(ctx); err != nil && ctx.Err() == nil {
			r.Log.Warn("reaping dead agents", "err", err)
		}
	}
}

func (r *Reaper) reap(ctx context.Context) error {
	agents, err := r.Store.Agents(ctx, time.Time{})
	if err != nil {
		return err
	}
	cutoff := r.Now().Add(-r.Window)
	for _, a := range agents {
		if !a.LastHeartbeat.Before(cutoff) {
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
	return nil
}
