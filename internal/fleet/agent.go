// Package fleet runs agents: worker pools that register in the shared
// store, heartbeat, and take work only while the desired capacity ranks them
// among the active ones. The rest stand by and take over when an active
// agent stops heartbeating.
package fleet

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"prewarm/internal/warm"
)

// Switch turns an agent's share of the queue on and off. Turning it off
// returns once the agent's running batches have returned.
type Switch interface {
	SetActive(ctx context.Context, active bool) error
}

// Config tunes heartbeats.
type Config struct {
	Heartbeat  time.Duration // how often an agent reports
	LiveWindow time.Duration // an agent silent for longer is dead
}

// DefaultConfig suits a fleet on one network.
var DefaultConfig = Config{Heartbeat: time.Second, LiveWindow: 10 * time.Second}

// Agent is one worker pool.
type Agent struct {
	Info   warm.Agent
	Store  warm.Store
	Pool   *warm.Pool
	Switch Switch
	Config Config
	Log    *slog.Logger
	Now    func() time.Time

	mu     sync.Mutex
	drain  chan struct{}
	active bool
}

// Drain is closed when the agent must stop starting fetches: it is standing
// by or shutting down. Batches then record what they have and return.
func (a *Agent) Drain() <-chan struct{} {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.drain == nil {
		a.drain = make(chan struct{})
		close(a.drain) // not active yet
	}
	return a.drain
}

// Active reports whether the agent takes work.
func (a *Agent) Active() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.active
}

// Run heartbeats until ctx ends, then leaves the queue and the fleet.
func (a *Agent) Run(ctx context.Context) error {
	if a.Info.StartedAt.IsZero() {
		a.Info.StartedAt = a.Now()
	}
	t := time.NewTicker(a.Config.Heartbeat)
	defer t.Stop()
	for {
		if err := a.beat(ctx); err != nil && ctx.Err() == nil {
			a.Log.Warn("heartbeat failed", "agent", a.Info.ID, "err", err)
		}
		select {
		case <-ctx.Done():
			stop := context.WithoutCancel(ctx)
			a.setActive(stop, false)
			if err := a.Store.RemoveAgent(stop, a.Info.ID); err != nil {
				a.Log.Warn("leaving the fleet", "agent", a.Info.ID, "err", err)
			}
			return nil
		case <-t.C:
		}
	}
}

func (a *Agent) beat(ctx context.Context) error {
	now := a.Now()
	a.Info.Busy = a.Pool.Busy()
	a.Info.Active = a.Active()
	a.Info.LastHeartbeat = now
	live, desired, err := a.Store.Heartbeat(ctx, a.Info, now.Add(-a.Config.LiveWindow))
	if err != nil {
		return err
	}
	if desired < 0 { // never set: every agent works
		desired = len(live)
	}
	rank := len(live)
	for i, other := range live {
		if other.ID == a.Info.ID {
			rank = i
		}
	}
	if a.setActive(ctx, rank < desired) {
		// Report the new state now rather than a heartbeat later.
		a.Info.Active = a.Active()
		_, _, err = a.Store.Heartbeat(ctx, a.Info, now.Add(-a.Config.LiveWindow))
	}
	return err
}

// setActive switches the agent and reports whether its state changed.
func (a *Agent) setActive(ctx context.Context, active bool) bool {
	a.mu.Lock()
	if active == a.active {
		a.mu.Unlock()
		return false
	}
	if active {
		a.drain = make(chan struct{})
	} else if a.drain != nil {
		close(a.drain)
	}
	a.active = active
	a.mu.Unlock()
	if err := a.Switch.SetActive(ctx, active); err != nil {
		a.Log.Error("switching agent", "agent", a.Info.ID, "active", active, "err", err)
		if active { // try again at the next heartbeat
			a.mu.Lock()
			close(a.drain)
			a.active = false
			a.mu.Unlock()
		}
		return false
	}
	state := "standby"
	if active {
		state = "active"
	}
	a.Log.Info("agent "+state, "agent", a.Info.ID, "name", a.Info.Name)
	return true
}
