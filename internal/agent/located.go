package agent

import (
	"context"
	"errors"
	"time"

	"prewarm/internal/warm"
)

// LocatedStore is what watching located POPs reads and writes.
type LocatedStore interface {
	// LocatedPOPs lists the POPs of running jobs with tasks left for the
	// agents of a location.
	LocatedPOPs(ctx context.Context) ([]warm.LocatedPOP, error)
	// FailPOP fails a job's POP and its tasks not done yet, with reason.
	FailPOP(ctx context.Context, jobID, pop, reason string) error
}

// DefaultLocationGrace is how long a location may have no live agent
// while a job's tasks wait for it, by default: time for an agent that
// restarts, or a replacement, to come back.
const DefaultLocationGrace = 30 * time.Second

// failStranded fails the POPs whose location has had no live, active
// agent for longer than the grace: the batches of a dead agent go back to
// its location's queue, which only agents located there work, so without
// this they would wait silently until the job's deadline. live are the
// agents not past the reaper's window.
func (r *Reaper) failStranded(ctx context.Context, live []warm.Agent) error {
	if r.Located == nil {
		return nil
	}
	manned := map[string]bool{}
	for _, a := range live {
		if a.Active && a.Location != "" {
			manned[a.Location] = true
		}
	}
	now := r.Now()
	if r.unmanned == nil {
		r.unmanned = map[string]time.Time{}
	}
	for loc := range r.unmanned {
		if manned[loc] {
			delete(r.unmanned, loc) // back within the grace
		}
	}
	pops, err := r.Located.LocatedPOPs(ctx)
	if err != nil {
		return err
	}
	for _, p := range pops {
		if manned[p.Location] {
			continue
		}
		since, seen := r.unmanned[p.Location]
		if !seen {
			r.unmanned[p.Location] = now
			continue
		}
		if now.Sub(since) < r.LocationGrace {
			continue
		}
		reason := "no agent located in " + p.Location + ": its agents stopped within the job and none came back within " +
			r.LocationGrace.String()
		if err := r.Located.FailPOP(ctx, p.JobID, p.POP, reason); err != nil && !errors.Is(err, warm.ErrNotFound) {
			return err
		}
		r.Log.Warn("POP failed: no live agent located there", "job", p.JobID, "pop", p.POP, "location", p.Location,
			"unmanned_for", now.Sub(since).Round(time.Second))
	}
	return nil
}
