package warm

import (
	"context"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"
)

// Board keeps progress answers fast while the warm keeps the database busy.
//
// Each read goes to the store, and concurrent reads of one job share one
// query. A read normally waits for its query and answers what the store
// holds. When the store is slower than Wait — a database round trip under
// load — the read answers the job's last snapshot instead, if one younger
// than MaxAge exists, and the query still finishes and refreshes the
// snapshot for the next reader. A job that ended keeps no snapshot; Forget
// drops the snapshot of a job this process just changed, so a stop is
// never answered with the state from before it.
type Board struct {
	Store interface {
		Progress(ctx context.Context, id string) (*Progress, error)
	}
	// Wait is how long a read waits for the store before answering the
	// snapshot; 0 means 20 ms.
	Wait time.Duration
	// MaxAge is the oldest snapshot answered; 0 means 1 s.
	MaxAge time.Duration
	Now    func() time.Time

	flight singleflight.Group
	mu     sync.Mutex
	jobs   map[string]*snapshot
	swept  time.Time
}

type snapshot struct {
	p     Progress
	taken time.Time // when p was read from the store; zero: none
	// floor refuses reads begun before it: the state from before the job
	// ended or was changed here, arriving late.
	floor time.Time
}

// readTimeout bounds a store read that no client waits for any more.
const readTimeout = 30 * time.Second

func (b *Board) now() time.Time {
	if b.Now != nil {
		return b.Now()
	}
	return time.Now()
}

// Progress is the job's progress: the store's answer, or, when the store
// takes longer than Wait, the last snapshot if it is recent enough.
// Callers must not modify the answer.
func (b *Board) Progress(ctx context.Context, id string) (*Progress, error) {
	asked := b.now()
	ch := b.flight.DoChan(id, func() (any, error) {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), readTimeout)
		defer cancel()
		taken := b.now()
		p, err := b.Store.Progress(ctx, id)
		if err != nil {
			return nil, err
		}
		b.put(id, p, taken)
		return p, nil
	})
	wait := b.Wait
	if wait <= 0 {
		wait = 20 * time.Millisecond
	}
	timer := time.NewTimer(wait)
	defer timer.Stop()
	select {
	case r := <-ch:
		return result(r)
	case <-timer.C:
		if p, ok := b.recent(id, asked); ok {
			return p, nil
		}
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	select {
	case r := <-ch:
		return result(r)
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func result(r singleflight.Result) (*Progress, error) {
	if r.Err != nil {
		return nil, r.Err
	}
	p := *r.Val.(*Progress)
	return &p, nil
}

// recent is the job's snapshot if it is younger than MaxAge at asked.
func (b *Board) recent(id string, asked time.Time) (*Progress, bool) {
	maxAge := b.MaxAge
	if maxAge <= 0 {
		maxAge = time.Second
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	s, ok := b.jobs[id]
	if !ok || s.taken.IsZero() || asked.Sub(s.taken) > maxAge {
		return nil, false
	}
	p := s.p
	return &p, true
}

// put records a snapshot read from taken on. A job that ended keeps only
// its floor.
func (b *Board) put(id string, p *Progress, taken time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.sweep(taken)
	s, ok := b.jobs[id]
	if !ok {
		s = &snapshot{}
		b.jobs[id] = s
	}
	switch {
	case taken.Before(s.floor) || taken.Before(s.taken):
		// a slow read of an older state
	case p.Status.Terminal():
		*s = snapshot{floor: taken}
	default:
		s.p, s.taken = *p, taken
	}
}

// sweep drops, now and then, the entries nobody read for longer than a
// read may take: no read they could guard against is still under way.
func (b *Board) sweep(now time.Time) {
	if b.jobs == nil {
		b.jobs = map[string]*snapshot{}
	}
	if now.Sub(b.swept) < readTimeout {
		return
	}
	b.swept = now
	for id, s := range b.jobs {
		if now.Sub(s.taken) > readTimeout && now.Sub(s.floor) > readTimeout {
			delete(b.jobs, id)
		}
	}
}

// Forget drops a job's snapshot, so that no read begun before now answers
// for it: the next answer shows a change this process just made.
func (b *Board) Forget(id string) {
	now := b.now()
	b.flight.Forget(id)
	b.mu.Lock()
	defer b.mu.Unlock()
	b.sweep(now)
	b.jobs[id] = &snapshot{floor: now}
}
