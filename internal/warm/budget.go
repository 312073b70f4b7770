package warm

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// A budget bounds what the whole fleet sends on behalf of one job, or to
// one URL host: fetches in flight at once and fetches started per second.
// Agents hold shares of a budget, recorded in the store, so the bound holds
// however many agents and jobs there are.

// Gate bounds what the fleet sends: a fetch enters once its job's and its
// URL host's budgets allow, and leaves when it ends; an answer that asks to
// slow down pauses the host, and the fetch is to be tried again (retry).
type Gate interface {
	Enter(ctx context.Context, job *Job, rawURL string) (leave func(), err error)
	Observe(ctx context.Context, jobID, rawURL string, res Result) (retry bool)
}

// JobBudget and HostBudget name budgets.
func JobBudget(jobID string) string { return "job:" + jobID }

// HostBudget is the budget of a URL host (lower-case, without port).
func HostBudget(host string) string { return "host:" + host }

// URLHost is the host a URL's budget is kept under: lower-case, no port.
func URLHost(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return strings.ToLower(u.Hostname())
}

// Limit is a budget's bound; zero fields are unlimited.
type Limit struct {
	Concurrency int     // fetches in flight
	RPS         float64 // fetches started per second
}

// Unlimited reports whether the limit bounds nothing.
func (l Limit) Unlimited() bool { return l.Concurrency <= 0 && l.RPS <= 0 }

// String says what the limit is, for messages.
func (l Limit) String() string {
	var parts []string
	if l.Concurrency > 0 {
		parts = append(parts, fmt.Sprintf("%d in flight", l.Concurrency))
	}
	if l.RPS > 0 {
		parts = append(parts, fmt.Sprintf("%g/s", l.RPS))
	}
	if len(parts) == 0 {
		return "unlimited"
	}
	return strings.Join(parts, ", ")
}

// Want is what an agent asks of one budget: Demand is the fetches it would
// run now (waiting and in flight), Held those in flight, which cannot be
// given back before they end.
type Want struct {
	Key    string
	Limit  Limit
	Demand int
	Held   int
}

// Share is an agent's part of a budget. Slots is what it may run at once
// (negative: no bound), Rate the fetches it may start per second (0 with a
// rate limit: none yet; negative: no bound).
type Share struct {
	Key   string
	Slots int
	Rate  float64
}

// FairShares divides capacity among demands, max-min fair: no demand gets
// more than it asked for, and what one does not use goes to the others.
func FairShares(capacity int, demands []int) []int {
	out := make([]int, len(demands))
	left, open := capacity, 0
	for _, d := range demands {
		if d > 0 {
			open++
		}
	}
	for left > 0 && open > 0 {
		each := max(left/open, 1)
		progressed := false
		for i, d := range demands {
			if left == 0 {
				break
			}
			if need := d - out[i]; need > 0 {
				give := min(need, each, left)
				out[i] += give
				left -= give
				progressed = true
				if out[i] == d {
					open--
				}
			}
		}
		if !progressed {
			break
		}
	}
	return out
}

// HostState is a URL host that pushed back (429 or 503) or mostly failed:
// paused until PausedUntil, then allowed a window of fetches in flight that
// starts at ResumeWindow and grows back (additive increase after the
// multiplicative decrease of the pause).
type HostState struct {
	Host         string
	PausedUntil  time.Time
	ResumeWindow int
	Strikes      int // pauses in a row, each longer when no Retry-After says how long
	Reason       string
	UpdatedAt    time.Time
}

// RecoveryPeriod is how long a resumed host takes to grow its window by
// its starting size again.
const RecoveryPeriod = 10 * time.Second

// Window is the fetches in flight the host allows at now: ResumeWindow
// when its pause ends (nothing starts before: see Paused), growing by
// ResumeWindow every RecoveryPeriod after.
func (h HostState) Window(now time.Time) int {
	start := max(h.ResumeWindow, 1)
	if now.Before(h.PausedUntil) {
		return start
	}
	return start + int(float64(start)*float64(now.Sub(h.PausedUntil))/float64(RecoveryPeriod))
}

// Limit is the host's limit at now under its configured one.
func (h HostState) Limit(configured Limit, now time.Time) Limit {
	w := h.Window(now)
	if configured.Concurrency > 0 && w >= configured.Concurrency {
		return configured
	}
	return Limit{Concurrency: w, RPS: configured.RPS}
}

// Recovered reports whether the host is back to its configured limit (or,
// with none, far past where it pushed back), so its state can be dropped.
func (h HostState) Recovered(configured Limit, now time.Time) bool {
	w := h.Window(now)
	if configured.Concurrency > 0 {
		return w >= configured.Concurrency
	}
	return w >= 16*max(h.ResumeWindow, 1) && now.Sub(h.PausedUntil) > time.Minute
}

// HostLimits are the per-host limits the servers set (Default, every host)
// and the hosts that pushed back.
type HostLimits struct {
	Default Limit
	Hosts   map[string]HostState
}

// For is the host's limit at now.
func (l HostLimits) For(host string, now time.Time) (Limit, HostState, bool) {
	st, ok := l.Hosts[host]
	if !ok {
		return l.Default, st, false
	}
	return st.Limit(l.Default, now), st, true
}
