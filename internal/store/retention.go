package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"prewarm/internal/warm"
)

// Retain deletes the per-task rows (results, batches, URLs) of up to limit
// jobs that ended before cutoff, each after keeping its summary on the
// job: the job, its counters and its summary stay; its CSV report then
// lists only the rows that stand for a whole POP. It returns the jobs
// trimmed.
func (s *Store) Retain(ctx context.Context, cutoff time.Time, limit int) ([]string, error) {
	rows, err := s.db.Reader().Query(ctx, `SELECT id FROM jobs WHERE kept_summary = ''
		AND status IN `+endedStatuses+` AND updated_at < $1 ORDER BY updated_at LIMIT $2`,
		micros(cutoff), limit)
	if err != nil {
		return nil, fmt.Errorf("jobs past retention: %w", err)
	}
	ids, err := collectStrings(rows, nil)
	if err != nil {
		return nil, err
	}
	for _, id := range ids {
		if err := s.trim(ctx, id); err != nil {
			return nil, err
		}
	}
	return ids, nil
}

// trim keeps job id's summary and deletes its per-task rows, in one
// transaction: a summary is never kept without its rows going, nor rows
// deleted without their summary kept.
func (s *Store) trim(ctx context.Context, id string) error {
	sum, err := s.Summary(ctx, id)
	if err != nil {
		return err
	}
	data, err := json.Marshal(keptLists{FailurePOPs: sum.FailurePOPs, FailureURLs: sum.FailureURLs,
		NotCachedURLs: sum.NotCachedURLs, NotCachedReasons: sum.NotCachedReasons, Warnings: sum.Warnings, NotDone: sum.NotDone,
		NotKept: sum.NotKept})
	if err != nil {
		return err
	}
	return s.inTx(ctx, func(tx Tx) error {
		if _, err := tx.Exec(ctx, `UPDATE jobs SET kept_summary = $2 WHERE id = $1`, id, string(data)); err != nil {
			return fmt.Errorf("keep summary of %s: %w", id, err)
		}
		for _, table := range []string{"results", "batches", "rewarms", "job_urls", "job_lists"} {
			if _, err := tx.Exec(ctx, `DELETE FROM `+table+` WHERE job_id = $1`, id); err != nil {
				return fmt.Errorf("trim %s of %s: %w", table, id, err)
			}
		}
		return nil
	})
}

// keptLists is a trimmed job's summary, all but the job itself (read from
// its row as ever).
type keptLists struct {
	FailurePOPs, FailureURLs, NotCachedURLs []string
	NotCachedReasons                        []warm.NotCachedReason
	Warnings                                []string
	NotDone                                 []warm.POPNotDone
	NotKept                                 []warm.NotKept
}

// keptSummary is job id's summary as kept when its rows were trimmed, or
// nil for a job not trimmed.
func (s *Store) keptSummary(ctx context.Context, job *warm.Job) (*warm.Summary, error) {
	var data string
	if err := s.db.Reader().QueryRow(ctx, `SELECT kept_summary FROM jobs WHERE id = $1`, job.ID).Scan(&data); err != nil {
		return nil, notFound(err, "job "+job.ID)
	}
	if data == "" {
		return nil, nil
	}
	var k keptLists
	if err := json.Unmarshal([]byte(data), &k); err != nil {
		return nil, fmt.Errorf("kept summary of %s: %w", job.ID, err)
	}
	return &warm.Summary{Job: *job, FailurePOPs: k.FailurePOPs, FailureURLs: k.FailureURLs, NotCachedURLs: k.NotCachedURLs,
		NotCachedReasons: k.NotCachedReasons, Warnings: k.Warnings, NotDone: k.NotDone, NotKept: k.NotKept}, nil
}
