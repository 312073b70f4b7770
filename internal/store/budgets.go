package store

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"time"

	"prewarm/internal/warm"
)

// Lease renews an agent's shares of the budgets it wants and gives back
// those it no longer needs (no demand, nothing held), in one transaction.
// Each budget is divided max-min fairly by the agents' demands, and an
// agent's share only grows into what the others leave free, so the shares
// of a budget never add up to more than its limit. A share not renewed
// within ttl expires (its agent died).
func (s *Store) Lease(ctx context.Context, agentID string, wants []warm.Want, ttl time.Duration) ([]warm.Share, error) {
	wants = slices.Clone(wants)
	// One order for every agent: PostgreSQL's locks are then taken in it.
	slices.SortFunc(wants, func(a, b warm.Want) int { return cmpString(a.Key, b.Key) })
	var out []warm.Share
	err := s.inTx(ctx, func(tx Tx) error {
		now := s.now()
		others := make([][]otherShare, len(wants))
		var stmts []Stmt
		for i, w := range wants {
			stmts = append(stmts, s.leaseReadStmts(agentID, w.Key, now, &others[i])...)
		}
		if err := tx.Pipeline(ctx, stmts); err != nil {
			return fmt.Errorf("lease: %w", err)
		}
		out, stmts = out[:0], nil
		for i, w := range wants {
			if w.Demand <= 0 && w.Held <= 0 {
				out = append(out, warm.Share{Key: w.Key})
				continue
			}
			sh, slots := divide(w, others[i])
			out = append(out, sh)
			stmts = append(stmts, Stmt{SQL: `INSERT INTO budget_shares (key, agent, slots, rate, demand, expires_at) VALUES ($1,$2,$3,$4,$5,$6)`,
				Args: []any{w.Key, agentID, slots, max(sh.Rate, 0), w.Demand, micros(now.Add(ttl))}})
		}
		if err := tx.CommitWith(ctx, stmts); err != nil {
			return fmt.Errorf("lease: %w", err)
		}
		return nil
	})
	return out, err
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

type otherShare struct {
	slots, demand int
	rate          float64
}

// leaseReadStmts take the budget's lock (PostgreSQL; SQLite has one
// writer at a time already), drop the agent's own and expired shares, and
// read the others' into others: a lease's first round trip, for every
// budget it renews.
func (s *Store) leaseReadStmts(agentID, key string, now time.Time, others *[]otherShare) []Stmt {
	var stmts []Stmt
	if s.db.Dialect().Name == "postgres" {
		stmts = append(stmts, Stmt{SQL: `SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, Args: []any{key},
			Rows: func(Rows) error { return nil }})
	}
	return append(stmts,
		Stmt{SQL: `DELETE FROM budget_shares WHERE key = $1 AND (expires_at < $2 OR agent = $3)`, Args: []any{key, micros(now), agentID}},
		Stmt{SQL: `SELECT slots, rate, demand FROM budget_shares WHERE key = $1`, Args: []any{key}, Rows: func(rows Rows) error {
			var err error
			*others, err = collect(rows, func(rows Rows, o *otherShare) error { return rows.Scan(&o.slots, &o.rate, &o.demand) })
			return err
		}})
}

// divide is an agent's share of a budget beside the others', and the slots
// it records: its share, or what it holds when that is more (fetches in
// flight end before they are given back).
func divide(w warm.Want, others []otherShare) (warm.Share, int) {
	sh := warm.Share{Key: w.Key, Slots: -1, Rate: -1}
	demands := make([]int, 0, len(others)+1)
	usedSlots, usedRate, totalDemand := 0, 0.0, w.Demand
	for _, o := range others {
		demands = append(demands, o.demand)
		usedSlots += o.slots
		usedRate += o.rate
		totalDemand += o.demand
	}
	recorded := 0
	if c := w.Limit.Concurrency; c > 0 {
		fair := warm.FairShares(c, append(demands, w.Demand))[len(demands)]
		sh.Slots = max(min(fair, c-usedSlots), 0)
		recorded = max(sh.Slots, w.Held)
	}
	if r := w.Limit.RPS; r > 0 {
		fair := r
		if totalDemand > 0 {
			fair = r * float64(w.Demand) / float64(totalDemand)
		}
		sh.Rate = max(min(fair, r-usedRate), 0)
	}
	return sh, recorded
}

// Settings of the per-host limits, which every agent reads.
const (
	hostConcurrencyKey = "host_concurrency"
	hostRPSKey         = "host_rps"
)

// SetHostLimits records the per-host limits of the servers (the last serve
// to start wins: give every serve the same flags).
func (s *Store) SetHostLimits(ctx context.Context, l warm.Limit) error {
	return s.inTx(ctx, func(tx Tx) error {
		for k, v := range map[string]string{
			hostConcurrencyKey: strconv.Itoa(l.Concurrency),
			hostRPSKey:         strconv.FormatFloat(l.RPS, 'g', -1, 64),
		} {
			if _, err := tx.Exec(ctx, `INSERT INTO settings (key, value) VALUES ($1, $2)
				ON CONFLICT (key) DO UPDATE SET value = excluded.value`, k, v); err != nil {
				return fmt.Errorf("set %s: %w", k, err)
			}
		}
		return nil
	})
}

// HostLimits reads the per-host limits and the hosts that pushed back, in
// one round trip: every budget round of every agent reads them.
func (s *Store) HostLimits(ctx context.Context) (warm.HostLimits, error) {
	out := warm.HostLimits{Hosts: map[string]warm.HostState{}}
	settings := Stmt{SQL: `SELECT key, value FROM settings WHERE key IN ($1, $2)`, Args: []any{hostConcurrencyKey, hostRPSKey},
		Rows: func(rows Rows) error {
			for rows.Next() {
				var key, v string
				err := rows.Scan(&key, &v)
				switch {
				case err != nil:
				case key == hostConcurrencyKey:
					out.Default.Concurrency, err = strconv.Atoi(v)
				default:
					out.Default.RPS, err = strconv.ParseFloat(v, 64)
				}
				if err != nil {
					return fmt.Errorf("%s: %w", key, err)
				}
			}
			return nil
		}}
	hosts := Stmt{SQL: `SELECT host, paused_until, resume_window, strikes, reason, updated_at FROM host_states`,
		Rows: func(rows Rows) error {
			for rows.Next() {
				var h warm.HostState
				var until, updated int64
				if err := rows.Scan(&h.Host, &until, &h.ResumeWindow, &h.Strikes, &h.Reason, &updated); err != nil {
					return fmt.Errorf("host states: %w", err)
				}
				h.PausedUntil, h.UpdatedAt = fromMicros(until), fromMicros(updated)
				out.Hosts[h.Host] = h
			}
			return nil
		}}
	return out, s.readTogether(ctx, []Stmt{settings, hosts})
}

// readTogether runs read statements in one round trip: on PostgreSQL a
// transaction of their own on the write pool, whose BEGIN and COMMIT go
// with them (the read pool may be queued deep with the batches' reads; a
// budget round must not wait behind them). SQLite, in process, reads them
// one by one from its readers.
func (s *Store) readTogether(ctx context.Context, stmts []Stmt) error {
	if s.db.Dialect().Name != "postgres" {
		return RunStmts(ctx, s.db.Reader(), stmts)
	}
	return s.pipelineTx(ctx, stmts)
}

// pipelineTx runs stmts in a transaction of their own, in one pipeline
// with its BEGIN and COMMIT: one round trip to PostgreSQL. Unlike inTx it
// leaves the "writes failing" mark to its caller.
func (s *Store) pipelineTx(ctx context.Context, stmts []Stmt) error {
	return s.transact(ctx, func(tx Tx) error { return tx.CommitWith(ctx, stmts) }, nil)
}

// PauseHost records that a host pushed back, unless a pause already
// recorded (by another agent) lasts longer.
func (s *Store) PauseHost(ctx context.Context, h warm.HostState) error {
	_, err := s.db.Exec(ctx, `INSERT INTO host_states (host, paused_until, resume_window, strikes, reason, updated_at)
		VALUES ($1,$2,$3,$4,$5,$6)
		ON CONFLICT (host) DO UPDATE SET paused_until = excluded.paused_until, resume_window = excluded.resume_window,
			strikes = excluded.strikes, reason = excluded.reason, updated_at = excluded.updated_at
		WHERE host_states.paused_until < excluded.paused_until`,
		h.Host, micros(h.PausedUntil), h.ResumeWindow, h.Strikes, h.Reason, micros(s.now()))
	if err != nil {
		return fmt.Errorf("pause host %s: %w", h.Host, err)
	}
	return nil
}

// ForgetHosts drops host states paused longer ago than before: they have
// long recovered.
func (s *Store) ForgetHosts(ctx context.Context, before time.Time) error {
	_, err := s.db.Exec(ctx, `DELETE FROM host_states WHERE paused_until < $1`, micros(before))
	return err
}

// AddWarning records, once, what the fleet noticed while warming a job.
func (s *Store) AddWarning(ctx context.Context, jobID, warning string) error {
	_, err := s.db.Exec(ctx, `INSERT INTO job_warnings (job_id, warning, at) VALUES ($1,$2,$3)
		ON CONFLICT (job_id, warning) DO NOTHING`, jobID, warning, micros(s.now()))
	return err
}

// SetWaiting records what a job's fetches wait for (a budget), now.
func (s *Store) SetWaiting(ctx context.Context, jobID, what string) error {
	_, err := s.db.Exec(ctx, `UPDATE jobs SET waiting = $2, waiting_at = $3 WHERE id = $1`, jobID, what, micros(s.now()))
	return err
}
