package agent

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"prewarm/internal/warm"
)

// BudgetStore is what sharing budgets across the fleet reads and writes.
type BudgetStore interface {
	// Lease renews the agent's shares of the budgets it wants.
	Lease(ctx context.Context, agentID string, wants []warm.Want, ttl time.Duration) ([]warm.Share, error)
	// HostLimits are the servers' per-host limits and the hosts that
	// pushed back.
	HostLimits(ctx context.Context) (warm.HostLimits, error)
	// PauseHost records a host that pushed back, for the whole fleet.
	PauseHost(ctx context.Context, h warm.HostState) error
	AddWarning(ctx context.Context, jobID, warning string) error
}

// Budgets gives an agent's fetches leave to start under the fleet-wide
// budgets of their job and their URL host. A limited budget is shared
// through the store: the agent asks for what its waiting and running
// fetches need, and starts no more than its share. Unlimited budgets cost
// nothing: no lease, no wait. It also keeps the hosts that pushed back
// (429, 503, mostly failing) paused for the whole fleet.
type Budgets struct {
	store   BudgetStore
	agentID string
	log     *slog.Logger
	now     func() time.Time
	// Interval is how often shares are renewed (and host states read).
	interval time.Duration

	// capacity is the most fetches the process runs at once: what a budget
	// it has no share of yet asks for (see round).
	capacity int

	mu       sync.Mutex
	budgets  map[string]*budget
	hosts    warm.HostLimits
	breakers map[string]*breaker
	kick     chan struct{}
}

// budget is the agent's side of one budget.
type budget struct {
	key      string
	limit    warm.Limit
	paused   time.Time // no fetch starts before
	waiting  int
	inFlight int
	leased   bool          // a lease has given it a share
	slots    int           // share of fetches in flight; negative: no bound
	limiter  *rate.Limiter // nil: no rate bound (or no share of it yet, with rateWait)
	rateWait bool          // a rate limit without a share yet
	changed  chan struct{} // closed when any of the above changes
}

func (b *budget) unlimited() bool { return b.limit.Unlimited() }

// demand is what to ask the fleet for: room to double what runs, and at
// least a window ahead of what waits. Batches hand the pool one fetch at a
// time each, so the fetches waiting say little of what the agent could
// run; asking only for them would grow a share by a few slots a round.
func (b *budget) demand() int {
	if b.waiting == 0 && b.inFlight == 0 {
		return 0
	}
	return max(2*b.inFlight+b.waiting, b.waiting+demandAhead)
}

// demandAhead is the least an agent asks for beyond what waits.
const demandAhead = 64

// broadcast wakes every fetch waiting on b.
func (b *budget) broadcast() {
	close(b.changed)
	b.changed = make(chan struct{})
}

// NewBudgets returns the budgets of one agent; Run keeps its shares.
func NewBudgets(store BudgetStore, agentID string, log *slog.Logger, now func() time.Time) *Budgets {
	return &Budgets{
		store: store, agentID: agentID, log: log, now: now, interval: 500 * time.Millisecond,
		budgets: map[string]*budget{}, breakers: map[string]*breaker{}, kick: make(chan struct{}, 1),
		hosts: warm.HostLimits{Hosts: map[string]warm.HostState{}},
	}
}

// SetCapacity tells the budgets how many fetches the process runs at once
// (0: unknown). A budget's first lease asks for that much, capped by its
// limit, instead of room for the few fetches that wait when it starts:
// grown from those a lease at a time, a far agent's share took seconds to
// let it fetch at its pace (its leases cross the round trip). The store
// divides by demand and never grants more than is free, so a large ask
// takes nothing from the others; the next lease asks for what is used.
func (bs *Budgets) SetCapacity(n int) {
	bs.mu.Lock()
	defer bs.mu.Unlock()
	bs.capacity = n
}

// shareTTL is how long a share holds unless renewed: a few renewals, so an
// agent that died frees its share within seconds.
func (bs *Budgets) shareTTL() time.Duration { return 6 * bs.interval }

// Ask names a budget a fetch needs, with its limit (a host's comes from the
// host limits).
type Ask struct {
	Key   string
	Limit warm.Limit
	host  string
}

// Asks are the budgets a fetch of a job to a URL host needs.
func (bs *Budgets) Asks(job *warm.Job, host string) []Ask {
	return []Ask{
		{Key: warm.JobBudget(job.ID), Limit: warm.Limit{Concurrency: job.MaxConcurrency, RPS: job.MaxRPS}},
		{Key: warm.HostBudget(host), host: host},
	}
}

var _ warm.Gate = (*Budgets)(nil)

// Enter waits until a fetch of a job's URL may start under the job's and
// the URL host's budgets; leave gives the leave back.
func (bs *Budgets) Enter(ctx context.Context, job *warm.Job, rawURL string) (leave func(), err error) {
	return bs.Acquire(ctx, bs.Asks(job, warm.URLHost(rawURL)), nil)
}

// Acquire waits until a fetch may start under every budget of asks, and
// returns the function that gives the leave back when it ends. wait, if
// set, is told what the fetch waits for, once, when it first has to.
func (bs *Budgets) Acquire(ctx context.Context, asks []Ask, wait func(string)) (func(), error) {
	var held []*budget
	release := func() {
		bs.mu.Lock()
		defer bs.mu.Unlock()
		for _, b := range held {
			b.inFlight--
			b.broadcast()
		}
	}
	for _, a := range asks {
		b, err := bs.acquireOne(ctx, a, wait)
		if err != nil {
			release()
			return nil, err
		}
		held = append(held, b)
	}
	return release, nil
}

func (bs *Budgets) acquireOne(ctx context.Context, a Ask, wait func(string)) (*budget, error) {
	bs.mu.Lock()
	b := bs.budget(a)
	counted := false
	for {
		now := bs.now()
		blocked := b.blocked(a, now)
		if blocked == "" {
			break
		}
		first := !counted
		if first {
			counted = true
			b.waiting++
			bs.kickLease()
		}
		changed, paused := b.changed, b.paused
		bs.mu.Unlock()
		if first && wait != nil {
			wait(blocked)
		}
		if err := waitChange(ctx, changed, paused.Sub(now)); err != nil {
			bs.mu.Lock()
			b.waiting--
			bs.mu.Unlock()
			return nil, err
		}
		bs.mu.Lock()
	}
	if counted {
		b.waiting--
	}
	b.inFlight++
	limiter := b.limiter
	bs.mu.Unlock()
	if limiter != nil {
		if err := limiter.Wait(ctx); err != nil {
			bs.mu.Lock()
			b.inFlight--
			b.broadcast()
			bs.mu.Unlock()
			return nil, err
		}
	}
	return b, nil
}

// blocked says why a fetch under b cannot start now ("" if it can), as
// the job's waiting shows it: a pause, no share of the budget yet (an
// agent's first fetches wait for the lease that gives it one), a share
// whose every slot is in flight, or the rate.
func (b *budget) blocked(a Ask, now time.Time) string {
	who := a.describe()
	switch {
	case now.Before(b.paused):
		return fmt.Sprintf("%s: paused until %s", who, b.paused.Format(time.TimeOnly))
	case b.slots == 0:
		return fmt.Sprintf("%s: waiting for a share of its budget (at most %s)", who, b.limit)
	case b.slots > 0 && b.inFlight >= b.slots:
		return fmt.Sprintf("%s: this agent's share of its budget is in use (%d in flight here; the budget: at most %s)", who, b.inFlight, b.limit)
	case b.rateWait:
		return fmt.Sprintf("%s: waiting for its rate budget (at most %s)", who, b.limit)
	}
	return ""
}

func (a Ask) describe() string {
	if a.host != "" {
		return "host " + a.host
	}
	return "the job"
}

// waitChange waits for changed, for d when positive, or for ctx.
func waitChange(ctx context.Context, changed <-chan struct{}, d time.Duration) error {
	var timer <-chan time.Time
	if d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		timer = t.C
	}
	select {
	case <-changed:
	case <-timer:
	case <-ctx.Done():
		return ctx.Err()
	}
	return nil
}

// budget returns the agent's side of a's budget, creating it; bs.mu held.
func (bs *Budgets) budget(a Ask) *budget {
	b := bs.budgets[a.Key]
	if b == nil {
		b = &budget{key: a.Key, slots: -1, changed: make(chan struct{})}
		bs.budgets[a.Key] = b
		bs.setLimit(b, a)
	}
	return b
}

// setLimit applies a's limit (for a host: the host limits now) to b.
// A newly limited budget has no share until the next lease; bs.mu held.
func (bs *Budgets) setLimit(b *budget, a Ask) {
	limit, paused := a.Limit, time.Time{}
	if a.host != "" {
		var st warm.HostState
		limit, st, _ = bs.hosts.For(a.host, bs.now())
		paused = st.PausedUntil
	}
	was := b.limit
	b.limit, b.paused = limit, paused
	switch {
	case limit.Unlimited():
		b.slots, b.limiter, b.rateWait = -1, nil, false
	case was.Unlimited() || (was.Concurrency > 0) != (limit.Concurrency > 0) || (was.RPS > 0) != (limit.RPS > 0):
		b.slots, b.limiter, b.rateWait = -1, nil, limit.RPS > 0
		if limit.Concurrency > 0 {
			b.slots = 0
		}
	}
	b.broadcast()
}

// kickLease asks for a lease round now.
func (bs *Budgets) kickLease() {
	select {
	case bs.kick <- struct{}{}:
	default:
	}
}

// Run renews the agent's shares and reads the host states until ctx ends,
// then gives its shares back.
func (bs *Budgets) Run(ctx context.Context) {
	t := time.NewTicker(bs.interval)
	defer t.Stop()
	var hostsRead time.Time
	for readHosts := true; ; {
		if readHosts {
			hostsRead = bs.now()
		}
		if err := bs.round(ctx, readHosts); err != nil && ctx.Err() == nil {
			bs.log.Warn("renewing budget shares", "agent", bs.agentID, "err", err)
		}
		select {
		case <-ctx.Done():
			bs.giveBack(context.WithoutCancel(ctx))
			return
		case <-t.C:
			readHosts = true
		case <-bs.kick:
			// A fetch waits for a share: the host states the last
			// periodic round read will do, a round trip sooner (the next
			// reads them again).
			readHosts = hostsRead.IsZero()
		}
	}
}

// round reads the host states (if readHosts), then renews the shares of
// the limited budgets in use and forgets the idle ones.
func (bs *Budgets) round(ctx context.Context, readHosts bool) error {
	var hosts warm.HostLimits
	if readHosts {
		var err error
		if hosts, err = bs.store.HostLimits(ctx); err != nil {
			return err
		}
	}
	bs.mu.Lock()
	if readHosts {
		bs.mergeHosts(hosts)
	}
	var wants []warm.Want
	for key, b := range bs.budgets {
		if host, ok := hostOf(key); ok {
			bs.setLimit(b, Ask{Key: key, host: host})
		}
		if b.unlimited() {
			if b.waiting == 0 && b.inFlight == 0 {
				delete(bs.budgets, key)
			}
			continue
		}
		demand := b.demand()
		if !b.leased && demand > 0 && bs.capacity > 0 {
			demand = max(demand, min(bs.capacity, cmp.Or(b.limit.Concurrency, bs.capacity)))
		}
		wants = append(wants, warm.Want{Key: key, Limit: b.limit, Demand: demand, Held: b.inFlight})
		if b.waiting == 0 && b.inFlight == 0 {
			delete(bs.budgets, key) // its share is given back by this lease
		}
	}
	bs.mu.Unlock()
	if len(wants) == 0 {
		return nil
	}
	shares, err := bs.store.Lease(ctx, bs.agentID, wants, bs.shareTTL())
	if err != nil {
		return err
	}
	bs.mu.Lock()
	defer bs.mu.Unlock()
	for _, sh := range shares {
		if b := bs.budgets[sh.Key]; b != nil && !b.unlimited() {
			b.apply(sh)
		}
	}
	return nil
}

// mergeHosts takes the host states read from the store, keeping a pause
// this agent decided that the store does not show yet; bs.mu held.
func (bs *Budgets) mergeHosts(read warm.HostLimits) {
	if read.Hosts == nil {
		read.Hosts = map[string]warm.HostState{}
	}
	for host, local := range bs.hosts.Hosts {
		if stored, ok := read.Hosts[host]; !ok || stored.PausedUntil.Before(local.PausedUntil) {
			if bs.now().Sub(local.UpdatedAt) < bs.shareTTL() {
				read.Hosts[host] = local
			}
		}
	}
	bs.hosts = read
}

// apply takes a share from the store; bs.mu held.
func (b *budget) apply(sh warm.Share) {
	b.slots, b.leased = sh.Slots, true
	switch {
	case sh.Rate < 0:
		b.limiter, b.rateWait = nil, false
	case sh.Rate == 0:
		b.limiter, b.rateWait = nil, true
	case b.limiter == nil:
		b.limiter, b.rateWait = rate.NewLimiter(rate.Limit(sh.Rate), 1), false
	default:
		b.limiter.SetLimit(rate.Limit(sh.Rate))
	}
	b.broadcast()
}

// giveBack returns every share at shutdown, so others need not wait for
// them to expire.
func (bs *Budgets) giveBack(ctx context.Context) {
	bs.mu.Lock()
	var wants []warm.Want
	for key, b := range bs.budgets {
		if !b.unlimited() {
			wants = append(wants, warm.Want{Key: key, Limit: b.limit})
		}
	}
	bs.mu.Unlock()
	if len(wants) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if _, err := bs.store.Lease(ctx, bs.agentID, wants, 0); err != nil {
		bs.log.Warn("giving budget shares back", "agent", bs.agentID, "err", err)
	}
}

func hostOf(key string) (string, bool) {
	const prefix = "host:"
	if len(key) > len(prefix) && key[:len(prefix)] == prefix {
		return key[len(prefix):], true
	}
	return "", false
}
