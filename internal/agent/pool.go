package agent

import (
	"context"
	"sync"
	"time"

	"prewarm/internal/warm"
)

// Fetcher talks to edges: it downloads a URL through a POP, discards the
// body and says how it went.
type Fetcher interface {
	Fetch(ctx context.Context, r warm.FetchRequest) warm.Result
}

// Pool runs an agent's fetches: never more at once than its concurrency,
// however many batches share it, and to each POP no more than that POP's
// own limit, which adapts to the POP's distance (see popLimit). A POP 150 ms
// away needs hundreds of fetches in flight to keep its share of the pool
// busy; on loopback a few dozen do, and more only queue.
//
// While fetches to several POPs wait for room, a POP holding its fair share
// of the pool (its concurrency over the POPs with fetches waiting or in
// flight) starts no more until the others have theirs: a POP that hangs or
// answers slowly cannot take the slots the healthy ones need. A POP alone,
// or beside POPs that want less, still uses the whole pool.
type Pool struct {
	fetcher Fetcher
	max     int
	now     func() time.Time

	mu       sync.Mutex
	inFlight int
	pops     map[string]*popLimit
	changed  chan struct{} // closed when a fetch ends or a limit changes
	closed   bool
	wg       sync.WaitGroup
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

// NewPool returns a pool of at most concurrency fetches in flight.
func NewPool(f Fetcher, concurrency int) *Pool {
	return &Pool{fetcher: f, max: max(concurrency, 1), now: time.Now, pops: map[string]*popLimit{},
		changed: make(chan struct{})}
}

// Start waits for room for one more fetch to w's POP, then fetches in the
// background and hands the result to w.out. It fails only when ctx ends
// first (or the pool is closed).
func (p *Pool) Start(ctx context.Context, w poolWork) error {
	p.mu.Lock()
	lim := p.pop(w.req.POP)
	lim.waiting++
	for {
		err := ctx.Err()
		if p.closed {
			err = context.Canceled
		}
		// Room may come as ctx ends (the fetches it ended leave): no
		// fetch starts that could only abort.
		if err != nil {
			lim.waiting--
			p.broadcast() // a POP yielding to this one may go on
			p.mu.Unlock()
			return err
		}
		if p.inFlight < p.max && lim.inFlight < lim.allowed() && !p.yields(lim) {
			lim.waiting--
			p.inFlight++
			lim.inFlight++
			lim.peak = max(lim.peak, lim.inFlight)
			lim.lastStart = p.now()
			break
		}
		changed := p.changed
		p.mu.Unlock()
		select {
		case <-changed:
		case <-ctx.Done():
		}
		p.mu.Lock()
	}
	p.wg.Add(1)
	p.mu.Unlock()
	go p.fetch(w)
	return nil
}

func (p *Pool) fetch(w poolWork) {
	defer p.wg.Done()
	res := p.fetcher.Fetch(w.ctx, w.req)
	if w.release != nil {
		w.release()
	}
	p.mu.Lock()
	p.inFlight--
	lim := p.pop(w.req.POP)
	lim.inFlight--
	lim.observe(res, w.ctx.Err() != nil, p.now())
	p.broadcast()
	p.mu.Unlock()
	w.out <- poolDone{task: w.task, res: res}
}

// yields reports whether lim's POP, holding at least its fair share of the
// pool, leaves the next slot to another POP that waits for room with less
// than its share; p.mu held.
func (p *Pool) yields(lim *popLimit) bool {
	if lim.inFlight < p.max/len(p.pops) { // under any share
		return false
	}
	active := 0
	for _, o := range p.pops {
		if o.waiting > 0 || o.inFlight > 0 {
			active++
		}
	}
	share := max(p.max/active, 1)
	if lim.inFlight < share {
		return false
	}
	now := p.now()
	for _, o := range p.pops {
		if o != lim && o.wants(now) && o.inFlight < min(o.allowed(), share) {
			return true
		}
	}
	return false
}

// wantsGrace is how long after a POP's last start it still counts as
// wanting room: its batches hand the pool one fetch at a time, so between
// one fetch started and the next asked for, nothing of it waits — and a
// POP over its share would take every slot freed in that instant.
const wantsGrace = 10 * time.Millisecond

// wants reports whether the POP waits for room, or did a moment ago.
func (l *popLimit) wants(now time.Time) bool {
	return l.waiting > 0 || now.Sub(l.lastStart) < wantsGrace
}

// broadcast wakes the fetches waiting for room; p.mu held.
func (p *Pool) broadcast() {
	close(p.changed)
	p.changed = make(chan struct{})
}

// pop is the limit of one POP; p.mu held.
func (p *Pool) pop(code string) *popLimit {
	lim := p.pops[code]
	if lim == nil {
		lim = newPOPLimit(p.max, p.now())
		p.pops[code] = lim
	}
	return lim
}

// Busy is the number of fetches in flight.
func (p *Pool) Busy() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.inFlight
}

// Limit is the fetches a POP may have in flight now.
func (p *Pool) Limit(pop string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.pop(pop).allowed()
}

// Close waits for the fetches in flight; no fetch starts after it.
func (p *Pool) Close() {
	p.mu.Lock()
	if !p.closed {
		p.closed = true
		p.broadcast()
	}
	p.mu.Unlock()
	p.wg.Wait()
}

// popLimit adapts the fetches in flight to one POP, in windows of about
// one round trip. It doubles the limit while the POP uses it, its
// answers come no later than their fastest plus a little (the slack), and
// few fail: more in flight then means more done, as to a far POP. It holds
// it while answers come later than that — fetches would only queue, as on
// loopback where the CPU is the bound — and cuts it when they come much
// later or when fetches fail (timeouts, 5xx, connections refused).
type popLimit struct {
	limit    float64
	ceiling  int
	inFlight int
	waiting  int // fetches waiting in Start for room
	// lastStart is when the POP's last fetch started.
	lastStart time.Time

	minRTT   time.Duration // fastest first byte seen lately
	minSince time.Time
	// The current window.
	start      time.Time
	sum        time.Duration
	n, errs    int
	peak       int
	nextMinRTT time.Duration // fastest in the current min period
}

// Bounds of a POP's limit.
const (
	popLimitStart = 128
	popLimitFloor = 8
	// minRTTPeriod: the fastest answer is forgotten after it, so a path
	// that got slower is learnt again.
	minRTTPeriod = 10 * time.Second
)

func newPOPLimit(ceiling int, now time.Time) *popLimit {
	// A quarter of the pool at first: a POP that hangs from its first
	// request holds no more of it while the others start.
	start := min(popLimitStart, max(ceiling/4, popLimitFloor), ceiling)
	return &popLimit{limit: float64(start), ceiling: ceiling, start: now, minSince: now}
}

func (l *popLimit) allowed() int { return max(int(l.limit), 1) }

// observe learns from one fetch's end; aborted fetches (the job ended, the
// agent stops) say nothing of the POP.
func (l *popLimit) observe(res warm.Result, aborted bool, now time.Time) {
	if aborted {
		return
	}
	if res.StatusCode == 0 || res.StatusCode >= 500 {
		l.errs++
	}
	if res.StatusCode > 0 && res.TTFB > 0 {
		l.sum += res.TTFB
		l.n++
		if l.nextMinRTT == 0 || res.TTFB < l.nextMinRTT {
			l.nextMinRTT = res.TTFB
		}
		if l.minRTT == 0 || res.TTFB < l.minRTT {
			l.minRTT = res.TTFB
		}
	}
	done := l.n + l.errs
	if done < max(l.allowed()/2, 16) || now.Sub(l.start) < max(l.minRTT, 10*time.Millisecond) {
		return
	}
	l.adjust()
	if now.Sub(l.minSince) > minRTTPeriod && l.nextMinRTT > 0 {
		l.minRTT, l.nextMinRTT, l.minSince = l.nextMinRTT, 0, now
	}
	l.start, l.sum, l.n, l.errs, l.peak = now, 0, 0, 0, l.inFlight
}

// adjust sets the limit from the window just ended.
func (l *popLimit) adjust() {
	done := l.n + l.errs
	slack := max(l.minRTT/10, 5*time.Millisecond)
	var delay time.Duration
	if l.n > 0 {
		delay = l.sum/time.Duration(l.n) - l.minRTT
	}
	switch {
	case l.errs*10 > done: // more than one in ten failed
		l.limit *= 0.7
	case delay > 4*slack:
		l.limit *= 0.9
	case delay <= slack && float64(l.peak) >= 0.8*l.limit:
		l.limit *= 2
	}
	l.limit = min(max(l.limit, popLimitFloor), float64(l.ceiling))
}
