package store

import (
	"context"
	"fmt"

	"prewarm/internal/warm"
)

// Batch reads one batch.
func (s *Store) Batch(ctx context.Context, jobID string, seq int) (warm.Batch, error) {
	b := warm.Batch{JobID: jobID, Seq: seq}
	err := s.db.Reader().QueryRow(ctx, `SELECT pop, url_from, url_to FROM batches WHERE job_id = $1 AND seq = $2`,
		jobID, seq).Scan(&b.POP, &b.From, &b.To)
	if err != nil {
		return b, notFound(err, fmt.Sprintf("batch %d of job %s", seq, jobID))
	}
	return b, nil
}

// PendingTasks lists the batch's tasks — each URL that passed the probe, in
// each variant — that have no result at the batch's POP yet.
func (s *Store) PendingTasks(ctx context.Context, b warm.Batch, variants []string) ([]warm.Task, error) {
	r := s.db.Reader()
	done := map[[2]any]bool{}
	rows, err := r.Query(ctx, `SELECT url_idx, variant FROM results
		WHERE job_id = $1 AND pop = $2 AND url_idx >= $3 AND url_idx < $4`, b.JobID, b.POP, b.From, b.To)
	if err != nil {
		return nil, fmt.Errorf("pending tasks: %w", err)
	}
	for rows.Next() {
		var idx int
		var v string
		if err := rows.Scan(&idx, &v); err != nil {
			rows.Close()
			return nil, err
		}
		done[[2]any{idx, v}] = true
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows, err = r.Query(ctx, `SELECT idx, url FROM job_urls WHERE job_id = $1 AND idx >= $2 AND idx < $3 AND error = ''
		ORDER BY idx`, b.JobID, b.From, b.To)
	if err != nil {
		return nil, fmt.Errorf("pending tasks: %w", err)
	}
	defer rows.Close()
	tasks := make([]warm.Task, 0, b.Size()*len(variants))
	for rows.Next() {
		var t warm.Task
		if err := rows.Scan(&t.URLIndex, &t.URL); err != nil {
			return nil, err
		}
		for _, v := range variants {
			if !done[[2]any{t.URLIndex, v}] {
				t.Variant = v
				tasks = append(tasks, t)
			}
		}
	}
	return tasks, rows.Err()
}

// ClaimBatch marks a batch as being fetched by an agent, so its tasks count
// as in progress.
func (s *Store) ClaimBatch(ctx context.Context, b warm.Batch, agentID string, tasks int) error {
	_, err := s.db.Exec(ctx, `UPDATE batches SET state = 'running', agent = $3, claimed = $4, done = 0, updated_at = $5
		WHERE job_id = $1 AND seq = $2`, b.JobID, b.Seq, agentID, tasks, micros(s.now()))
	if err != nil {
		return fmt.Errorf("claim batch %d of %s: %w", b.Seq, b.JobID, err)
	}
	return nil
}

// RecordResults writes a batch's results and moves it to state, in one
// transaction with the job's and POP's counters, then finishes the job if
// that was its last task.
func (s *Store) RecordResults(ctx context.Context, b warm.Batch, results []warm.Result, state warm.BatchState) (warm.Status, error) {
	if len(results) == 0 && state == warm.BatchRunning {
		return s.status(ctx, b.JobID) // a quiet batch checking whether its job still runs
	}
	err := s.inTx(ctx, func(tx Tx) error {
		var was string
		if state == warm.BatchDone {
			err := tx.QueryRow(ctx, `SELECT state FROM batches WHERE job_id = $1 AND seq = $2`, b.JobID, b.Seq).Scan(&was)
			if err != nil {
				return notFound(err, fmt.Sprintf("batch %d of job %s", b.Seq, b.JobID))
			}
		}
		n, err := s.insertResults(ctx, tx, b.JobID, results)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE batches SET state = $3, done = done + $4,
			claimed = CASE WHEN $3 = 'running' THEN claimed ELSE 0 END, updated_at = $5
			WHERE job_id = $1 AND seq = $2`, b.JobID, b.Seq, string(state), n, micros(s.now()))
		if err != nil {
			return fmt.Errorf("batch state: %w", err)
		}
		if state == warm.BatchDone && was != string(warm.BatchDone) {
			// The first time it is done: the batches of its URLs one tier
			// down may go, and its job may queue another.
			if err := s.markReady(ctx, tx, b.JobID, b.From, b.From+1, b.POP); err != nil {
				return err
			}
			if err := s.topUp(ctx, tx, b.JobID); err != nil {
				return err
			}
		}
		if n > 0 {
			return s.maybeFinish(ctx, tx, b.JobID)
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	return s.status(ctx, b.JobID)
}

func (s *Store) status(ctx context.Context, jobID string) (warm.Status, error) {
	var st string
	if err := s.db.Reader().QueryRow(ctx, `SELECT status FROM jobs WHERE id = $1`, jobID).Scan(&st); err != nil {
		return "", notFound(err, "job "+jobID)
	}
	return warm.Status(st), nil
}

// resultColumns are written per task; the order matches resultArgs.
const resultColumns = `job_id, pop, url_idx, variant, ok, status_code, bytes, cache_status, served_by, edge_ip,
	ttfb_us, duration_us, attempts, error, at, verified, reason, warning`

const resultWidth = 17 // columns after job_id

func resultArgs(args []any, r *warm.Result) []any {
	return append(args, r.POP, r.URLIndex, r.Variant, r.OK, r.StatusCode, r.Bytes, r.CacheStatus, r.ServedBy, r.EdgeIP,
		r.TTFB.Microseconds(), r.Duration.Microseconds(), r.Attempts, r.Error, micros(r.At), r.Verified, r.Reason, r.Warning)
}

// counts are what new results add to a job's or a POP's counters.
type counts struct {
	done, ok, failed, bytes, attempted, verified, notCached int64
	reached                                                 bool
	lastError                                               string
}

// inserted is one newly recorded result, as RETURNING gives it back.
type inserted struct {
	pop, reason, errText string
	ok, verified         bool
	bytes                int64
	code, attempts       int
}

func (c *counts) add(r inserted) {
	c.done++
	c.bytes += r.bytes
	if r.ok {
		c.ok++
	} else {
		c.failed++
	}
	c.reached = c.reached || r.code != 0
	if r.attempts > 0 {
		c.attempted++
	}
	if r.ok && r.verified {
		c.verified++
	}
	if r.ok && r.reason != "" {
		c.notCached++
	}
	if !r.ok && r.errText != "" {
		c.lastError = r.errText
	}
}

// insertResults writes results, skipping any already recorded, and adds what
// was new to the job's and POPs' counters. It returns how many were new.
func (s *Store) insertResults(ctx context.Context, tx Tx, jobID string, results []warm.Result) (int, error) {
	var job counts
	pops := map[string]*counts{}
	per := s.chunkRows(resultWidth)
	args := make([]any, 0, resultWidth*per+1)
	from := 0
	for _, size := range chunks(len(results), per) {
		part := results[from : from+size]
		from += size
		err := s.insertResultRows(ctx, tx, jobID, part, args, func(r inserted) {
			d := pops[r.pop]
			if d == nil {
				d = &counts{}
				pops[r.pop] = d
			}
			d.add(r)
			job.add(r)
		})
		if err != nil {
			return 0, err
		}
	}
	if job.done == 0 {
		return 0, nil
	}
	return int(job.done), s.addCounts(ctx, tx, jobID, &job, pops)
}

// insertResultRows inserts one statement's worth of results and hands each
// row that was new to fn.
func (s *Store) insertResultRows(ctx context.Context, tx Tx, jobID string, part []warm.Result, args []any, fn func(inserted)) error {
	args = append(args[:0], jobID)
	var rows []byte
	for i := range part {
		if i > 0 {
			rows = append(rows, ',')
		}
		rows = append(rows, "($1"...)
		for c := range resultWidth {
			rows = fmt.Appendf(rows, ",$%d", 2+i*resultWidth+c)
		}
		rows = append(rows, ')')
		args = resultArgs(args, &part[i])
	}
	q, err := tx.Query(ctx, `INSERT INTO results (`+resultColumns+`) VALUES `+string(rows)+`
		ON CONFLICT (job_id, pop, url_idx, variant) DO NOTHING RETURNING pop, ok, bytes, status_code, attempts, verified, reason, error`, args...)
	if err != nil {
		return fmt.Errorf("insert results: %w", err)
	}
	defer q.Close()
	for q.Next() {
		var r inserted
		if err := q.Scan(&r.pop, &r.ok, &r.bytes, &r.code, &r.attempts, &r.verified, &r.reason, &r.errText); err != nil {
			return err
		}
		fn(r)
	}
	return q.Err()
}

// addCounts adds new results to the job's and its POPs' counters.
func (s *Store) addCounts(ctx context.Context, tx Tx, jobID string, job *counts, pops map[string]*counts) error {
	_, err := tx.Exec(ctx, `UPDATE jobs SET done_count = done_count + $2, ok_count = ok_count + $3,
		failed_count = failed_count + $4, download_size = download_size + $5, updated_at = $6,
		verified_count = verified_count + $7, not_cached_count = not_cached_count + $8 WHERE id = $1`,
		jobID, job.done, job.ok, job.failed, job.bytes, micros(s.now()), job.verified, job.notCached)
	if err != nil {
		return fmt.Errorf("job counters: %w", err)
	}
	for code, d := range pops {
		_, err := tx.Exec(ctx, `UPDATE job_pops SET done = done + $3, ok = ok + $4, failed = failed + $5,
			bytes = bytes + $6, attempted = attempted + $7, reached = (reached OR $8), verified = verified + $9,
			not_cached = not_cached + $10, last_error = CASE WHEN $11 = '' THEN last_error ELSE $11 END
			WHERE job_id = $1 AND code = $2`,
			jobID, code, d.done, d.ok, d.failed, d.bytes, d.attempted, d.reached, d.verified, d.notCached, d.lastError)
		if err != nil {
			return fmt.Errorf("pop counters: %w", err)
		}
	}
	return nil
}
