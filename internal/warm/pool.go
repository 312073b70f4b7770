package warm

import (
	"context"
	"sync"
	"sync/atomic"
)

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
	ctx  context.Context
	req  FetchRequest
	task Task
	out  chan<- poolDone
}

type poolDone struct {
	task Task
	res  Result
}

// NewPool starts concurrency fetchers.
func NewPool(f Fetcher, concurrency int) *Pool {
	p := &Pool{fetcher: f, in: make(chan poolWork)}
	for range max(concurrency, 1) {
		p.wg.Add(1)
		go p.loop()
	}
	return p
}

func (p *Pool) loop() {
	defer p.wg.Done()
	for w := range p.in {
		p.busy.Add(1)
		res := p.fetcher.Fetch(w.ctx, w.req)
		p.busy.Add(-1)
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
