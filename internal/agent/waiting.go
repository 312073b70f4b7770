package agent

import (
	"context"
	"sync"
	"time"
)

// waitingNotes write what a job's fetches wait for (a budget, a pause), at
// most once a second a job, and never in a fetch's way: the note is a write
// to the job's row, which the writers of its results lock, and a batch that
// waited on it stopped feeding its fetches for a round trip or a write.
type waitingNotes struct {
	mu   sync.Mutex
	last map[string]time.Time // when each job's last note went
	busy map[string]bool      // a note on its way
}

// waitingEvery is the least time between two notes of a job.
const waitingEvery = time.Second

// note writes what in the background, unless a note of the job went less
// than waitingEvery ago or is on its way.
func (n *waitingNotes) note(ctx context.Context, r *Runner, jobID, what string) {
	now := r.Now()
	n.mu.Lock()
	if n.last == nil {
		n.last, n.busy = map[string]time.Time{}, map[string]bool{}
	}
	if n.busy[jobID] || now.Sub(n.last[jobID]) < waitingEvery {
		n.mu.Unlock()
		return
	}
	for id, at := range n.last {
		if now.Sub(at) >= time.Minute {
			delete(n.last, id)
		}
	}
	n.busy[jobID], n.last[jobID] = true, now
	n.mu.Unlock()
	go func() {
		wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if err := r.Store.SetWaiting(wctx, jobID, what); err != nil {
			r.Log.Warn("noting what a job waits for", "job", jobID, "err", err)
		}
		n.mu.Lock()
		delete(n.busy, jobID)
		n.mu.Unlock()
	}()
}
