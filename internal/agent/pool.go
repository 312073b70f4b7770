package agent

import (
	"context"
	"sync"
	"sync/atomic"

	"prewarm/internal/warm"
)

// Fetcher talks to edges: it downloads a URL through a POP, discards the
// body and says how it went.
type Fetcher interface {
	Fetch(ctx context.Context, r warm.FetchRequest) warm.Result
}

// Pool is an agent's fixed set of fetchers. Batches running on the agent
// share it, so the agent never has more fetches in flight than its
// concurrency, however many batches it works at once.
type Pool struct {
	fetcher Fetcher
	in      chan poolWork
	busy    atomic.Int64
	wg      sync.WaitGroup
	once    sync.Once
}

type poolWork struct {
	ctx     context.Context
	req     warm.FetchRequest
	task    warm.Task
	release func() // gives the fetch's budget leave back
	out     chan<- poolDone
}

type poolDone struct {
	task warm.Task
	res  warm.Result
}

// NewPool starts concurrency fetchers.
func NewPool(f Fetcher, concurrency int) *Pool {
	p := &Pool{fetcher: f, in: make(chan poolWork)}
	for range max(concurrency, 1) {
		p.wg.Go(p.loop)
	}
	return p
}

func (p *Pool) loop() {
	for w := range p.in {
		p.busy.Add(1)
		res := p.fetcher.Fetch(w.ctx, w.req)
		p.busy.Add(-1)
		if w.release != nil {
			w.release()
		}
		w.out <- poolDone{task: w.task, res: res}
	}
}

// Busy is the number of fetches in flight.
func (p *Pool) Busy() int { return int(p.busy.Load()) }

// Close stops the fetchers once the work handed to them is done.
func (p *Pool) Close() {
	p.once.Do(func() { close(p.in) })
	p.wg.Wait()
}
