package store

import (
	"cmp"
	"context"
	"fmt"
	"time"

	"prewarm/internal/warm"
)

// Heartbeat records the agent and returns the live agents, ranked by start
// time, and the desired capacity: one round trip, in a transaction whose
// BEGIN and COMMIT go with it, on a connection of the writes (a far
// agent's read pool may be queued deep with its batches' reads).
func (s *Store) Heartbeat(ctx context.Context, a warm.Agent, liveSince time.Time) ([]warm.Agent, int, error) {
	var live []warm.Agent
	desired := -1
	err := s.pipelineTx(ctx, []Stmt{
		{SQL: `INSERT INTO agents (id, name, host, concurrency, busy, active, started_at, last_heartbeat,
			batches, db_rtt_us, location) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11)
			ON CONFLICT (id) DO UPDATE SET busy = excluded.busy, active = excluded.active, last_heartbeat = excluded.last_heartbeat,
			batches = excluded.batches, db_rtt_us = excluded.db_rtt_us, location = excluded.location`,
			Args: []any{a.ID, a.Name, a.Host, a.Concurrency, a.Busy, a.Active, micros(a.StartedAt), micros(a.LastHeartbeat),
				cmp.Or(a.Batches, minWindowSlots), a.DBRoundTrip.Microseconds(), a.Location}},
		{SQL: agentsSQL, Args: []any{micros(liveSince)}, Rows: func(rows Rows) (err error) {
			live, err = collect(rows, scanAgent)
			return err
		}},
		{SQL: desiredSQL, Args: []any{desiredCapacityKey}, Rows: func(rows Rows) error {
			for rows.Next() {
				var v string
				if err := rows.Scan(&v); err != nil {
					return err
				}
				return parseDesired(v, &desired)
			}
			return nil
		}},
	})
	s.wrote(err, fullHold) // a heartbeat is a write every second: it notices a full disk, and room again
	if err != nil {
		return nil, 0, fmt.Errorf("heartbeat: %w", err)
	}
	return live, desired, nil
}

const agentsSQL = `SELECT id, name, host, concurrency, busy, active, started_at, last_heartbeat,
	batches, db_rtt_us, location FROM agents WHERE last_heartbeat >= $1 ORDER BY started_at, id`

// Agents lists agents whose last heartbeat is not older than liveSince,
// oldest first.
func (s *Store) Agents(ctx context.Context, liveSince time.Time) ([]warm.Agent, error) {
	rows, err := s.db.Reader().Query(ctx, agentsSQL, micros(liveSince))
	if err != nil {
		return nil, fmt.Errorf("agents: %w", err)
	}
	return collect(rows, scanAgent)
}

func scanAgent(rows Rows, a *warm.Agent) error {
	var started, beat, rtt int64
	if err := rows.Scan(&a.ID, &a.Name, &a.Host, &a.Concurrency, &a.Busy, &a.Active, &started, &beat, &a.Batches, &rtt, &a.Location); err != nil {
		return fmt.Errorf("agents: %w", err)
	}
	a.StartedAt, a.LastHeartbeat = fromMicros(started), fromMicros(beat)
	a.DBRoundTrip = time.Duration(rtt) * time.Microsecond
	return nil
}

// RoundTrip measures the database's round trip as this process sees it:
// the fastest of three trivial reads.
func (s *Store) RoundTrip(ctx context.Context) (time.Duration, error) {
	best := time.Duration(-1)
	for range 3 {
		start := time.Now()
		var one int
		if err := s.db.Reader().QueryRow(ctx, `SELECT 1`).Scan(&one); err != nil {
			return 0, fmt.Errorf("database round trip: %w", err)
		}
		if d := time.Since(start); best < 0 || d < best {
			best = d
		}
	}
	return best, nil
}

// RemoveAgent forgets an agent that shut down cleanly, so standbys take over
// at once instead of after the liveness window.
func (s *Store) RemoveAgent(ctx context.Context, id string) error {
	_, err := s.db.Exec(ctx, `DELETE FROM agents WHERE id = $1`, id)
	return err
}

// ReleaseAgentBatches marks a dead agent's running batches as waiting, so
// their tasks stop counting as in progress.
func (s *Store) ReleaseAgentBatches(ctx context.Context, agentID string) error {
	_, err := s.db.Exec(ctx, `UPDATE batches SET state = 'pending', claimed = 0, done = 0, updated_at = $2
		WHERE state = 'running' AND agent = $1`, agentID, micros(s.now()))
	if err != nil {
		return fmt.Errorf("release batches of agent %s: %w", agentID, err)
	}
	return nil
}

// ReleaseOrphanBatches marks every running batch as waiting: the batches
// of a process that died, where no other process can share the database.
func (s *Store) ReleaseOrphanBatches(ctx context.Context) error {
	_, err := s.db.Exec(ctx, `UPDATE batches SET state = 'pending', claimed = 0, done = 0, updated_at = $1
		WHERE state = 'running'`, micros(s.now()))
	if err != nil {
		return fmt.Errorf("release orphaned batches: %w", err)
	}
	return nil
}
