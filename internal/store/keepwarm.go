package store

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"prewarm/internal/warm"
)

var _ warm.KeepWarmStore = (*Store)(nil)

// rewarmBatch is the most re-warms one queued entry carries, like a batch.
const rewarmBatch = 250

// keepStmts record, with the results of keep-warm jobs' first warm, each
// URL × POP's first re-warm (or why it cannot be kept). Like the results,
// a row recorded twice counts once: only the rows inserted add to counts.
func (s *Store) keepStmts(owners []string, results []warm.Result, counts keepCounts) []Stmt {
	var keep []int
	for i := range results {
		if results[i].Keep {
			keep = append(keep, i)
		}
	}
	const width = 7
	per := s.chunkRows(width)
	var stmts []Stmt
	for from := 0; from < len(keep); from += per {
		part := keep[from:min(from+per, len(keep))]
		marks := make([]string, len(part))
		args := make([]any, 0, width*len(part))
		for i, k := range part {
			r := &results[k]
			marks[i] = fmt.Sprintf("($%d,$%d,$%d,$%d,$%d,$%d,$%d)", i*width+1, i*width+2, i*width+3, i*width+4, i*width+5, i*width+6, i*width+7)
			args = append(args, owners[k], r.POP, r.URLIndex, r.Variant, micros(r.RewarmAt), micros(r.Fresh.Until), r.NotKept)
		}
		stmts = append(stmts, Stmt{SQL: `INSERT INTO rewarms (job_id, pop, url_idx, variant, due_at, fresh_until, not_kept)
			VALUES ` + strings.Join(marks, ",") + ` ON CONFLICT (job_id, pop, url_idx, variant) DO NOTHING
			RETURNING job_id, due_at, not_kept`, Args: args, Rows: counts.inserted})
	}
	return stmts
}

// keepCounts are changes to keep-warm jobs' counts (keep_counts), gathered
// from the rows a transaction changed and written at its end.
type keepCounts map[string]*keepCount

type keepCount struct{ kept, queued, ended, notKept, rewarms, failures int64 }

func (c keepCounts) of(jobID string) *keepCount {
	kc := c[jobID]
	if kc == nil {
		kc = &keepCount{}
		c[jobID] = kc
	}
	return kc
}

// inserted counts the rows a first warm inserted.
func (c keepCounts) inserted(rows Rows) error {
	for rows.Next() {
		var job, notKept string
		var due int64
		if err := rows.Scan(&job, &due, &notKept); err != nil {
			return err
		}
		c.of(job).settle(due, notKept)
	}
	return nil
}

// settle counts a row that is no longer queued where it lands: kept (a
// re-warm due), not kept, or fresh to the end.
func (kc *keepCount) settle(due int64, notKept string) {
	switch {
	case notKept != "":
		kc.notKept++
	case due > 0:
		kc.kept++
	default:
		kc.ended++
	}
}

// stmts add the changes to keep_counts.
func (c keepCounts) stmts() []Stmt {
	stmts := make([]Stmt, 0, len(c))
	for job, kc := range c {
		if *kc == (keepCount{}) {
			continue
		}
		stmts = append(stmts, Stmt{SQL: `INSERT INTO keep_counts (job_id, kept, queued, ended, not_kept, rewarms, failures)
			VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (job_id) DO UPDATE SET kept = keep_counts.kept + excluded.kept,
			queued = keep_counts.queued + excluded.queued, ended = keep_counts.ended + excluded.ended,
			not_kept = keep_counts.not_kept + excluded.not_kept, rewarms = keep_counts.rewarms + excluded.rewarms,
			failures = keep_counts.failures + excluded.failures`,
			Args: []any{job, kc.kept, kc.queued, kc.ended, kc.notKept, kc.rewarms, kc.failures}})
	}
	return stmts
}

// QueueRewarms queues the re-warms due at now of running jobs, at most
// limit, as warm steps of up to rewarmBatch tasks of one job × POP, first
// in the queue (a late re-warm is a viewer's miss). A row is claimed by
// the update that marks it queued, in the transaction that queues it; a
// node racing for the same rows finds them queued once the first commits
// (the update re-checks them), so each re-warm is queued once.
func (s *Store) QueueRewarms(ctx context.Context, now time.Time, limit int) (int, error) {
	// Most rounds, on every node four times a second, find nothing due: a
	// read says so without a write transaction (which would take SQLite's
	// one writer, and tell a full disk's health check that writes work).
	var due int
	err := s.db.Reader().QueryRow(ctx, `SELECT COUNT(*) FROM (SELECT 1 FROM rewarms
		WHERE due_at > 0 AND NOT queued AND due_at <= $1 LIMIT 1) d`, micros(now)).Scan(&due)
	if err != nil || due == 0 {
		return 0, err
	}
	var n int
	err = s.inTx(ctx, func(tx Tx) error {
		// The rows of jobs that ended are due no more.
		if _, err := tx.Exec(ctx, `UPDATE rewarms SET due_at = 0 WHERE due_at > 0 AND NOT queued AND due_at <= $1
			AND job_id IN (SELECT id FROM jobs WHERE status IN `+endedStatuses+`)`, micros(now)); err != nil {
			return fmt.Errorf("drop ended re-warms: %w", err)
		}
		// On PostgreSQL nodes claiming at once pass over the rows another
		// is claiming instead of waiting for them: waiting, two claimers
		// deadlocked (the race test failed once). SQLite has one writer.
		lock := ""
		if s.db.Dialect().Name == "postgres" {
			lock = " FOR UPDATE OF r SKIP LOCKED"
		}
		rows, err := tx.Query(ctx, `UPDATE rewarms SET queued = TRUE WHERE due_at > 0 AND NOT queued AND due_at <= $1
			AND (job_id, pop, url_idx, variant) IN (SELECT r.job_id, r.pop, r.url_idx, r.variant FROM rewarms r
				JOIN jobs j ON j.id = r.job_id WHERE r.due_at > 0 AND NOT r.queued AND r.due_at <= $1
				AND j.status = 'IN_PROGRESS' ORDER BY r.due_at LIMIT $2`+lock+`)
			RETURNING job_id, pop, url_idx, variant,
				(SELECT p.location FROM job_pops p WHERE p.job_id = rewarms.job_id AND p.code = rewarms.pop)`, micros(now), limit)
		if err != nil {
			return fmt.Errorf("claim re-warms: %w", err)
		}
		steps, claimed, err := rewarmSteps(rows)
		if err != nil {
			return err
		}
		n = claimed
		if len(steps) == 0 {
			return nil
		}
		counts := keepCounts{}
		for _, st := range steps {
			counts.of(st.JobID).queued += int64(len(st.Rewarms))
		}
		if err := tx.Pipeline(ctx, counts.stmts()); err != nil {
			return fmt.Errorf("count queued re-warms: %w", err)
		}
		return s.enq.Enqueue(ctx, tx, steps...)
	})
	return n, err
}

// rewarmSteps groups claimed rows into warm steps per job × POP, queued
// where the POP's batches were (its location, for vantage "agents").
func rewarmSteps(rows Rows) ([]warm.Step, int, error) {
	defer rows.Close()
	type key struct{ job, pop, location string }
	groups := map[key][]warm.Rewarm{}
	n := 0
	for rows.Next() {
		var k key
		var rw warm.Rewarm
		var location *string // none when the POP's row is gone
		if err := rows.Scan(&k.job, &k.pop, &rw.URLIndex, &rw.Variant, &location); err != nil {
			return nil, 0, err
		}
		if location != nil {
			k.location = *location
		}
		groups[k] = append(groups[k], rw)
		n++
	}
	if err := rows.Err(); err != nil {
		return nil, 0, err
	}
	var steps []warm.Step
	for k, rws := range groups {
		slices.SortFunc(rws, func(a, b warm.Rewarm) int {
			return cmp.Or(a.URLIndex-b.URLIndex, strings.Compare(a.Variant, b.Variant))
		})
		for from := 0; from < len(rws); from += rewarmBatch {
			steps = append(steps, warm.Step{Kind: warm.StepWarm, JobID: k.job, POP: k.pop, Priority: warm.PriorityHigh, Location: k.location,
				Rewarms: rws[from:min(from+rewarmBatch, len(rws))]})
		}
	}
	return steps, n, nil
}

// RewarmTasks are the tasks of queued re-warms, with their URLs; a
// re-warm no longer queued (recorded by an earlier run) is left out.
func (s *Store) RewarmTasks(ctx context.Context, jobID, pop string, rws []warm.Rewarm) ([]warm.Task, error) {
	if len(rws) == 0 {
		return nil, nil
	}
	from, to := rws[0].URLIndex, rws[0].URLIndex
	for _, rw := range rws {
		from, to = min(from, rw.URLIndex), max(to, rw.URLIndex)
	}
	rows, err := s.db.Reader().Query(ctx, `SELECT r.url_idx, r.variant, r.failing, u.url FROM rewarms r
		JOIN job_urls u ON u.job_id = r.job_id AND u.idx = r.url_idx
		WHERE r.job_id = $1 AND r.pop = $2 AND r.url_idx >= $3 AND r.url_idx <= $4 AND r.queued`, jobID, pop, from, to)
	if err != nil {
		return nil, fmt.Errorf("re-warm tasks: %w", err)
	}
	defer rows.Close()
	want := map[warm.Rewarm]bool{}
	for _, rw := range rws {
		want[rw] = true
	}
	var tasks []warm.Task
	for rows.Next() {
		var t warm.Task
		if err := rows.Scan(&t.URLIndex, &t.Variant, &t.Failing, &t.URL); err != nil {
			return nil, err
		}
		if want[warm.Rewarm{URLIndex: t.URLIndex, Variant: t.Variant}] {
			tasks = append(tasks, t)
		}
	}
	return tasks, rows.Err()
}

// RecordRewarms writes what re-warms at pop found: each row's next due
// time (from the result's RewarmAt and NotKept) and its counts. Only a row
// still queued is updated, so a re-warm recorded twice counts once. A
// deferred re-warm (its host paused) is neither done nor failed: only its
// due time changes. failing counts the failures in a row, for the backoff.
func (s *Store) RecordRewarms(ctx context.Context, jobID, pop string, results []warm.Result) error {
	kc := &keepCount{}
	stmts := make([]Stmt, 0, len(results))
	for _, r := range results {
		stmts = append(stmts, recordRewarm(jobID, pop, r, kc))
	}
	return s.inTx(ctx, func(tx Tx) error {
		if err := tx.Pipeline(ctx, stmts); err != nil {
			return err
		}
		return tx.Pipeline(ctx, keepCounts{jobID: kc}.stmts())
	})
}

// recordRewarm is the update of one re-warm's row; kc counts the change
// when the row was still queued.
func recordRewarm(jobID, pop string, r warm.Result, kc *keepCount) Stmt {
	ok, failed := 0, 0
	switch {
	case r.Deferred:
	case r.OK:
		ok = 1
	default:
		failed = 1
	}
	count := func(rows Rows) error {
		for rows.Next() {
			var due int64
			var notKept string
			if err := rows.Scan(&due, &notKept); err != nil {
				return err
			}
			kc.queued--
			kc.kept-- // it was kept while queued
			kc.settle(due, notKept)
			kc.rewarms += int64(ok)
			kc.failures += int64(failed)
		}
		return nil
	}
	if r.Deferred {
		return Stmt{SQL: `UPDATE rewarms SET queued = FALSE, due_at = $5
			WHERE job_id = $1 AND pop = $2 AND url_idx = $3 AND variant = $4 AND queued RETURNING due_at, not_kept`,
			Args: []any{jobID, pop, r.URLIndex, r.Variant, micros(r.RewarmAt)}, Rows: count}
	}
	return Stmt{SQL: `UPDATE rewarms SET queued = FALSE, due_at = $5, fresh_until = $6,
		rewarms = rewarms + $7, failures = failures + $8, cache_status = $9,
		error = CASE WHEN $10 = '' THEN error ELSE $10 END, not_kept = $11,
		failing = CASE WHEN $8 = 1 THEN failing + 1 ELSE 0 END
		WHERE job_id = $1 AND pop = $2 AND url_idx = $3 AND variant = $4 AND queued RETURNING due_at, not_kept`,
		Args: []any{jobID, pop, r.URLIndex, r.Variant, micros(r.RewarmAt), micros(r.Fresh.Until), ok, failed,
			r.CacheStatus, r.Error, r.NotKept}, Rows: count}
}

// KeepWarm is how job's keeping stands, in one read of its rows.
func (s *Store) KeepWarm(ctx context.Context, job *warm.Job) (*warm.KeepWarm, error) {
	kw := &warm.KeepWarm{Until: job.KeepWarmUntil, RefreshHeader: job.RefreshHeader, Warmed: job.Warmed}
	var next int64
	// The counts as kept (see keep_counts), and the earliest due from the
	// index of due rows: no scan of the job's rows.
	err := s.db.Reader().QueryRow(ctx, `SELECT COALESCE(c.kept, 0), COALESCE(c.queued, 0), COALESCE(c.ended, 0),
		COALESCE(c.not_kept, 0), COALESCE(c.rewarms, 0), COALESCE(c.failures, 0),
		COALESCE((SELECT MIN(due_at) FROM rewarms WHERE job_id = $1 AND due_at > 0 AND NOT queued), 0)
		FROM (SELECT 1 AS one) o LEFT JOIN keep_counts c ON c.job_id = $1`, job.ID).Scan(
		&kw.Kept, &kw.Queued, &kw.Ended, &kw.NotKept, &kw.Rewarms, &kw.Failed, &next)
	if err != nil {
		return nil, fmt.Errorf("keep-warm state of %s: %w", job.ID, err)
	}
	if job.Status == warm.StatusInProgress {
		kw.Next = fromMicros(next)
	} else {
		kw.Kept, kw.Queued = 0, 0 // an ended job keeps nothing
	}
	return kw, nil
}

// NotKept lists the URLs of job that cannot be kept warm, once each, with
// a reason and at how many POPs.
func (s *Store) NotKept(ctx context.Context, jobID string, limit int) ([]warm.NotKept, error) {
	rows, err := s.db.Reader().Query(ctx, `SELECT u.url, MIN(r.not_kept), COUNT(*) FROM rewarms r
		JOIN job_urls u ON u.job_id = r.job_id AND u.idx = r.url_idx
		WHERE r.job_id = $1 AND r.not_kept <> '' GROUP BY u.idx, u.url ORDER BY u.idx LIMIT $2`, jobID, limit)
	if err != nil {
		return nil, fmt.Errorf("URLs not kept warm: %w", err)
	}
	return collect(rows, func(rows Rows, nk *warm.NotKept) error {
		return rows.Scan(&nk.URL, &nk.Reason, &nk.POPs)
	})
}
