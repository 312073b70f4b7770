package store

import (
	"context"
	"encoding/json"
	"fmt"

	"prewarm/internal/warm"
)

// LocatedPOPs lists the POPs of running jobs that still have tasks left
// for located agents.
func (s *Store) LocatedPOPs(ctx context.Context) ([]warm.LocatedPOP, error) {
	rows, err := s.db.Reader().Query(ctx, `SELECT p.job_id, p.code, p.location FROM job_pops p JOIN jobs j ON j.id = p.job_id
		WHERE j.status = 'IN_PROGRESS' AND p.location <> '' AND p.error = '' AND p.done < j.url_count * j.variants
		ORDER BY p.job_id, p.position`)
	if err != nil {
		return nil, fmt.Errorf("located pops: %w", err)
	}
	return collect(rows, func(rows Rows, p *warm.LocatedPOP) error {
		return rows.Scan(&p.JobID, &p.POP, &p.Location)
	})
}

// FailPOP fails every task of a running job's POP that is not done yet,
// with reason, and the POP as a whole (so the summary and the CSV name
// it): its located agents are gone. Its batches are marked done so the
// job's window queues the other POPs' instead, and the job ends if that
// was all it waited for. Safe to run twice, or beside an agent finishing
// a task there: a task recorded already keeps its result.
func (s *Store) FailPOP(ctx context.Context, jobID, pop, reason string) error {
	return s.inTx(ctx, func(tx Tx) error {
		var urls int
		var encodings string
		err := tx.QueryRow(ctx, `SELECT url_count, encodings FROM jobs WHERE id = $1 AND status = 'IN_PROGRESS'`, jobID).Scan(&urls, &encodings)
		if err != nil {
			return notFound(err, "running job "+jobID)
		}
		job := warm.Job{}
		if err := json.Unmarshal([]byte(encodings), &job.Encodings); err != nil {
			return fmt.Errorf("job %s encodings: %w", jobID, err)
		}
		now := s.now()
		failed := make([]warm.Result, 0, urls*len(job.Variants()))
		for i := range urls {
			for _, v := range job.Variants() {
				failed = append(failed, warm.Result{URLIndex: i, POP: pop, Variant: v, Error: reason, At: now})
			}
		}
		if _, err := s.insertResults(ctx, tx, jobID, failed); err != nil {
			return fmt.Errorf("fail the tasks of %s: %w", pop, err)
		}
		if _, err := tx.Exec(ctx, `UPDATE job_pops SET error = $3, last_error = $3 WHERE job_id = $1 AND code = $2`, jobID, pop, reason); err != nil {
			return fmt.Errorf("fail pop %s: %w", pop, err)
		}
		if _, err := tx.Exec(ctx, `UPDATE batches SET state = 'done', queued = TRUE, claimed = 0, done = 0, updated_at = $3
			WHERE job_id = $1 AND pop = $2 AND state <> 'done'`, jobID, pop, micros(now)); err != nil {
			return fmt.Errorf("batches of %s: %w", pop, err)
		}
		if err := s.maybeFinish(ctx, tx, jobID); err != nil {
			return err
		}
		return s.topUp(ctx, tx, jobID)
	})
}
