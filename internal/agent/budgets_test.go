package agent

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"prewarm/internal/warm"
)

// budgetStore keeps shares and host states in memory, dividing budgets as
// the store does: the fair share, within what the others leave free.
type budgetStore struct {
	mu        sync.Mutex
	shares    map[string]map[string]warm.Share // key → agent → share
	hosts     warm.HostLimits
	warnings  []string
	leases    int
	hostReads int
}

func newBudgetStore() *budgetStore {
	return &budgetStore{shares: map[string]map[string]warm.Share{}, hosts: warm.HostLimits{Hosts: map[string]warm.HostState{}}}
}

func (s *budgetStore) Lease(_ context.Context, agent string, wants []warm.Want, _ time.Duration) ([]warm.Share, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.leases++
	var out []warm.Share
	for _, w := range wants {
		m := s.shares[w.Key]
		if m == nil {
			m = map[string]warm.Share{}
			s.shares[w.Key] = m
		}
		delete(m, agent)
		used := 0
		for _, o := range m {
			used += max(o.Slots, 0)
		}
		sh := warm.Share{Key: w.Key, Slots: -1, Rate: -1}
		if c := w.Limit.Concurrency; c > 0 {
			sh.Slots = max(min(c-used, w.Demand), 0)
		}
		if r := w.Limit.RPS; r > 0 {
			sh.Rate = r
		}
		if w.Demand > 0 || w.Held > 0 {
			m[agent] = warm.Share{Key: w.Key, Slots: max(sh.Slots, w.Held), Rate: sh.Rate}
		}
		out = append(out, sh)
	}
	return out, nil
}

func (s *budgetStore) HostLimits(context.Context) (warm.HostLimits, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hostReads++
	out := warm.HostLimits{Default: s.hosts.Default, Hosts: map[string]warm.HostState{}}
	for k, v := range s.hosts.Hosts {
		out.Hosts[k] = v
	}
	return out, nil
}

func (s *budgetStore) PauseHost(_ context.Context, h warm.HostState) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if old, ok := s.hosts.Hosts[h.Host]; !ok || old.PausedUntil.Before(h.PausedUntil) {
		s.hosts.Hosts[h.Host] = h
	}
	return nil
}

func (s *budgetStore) AddWarning(_ context.Context, _, w string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.warnings = append(s.warnings, w)
	return nil
}

func newTestBudgets(st *budgetStore) *Budgets {
	return NewBudgets(st, "agent-1", slog.New(slog.DiscardHandler), time.Now)
}

var testJob = &warm.Job{ID: "j1"}

// hold enters n times through enter and returns the n leaves; the test
// fails if an entry fails.
func hold(t *testing.T, n int, enter func() (leave func(), err error)) []func() {
	t.Helper()
	var leaves []func()
	for range n {
		leave, err := enter()
		if err != nil {
			t.Fatal(err)
		}
		leaves = append(leaves, leave)
	}
	return leaves
}

// A throttled answer pauses the host at once: no fetch to it starts until
// the Retry-After has passed, and then at most the resume window.
func TestBudgetsPauseOnThrottle(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := newBudgetStore()
		bs := newTestBudgets(st)
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		go bs.Run(ctx)
		const u = "https://a.test/x"
		leaves := hold(t, 6, func() (func(), error) { return bs.Enter(ctx, testJob, u) })
		start := time.Now()
		if !bs.Observe(ctx, "j1", u, warm.Result{StatusCode: 429, RetryAfter: 2 * time.Second}) {
			t.Fatal("a 429 is not to be retried")
		}
		for _, leave := range leaves {
			leave()
		}
		var entered []time.Duration
		var mu sync.Mutex
		var wg sync.WaitGroup
		for range 5 {
			wg.Go(func() {
				leave, err := bs.Enter(ctx, testJob, u)
				if err != nil {
					return
				}
				mu.Lock()
				entered = append(entered, time.Since(start))
				mu.Unlock()
				time.Sleep(time.Hour) // held: the window is what counts
				leave()
			})
		}
		time.Sleep(3 * time.Second)
		mu.Lock()
		got := append([]time.Duration(nil), entered...)
		mu.Unlock()
		cancel()
		wg.Wait()
		if len(got) != 3 {
			t.Fatalf("%d fetches started within 3 s, want the resume window of 3 (half of 6 in flight): %v", len(got), got)
		}
		for _, d := range got {
			if d < 2*time.Second {
				t.Fatalf("a fetch started %v after the 429, inside the 2 s pause", d)
			}
		}
		if len(st.warnings) != 1 || st.warnings[0] != "a.test answered 429: paused 2s" {
			t.Fatalf("warnings %q", st.warnings)
		}
		if h := st.hosts.Hosts["a.test"]; h.ResumeWindow != 3 || h.Strikes != 1 {
			t.Fatalf("host state %+v", h)
		}
	})
}

// A host whose answers mostly fail is paused, a little longer each time
// in a row; answers that never came (a POP refusing connections) do not
// count against the host.
func TestBudgetsBreakerPausesAFailingHost(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := newBudgetStore()
		bs := newTestBudgets(st)
		ctx := t.Context()
		const u = "https://b.test/x"
		refused := warm.Result{Error: "connect: connection refused"}
		for range 30 {
			if bs.Observe(ctx, "j1", u, refused) {
				t.Fatal("a refused connection is retried as throttled")
			}
		}
		if len(st.hosts.Hosts) != 0 {
			t.Fatalf("paused for a POP's fault: %+v", st.hosts.Hosts)
		}
		fail := warm.Result{StatusCode: 502, Error: "HTTP 502 Bad Gateway"}
		ok := warm.Result{StatusCode: 200, OK: true}
		for i := range 8 {
			bs.Observe(ctx, "j1", u, fail)
			if i == 4 {
				bs.Observe(ctx, "j1", u, ok)
			}
		}
		if len(st.hosts.Hosts) != 0 {
			t.Fatal("paused before ten answers")
		}
		bs.Observe(ctx, "j1", u, fail) // 9 of 10 failed
		h := st.hosts.Hosts["b.test"]
		if got := h.PausedUntil.Sub(time.Now()); got != 5*time.Second || h.Strikes != 1 {
			t.Fatalf("first pause %v, strikes %d; want 5s, 1", got, h.Strikes)
		}
		time.Sleep(6 * time.Second) // past the pause, within a minute of it
		for range 10 {
			bs.Observe(ctx, "j1", u, fail)
		}
		h = st.hosts.Hosts["b.test"]
		if got := h.PausedUntil.Sub(time.Now()); got != 10*time.Second || h.Strikes != 2 {
			t.Fatalf("second pause %v, strikes %d; want 10s, 2", got, h.Strikes)
		}
		if len(st.warnings) != 2 || st.warnings[0] != "b.test: 9 of its last 10 fetches failed (HTTP 502 Bad Gateway): paused 5s" {
			t.Fatalf("warnings %q", st.warnings)
		}
	})
}

// What a fetch waits for is said as it is: first the agent's share of the
// host's budget (its first lease), then a share whose every slot is in
// flight; the limit is the budget's bound, not what is in flight.
func TestBudgetsSayWhatAFetchWaitsFor(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := newBudgetStore()
		st.hosts.Default = warm.Limit{Concurrency: 2}
		bs := newTestBudgets(st)
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		go bs.Run(ctx)
		synctest.Wait()
		asks := bs.Asks(testJob, "www.example.test")
		var mu sync.Mutex
		var said []string
		wait := func(s string) { mu.Lock(); said = append(said, s); mu.Unlock() }
		leaves := hold(t, 2, func() (func(), error) { return bs.Acquire(ctx, asks, wait) })
		done := make(chan struct{})
		go func() {
			defer close(done)
			if leave, err := bs.Acquire(ctx, asks, wait); err == nil {
				leave()
			}
		}()
		synctest.Wait()
		leaves[0]()
		<-done
		leaves[1]()
		mu.Lock()
		defer mu.Unlock()
		const host = "host www.example.test: "
		if len(said) < 2 || said[0] != host+"waiting for a share of its budget (at most 2 in flight)" ||
			said[len(said)-1] != host+"this agent's share of its budget is in use (2 in flight here; the budget: at most 2 in flight)" {
			t.Fatalf("waiting said %q", said)
		}
	})
}

// A budget's first lease asks for what the process can run (within the
// limit), so that one fetch waiting for it is followed by as many as the
// agent can run without a lease apiece to double the share; the next
// lease asks for what is used.
func TestBudgetsFirstLeaseAsksForTheCapacity(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := newBudgetStore()
		st.hosts.Default = warm.Limit{Concurrency: 2048}
		bs := newTestBudgets(st)
		bs.SetCapacity(1000)
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		go bs.Run(ctx)
		synctest.Wait()
		const u = "https://a.test/x"
		first := hold(t, 1, func() (func(), error) { return bs.Enter(ctx, testJob, u) })
		if got := st.held(warm.HostBudget("a.test")); got != 1000 {
			t.Fatalf("the first lease granted %d, want the capacity, 1000", got)
		}
		st.mu.Lock()
		leases, reads := st.leases, st.hostReads
		st.mu.Unlock()
		if reads != 1 || leases != 1 {
			t.Fatalf("%d host reads and %d leases before the first fetch, want 1 and 1: the round a waiting fetch asks for reuses the host states the last round read", reads, leases)
		}
		more := hold(t, 999, func() (func(), error) { return bs.Enter(ctx, testJob, u) })
		if n := st.leaseCount() - leases; n != 0 {
			t.Fatalf("%d more leases before the capacity's fetches ran, want none", n)
		}
		for _, leave := range append(first, more[:990]...) {
			leave()
		}
		time.Sleep(time.Second) // two rounds: the share follows what is used
		if got := st.held(warm.HostBudget("a.test")); got >= 1000 || got < 9 {
			t.Fatalf("with 9 in flight the share is %d, want room for them and less than the capacity", got)
		}
	})
}

func (s *budgetStore) held(key string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, sh := range s.shares[key] {
		n += sh.Slots
	}
	return n
}

func (s *budgetStore) leaseCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.leases
}
