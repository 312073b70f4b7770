package agent

import (
	"context"
	"sync"

	"prewarm/internal/warm"
)

// Cancels lets a stop decided in this process abort the fetches of that job
// running in this process at once. Other processes learn of it from the
// store within a status interval.
type Cancels struct {
	mu    sync.Mutex
	jobs  map[string]map[*context.CancelFunc]struct{}
	ended map[string]bool // jobs this process saw end
}

// NewCancels returns an empty registry.
func NewCancels() *Cancels {
	return &Cancels{jobs: make(map[string]map[*context.CancelFunc]struct{}), ended: map[string]bool{}}
}

// Watch derives a context that Cancel(jobID) cancels. Call the returned
// release when the work is over.
func (c *Cancels) Watch(ctx context.Context, jobID string) (context.Context, func()) {
	ctx, cancel := context.WithCancel(ctx)
	key := &cancel
	c.mu.Lock()
	set := c.jobs[jobID]
	if set == nil {
		set = make(map[*context.CancelFunc]struct{})
		c.jobs[jobID] = set
	}
	set[key] = struct{}{}
	c.mu.Unlock()
	return ctx, func() {
		cancel()
		c.mu.Lock()
		delete(set, key)
		if len(set) == 0 && c.jobs[jobID] != nil && len(c.jobs[jobID]) == 0 {
			delete(c.jobs, jobID)
		}
		c.mu.Unlock()
	}
}

// Cancel aborts every watched context of the job.
func (c *Cancels) Cancel(jobID string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for cancel := range c.jobs[jobID] {
		(*cancel)()
	}
}

var _ warm.Canceler = (*Cancels)(nil)

// Ended reports whether this is the first time the process sees the job
// ended (its end is then worth a log line).
func (c *Cancels) Ended(jobID string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ended[jobID] {
		return false
	}
	if len(c.ended) > 10000 { // forget old ones: a repeat line is harmless
		clear(c.ended)
	}
	c.ended[jobID] = true
	return true
}
