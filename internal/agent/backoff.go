package agent

import (
	"context"
	"fmt"
	"strings"
	"time"

	"prewarm/internal/warm"
)

// Pauses of a host that pushed back without saying for how long, or whose
// fetches mostly fail: doubling from the base with each pause in a row, up
// to the cap. A Retry-After is obeyed up to maxRetryAfter.
const (
	throttleBase  = time.Second
	breakerBase   = 5 * time.Second
	pauseCap      = time.Minute
	maxRetryAfter = 10 * time.Minute
	// A pause within strikeMemory of the last one's end is another strike.
	strikeMemory = time.Minute
)

// The circuit breaker of a host opens when, of its last breakerWindow
// answers (at least breakerMin), breakerShare or more failed.
const (
	breakerWindow = 20
	breakerMin    = 10
	breakerShare  = 0.8
)

// breaker remembers a host's recent outcomes in a ring.
type breaker struct {
	outcomes [breakerWindow]bool // true: failed
	n, next  int
	lastErr  string
}

func (b *breaker) add(failed bool, errText string) {
	b.outcomes[b.next] = failed
	b.next = (b.next + 1) % breakerWindow
	b.n = min(b.n+1, breakerWindow)
	if failed {
		b.lastErr = errText
	}
}

func (b *breaker) failures() int {
	f := 0
	for i := range b.n {
		if b.outcomes[i] {
			f++
		}
	}
	return f
}

func (b *breaker) open() bool {
	return b.n >= breakerMin && float64(b.failures()) >= breakerShare*float64(b.n)
}

// Observe learns from a fetch of a job to a URL host. A throttled answer
// (429, 503) pauses the host for the whole fleet, for its Retry-After or a
// growing backoff, and asks for the task to be tried again (retry); a host
// whose recent answers mostly fail (5xx, timeouts) is paused the same way,
// its failed tasks staying failed.
func (bs *Budgets) Observe(ctx context.Context, jobID, rawURL string, res warm.Result) (retry bool) {
	host := warm.URLHost(rawURL)
	if res.Throttled() {
		pause, retryAfter := res.RetryAfter, res.RetryAfter > 0
		bs.pause(ctx, jobID, host, func(strikes int) (time.Duration, string) {
			if !retryAfter {
				pause = backoff(throttleBase, strikes)
			}
			pause = min(pause, maxRetryAfter)
			return pause, fmt.Sprintf("%s answered %d: paused %s", host, res.StatusCode, pause.Round(time.Millisecond))
		})
		return true
	}
	failed, counts := breakerOutcome(res)
	if !counts {
		return false
	}
	bs.mu.Lock()
	b := bs.breakers[host]
	if b == nil {
		b = &breaker{}
		bs.breakers[host] = b
	}
	b.add(failed, res.Error)
	open, f, n, lastErr := b.open(), b.failures(), b.n, b.lastErr
	if open {
		*b = breaker{}
	}
	bs.mu.Unlock()
	if open {
		bs.pause(ctx, jobID, host, func(strikes int) (time.Duration, string) {
			pause := backoff(breakerBase, strikes)
			return pause, fmt.Sprintf("%s: %d of its last %d fetches failed (%s): paused %s", host, f, n, lastErr, pause)
		})
	}
	return false
}

// breakerOutcome classifies a result for the circuit breaker: an answer
// counts (failed when 5xx), a timeout counts as failed, and a connection
// that never opened does not count (that is the POP's fault, not the
// host's).
func breakerOutcome(res warm.Result) (failed, counts bool) {
	switch {
	case res.StatusCode >= 500:
		return true, true
	case res.StatusCode > 0:
		return false, true
	case strings.Contains(res.Error, "timeout"):
		return true, true
	}
	return false, false
}

func backoff(base time.Duration, strikes int) time.Duration {
	d := base
	for range max(strikes-1, 0) {
		if d *= 2; d >= pauseCap {
			return pauseCap
		}
	}
	return d
}

// pause pauses host here at once and for the fleet through the store, and
// warns the job. how gives the pause and its warning from the strike count.
func (bs *Budgets) pause(ctx context.Context, jobID, host string, how func(strikes int) (time.Duration, string)) {
	bs.mu.Lock()
	now := bs.now()
	prev, had := bs.hosts.Hosts[host]
	if had && now.Before(prev.PausedUntil) {
		bs.mu.Unlock()
		return // already paused: answers to fetches sent before it
	}
	strikes := 1
	if had && now.Sub(prev.PausedUntil) < strikeMemory {
		strikes = prev.Strikes + 1
	}
	d, warning := how(strikes)
	inFlight := 0
	if b := bs.budgets[warm.HostBudget(host)]; b != nil {
		inFlight = b.inFlight
	}
	st := warm.HostState{Host: host, PausedUntil: now.Add(d), ResumeWindow: max(inFlight/2, 1), Strikes: strikes,
		Reason: warning, UpdatedAt: now}
	bs.hosts.Hosts[host] = st
	if b := bs.budgets[warm.HostBudget(host)]; b != nil {
		bs.setLimit(b, Ask{Key: b.key, host: host})
	}
	bs.kickLease() // a share of the resume window, ready when the pause ends
	bs.mu.Unlock()
	bs.log.Warn("host paused", "host", host, "job", jobID, "until", st.PausedUntil, "reason", warning)
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := bs.store.PauseHost(ctx, st); err != nil {
		bs.log.Warn("recording a host pause", "host", host, "err", err)
	}
	if err := bs.store.AddWarning(ctx, jobID, warning); err != nil {
		bs.log.Warn("recording a job warning", "job", jobID, "err", err)
	}
}

// PausedUntil is when host's pause ends, as this process knows it (its
// own pauses at once, the fleet's within a round); zero when it is not
// paused.
func (bs *Budgets) PausedUntil(host string) time.Time {
	bs.mu.Lock()
	defer bs.mu.Unlock()
	if st, ok := bs.hosts.Hosts[host]; ok && bs.now().Before(st.PausedUntil) {
		return st.PausedUntil
	}
	return time.Time{}
}
