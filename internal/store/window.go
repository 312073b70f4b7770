package store

import (
	"context"
	"fmt"
	"slices"

	"prewarm/internal/warm"
)

// A job keeps only a window of its batches in the queue: the queue serves
// its entries first come, first served, so a job that queued all its
// batches at once would hold every agent until its last one, and a job
// submitted after it would wait for all of them. With a window, each batch
// done queues the next, behind the other jobs' queued ones: the jobs running
// share the agents, and the queue holds a few hundred entries however big
// the jobs. The window follows the batches the active agents work at once
// (16 an agent next to the database, more for one far from it): a normal
// job keeps half as many again ready for them, so a job submitted later
// waits for those few at most. A high job's window is larger, and the queue
// takes its entries first; a low job's entries are taken only when no other
// waits. The window is in halves of the agents' batches.
//
// Keys share the agents as jobs do: while jobs of more than one key run,
// the jobs of one key split its window between them (at least one batch
// each), so a key with ten jobs running gets no more than a key with one.
// With one key (or none) running, each job keeps its whole window. A job
// with at most fewWindow batches left to queue queues them all without
// counting anything: its share is never worth a read, and a burst of small
// jobs stays as cheap as it was.
var windows = map[warm.Priority]int{warm.PriorityLow: 1, warm.PriorityNormal: 3, warm.PriorityHigh: 6}

// minWindowSlots is the agents' batches a window counts when none is
// active (they are starting): one agent's, next to the database.
const minWindowSlots = 16

// fewWindow is the most batches a job queues at once without counting its
// key's jobs: one per POP of a small job.
const fewWindow = 8

// markReady marks the job's batches starting in [from, to) that wait for
// after (a POP one tier up, or the size probe) as waiting for nothing.
func (s *Store) markReady(ctx context.Context, tx Tx, jobID string, from, to int, after string) error {
	st := s.readyStmt(jobID, from, to, after)
	_, err := tx.Exec(ctx, st.SQL, st.Args...)
	if err != nil {
		return fmt.Errorf("batches after %s: %w", after, err)
	}
	return nil
}

// readyStmt is markReady's statement, for a pipeline.
func (s *Store) readyStmt(jobID string, from, to int, after string) Stmt {
	return Stmt{SQL: `UPDATE batches SET after_pop = '' WHERE job_id = $1 AND url_from >= $2 AND url_from < $3
		AND after_pop = $4`, Args: []any{jobID, from, to, after}}
}

// window is what topping up a job's window is decided from.
type window struct {
	found            bool
	priority, status string
	queued, slots    int
	siblings         int // running jobs its window is split among, itself included
}

// windowStmt reads the job's window into w, for a pipeline.
func (s *Store) windowStmt(jobID string, w *window) Stmt {
	return Stmt{SQL: `SELECT priority, status,
		(SELECT COUNT(*) FROM batches WHERE job_id = $1 AND queued AND state <> 'done'),
		(SELECT COALESCE(SUM(batches), 0) FROM agents WHERE active),
		CASE WHEN (SELECT COUNT(*) FROM (SELECT 1 FROM batches WHERE job_id = $1 AND NOT queued LIMIT $2) few) < $2
			THEN 1
			WHEN NOT EXISTS (SELECT 1 FROM jobs o WHERE o.owner < jobs.owner AND o.status IN ('CREATED', 'IN_PROGRESS'))
			AND NOT EXISTS (SELECT 1 FROM jobs o WHERE o.owner > jobs.owner AND o.status IN ('CREATED', 'IN_PROGRESS'))
			THEN 1
			ELSE (SELECT COUNT(*) FROM jobs o WHERE o.owner = jobs.owner AND o.status IN ('CREATED', 'IN_PROGRESS')) END
		FROM jobs WHERE id = $1`,
		Args: []any{jobID, fewWindow + 1}, Rows: func(rows Rows) error {
			for rows.Next() {
				w.found = true
				if err := rows.Scan(&w.priority, &w.status, &w.queued, &w.slots, &w.siblings); err != nil {
					return err
				}
			}
			return nil
		}}
}

// topUp queues the job's next ready batches, in order, until its window of
// queued batches not yet done is full.
func (s *Store) topUp(ctx context.Context, tx Tx, jobID string) error {
	var w window
	if err := tx.Pipeline(ctx, []Stmt{s.windowStmt(jobID, &w)}); err != nil {
		return fmt.Errorf("window of %s: %w", jobID, err)
	}
	return s.fillWindow(ctx, tx, jobID, w)
}

// fillWindow queues what the job's window w has room for.
func (s *Store) fillWindow(ctx context.Context, tx Tx, jobID string, w window) error {
	if !w.found {
		return notFound(ErrNoRows, "job "+jobID)
	}
	priority := w.priority
	size := windows[warm.Priority(priority)] * max(w.slots, minWindowSlots) / 2
	room := max(size/max(w.siblings, 1), 1) - w.queued
	if room <= 0 || warm.Status(w.status).Terminal() {
		return nil
	}
	// NOT queued outside the subquery too: a writer that waited for
	// another's claim on these rows finds them queued and skips them.
	rows, err := tx.Query(ctx, `UPDATE batches SET queued = TRUE WHERE job_id = $1 AND NOT queued AND seq IN (
		SELECT seq FROM batches WHERE job_id = $1 AND NOT queued AND after_pop = '' ORDER BY seq LIMIT $2)
		RETURNING seq, pop, url_from, url_to, location`,
		jobID, room)
	if err != nil {
		return fmt.Errorf("queue batches: %w", err)
	}
	var steps []warm.Step
	for rows.Next() {
		st := warm.Step{Kind: warm.StepWarm, JobID: jobID, Priority: warm.Priority(priority)}
		if err := rows.Scan(&st.Batch, &st.POP, &st.From, &st.To, &st.Location); err != nil {
			rows.Close()
			return err
		}
		steps = append(steps, st)
	}
	rows.Close()
	if err := rows.Err(); err != nil || len(steps) == 0 {
		return err
	}
	slices.SortFunc(steps, func(a, b warm.Step) int { return a.Batch - b.Batch })
	return s.enq.Enqueue(ctx, tx, steps...)
}
