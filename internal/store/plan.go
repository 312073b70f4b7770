package store

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"prewarm/internal/warm"
)

// SavePOPs records what resolution found for each target and fixes the job's
// task count: every URL through every usable POP.
func (s *Store) SavePOPs(ctx context.Context, jobID string, pops []warm.POPState) error {
	return s.inTx(ctx, func(tx Tx) error {
		usable := 0
		for i, p := range pops {
			addrs, err := json.Marshal(p.Addresses)
			if err != nil {
				return err
			}
			if p.Usable() {
				usable++
			}
			_, err = tx.Exec(ctx, `INSERT INTO job_pops (job_id, code, position, explicit, addresses, error, skipped, purge_method, after_pop,
				location) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10) ON CONFLICT (job_id, code) DO NOTHING`,
				jobID, p.Code, i, p.Explicit, string(addrs), p.Error, p.Skipped, p.PurgeMethod, p.After, p.Location)
			if err != nil {
				return fmt.Errorf("insert pop %s: %w", p.Code, err)
			}
		}
		_, err := tx.Exec(ctx, `UPDATE jobs SET total_count = url_count * variants * $2, updated_at = $3 WHERE id = $1`,
			jobID, usable, micros(s.now()))
		return err
	})
}

// ReplaceURLs swaps a job's URL list for its expansion and fixes its task
// count, before any of it is planned.
func (s *Store) ReplaceURLs(ctx context.Context, jobID string, urls []string) error {
	return s.inTx(ctx, func(tx Tx) error {
		if _, err := tx.Exec(ctx, `UPDATE job_lists SET urls = $2 WHERE job_id = $1`, jobID, strings.Join(urls, "\n")); err != nil {
			return fmt.Errorf("replace urls: %w", err)
		}
		_, err := tx.Exec(ctx, `UPDATE jobs SET url_count = $2, expanded = TRUE, updated_at = $3,
			total_count = $2 * variants * (SELECT COUNT(*) FROM job_pops p WHERE p.job_id = $1 AND p.error = '' AND NOT p.skipped)
			WHERE id = $1`, jobID, len(urls), micros(s.now()))
		return err
	})
}

// Note sets a job's message.
func (s *Store) Note(ctx context.Context, jobID, msg string) error {
	_, err := s.db.Exec(ctx, `UPDATE jobs SET message = $2, updated_at = $3 WHERE id = $1`, jobID, msg, micros(s.now()))
	return err
}

// MarkInvalidated records that the job's caches were cleared.
func (s *Store) MarkInvalidated(ctx context.Context, jobID, note string) error {
	_, err := s.db.Exec(ctx, `UPDATE jobs SET invalidated = TRUE, message = $2, updated_at = $3 WHERE id = $1`,
		jobID, note, micros(s.now()))
	return err
}

// POPs lists a job's POPs in the order they were targeted.
func (s *Store) POPs(ctx context.Context, jobID string) ([]warm.POPState, error) {
	rows, err := s.db.Reader().Query(ctx, `SELECT code, explicit, addresses, error, skipped, purge_method, done, ok, failed, bytes,
		verified, not_cached, reached, last_error, attempted, after_pop, location FROM job_pops WHERE job_id = $1 ORDER BY position`, jobID)
	if err != nil {
		return nil, fmt.Errorf("pops of %s: %w", jobID, err)
	}
	return collect(rows, func(rows Rows, p *warm.POPState) error {
		var addrs string
		if err := rows.Scan(&p.Code, &p.Explicit, &addrs, &p.Error, &p.Skipped, &p.PurgeMethod, &p.Done, &p.OK, &p.Failed, &p.Bytes,
			&p.Verified, &p.NotCached, &p.Reached, &p.LastError, &p.Attempted, &p.After, &p.Location); err != nil {
			return err
		}
		if err := json.Unmarshal([]byte(addrs), &p.Addresses); err != nil {
			return fmt.Errorf("pop %s addresses: %w", p.Code, err)
		}
		return nil
	})
}

// URLs reads a range of a job's URLs with what their probes found (nothing
// yet for URLs not planned).
func (s *Store) URLs(ctx context.Context, jobID string, from, to int) ([]warm.URL, error) {
	all, err := s.JobURLs(ctx, jobID)
	if err != nil {
		return nil, err
	}
	from, to = max(0, min(from, len(all))), max(0, min(to, len(all)))
	out := make([]warm.URL, 0, to-from)
	for i := from; i < to; i++ {
		out = append(out, warm.URL{Index: i, URL: all[i], Size: -1})
	}
	rows, err := s.db.Reader().Query(ctx, `SELECT idx, size, error, probed FROM job_urls
		WHERE job_id = $1 AND idx >= $2 AND idx < $3`, jobID, from, to)
	if err != nil {
		return nil, fmt.Errorf("urls of %s: %w", jobID, err)
	}
	defer rows.Close()
	for rows.Next() {
		var u warm.URL
		if err := rows.Scan(&u.Index, &u.Size, &u.Error, &u.Probed); err != nil {
			return nil, err
		}
		u.URL = out[u.Index-from].URL
		out[u.Index-from] = u
	}
	return out, rows.Err()
}

// SavePlanChunk writes one planned range — the URLs' rows, the batches and
// their queue entries, and the checkpoint — in one transaction. A replayed
// chunk writes nothing twice.
func (s *Store) SavePlanChunk(ctx context.Context, jobID string, c warm.PlanChunk) error {
	return s.inTx(ctx, func(tx Tx) error {
		if err := s.insertURLRows(ctx, tx, jobID, c.URLs); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `UPDATE jobs SET planned_urls = $2, updated_at = $3, planned = planned OR $4, probed = probed OR $5
			WHERE id = $1`, jobID, c.PlannedURLs, micros(s.now()), c.Planned, c.Probed)
		if err != nil {
			return fmt.Errorf("checkpoint: %w", err)
		}
		return s.insertBatches(ctx, tx, jobID, c.Batches)
	})
}

// SaveProbeChunk records a probed range: each URL's size or error, the
// failed tasks of the URLs that failed (those already fetched somewhere keep
// their own result), the expected size, and the checkpoint.
func (s *Store) SaveProbeChunk(ctx context.Context, jobID string, c warm.ProbeChunk) error {
	return s.inTx(ctx, func(tx Tx) error {
		if err := s.saveProbes(ctx, tx, jobID, c.URLs); err != nil {
			return err
		}
		if _, err := s.insertResults(ctx, tx, jobID, c.Failed); err != nil {
			return err
		}
		var okSize int64
		for _, u := range c.URLs {
			if u.Error == "" && u.Size > 0 {
				okSize += u.Size
			}
		}
		var usable, variants int64
		err := tx.QueryRow(ctx, `SELECT COUNT(*), (SELECT variants FROM jobs WHERE id = $1) FROM job_pops
			WHERE job_id = $1 AND error = '' AND NOT skipped`, jobID).Scan(&usable, &variants)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE jobs SET total_size = total_size + $2, probed_urls = $3, updated_at = $4 WHERE id = $1`,
			jobID, okSize*usable*variants, c.ProbedURLs, micros(s.now()))
		if err != nil {
			return fmt.Errorf("checkpoint: %w", err)
		}
		if err := s.markReady(ctx, tx, jobID, c.From, c.ProbedURLs, warm.AfterProbe); err != nil {
			return err
		}
		return s.topUp(ctx, tx, jobID)
	})
}

// insertURLRows writes planned URLs' rows, not yet probed.
func (s *Store) insertURLRows(ctx context.Context, tx Tx, jobID string, urls []warm.URL) error {
	err := s.bulk(ctx, tx, len(urls), []any{jobID}, "($1,$%d,$%d)",
		func(i int, args []any) []any { return append(args, urls[i].Index, urls[i].URL) },
		`INSERT INTO job_urls (job_id, idx, url) VALUES %s ON CONFLICT (job_id, idx) DO NOTHING`)
	if err != nil {
		return fmt.Errorf("insert urls: %w", err)
	}
	return nil
}

// saveProbes writes what the probe found into the URLs' rows, many rows a
// statement: UPDATE … FROM (VALUES …), which both engines run and whose
// columns both name column1, column2, …; the casts tell PostgreSQL the
// parameters' types.
func (s *Store) saveProbes(ctx context.Context, tx Tx, jobID string, urls []warm.URL) error {
	err := s.bulk(ctx, tx, len(urls), []any{jobID}, "(CAST($%d AS INTEGER),CAST($%d AS BIGINT),CAST($%d AS TEXT))",
		func(i int, args []any) []any { return append(args, urls[i].Index, urls[i].Size, urls[i].Error) },
		`UPDATE job_urls SET size = v.column2, error = v.column3, probed = TRUE FROM (VALUES %s) AS v
		WHERE job_urls.job_id = $1 AND job_urls.idx = v.column1`)
	if err != nil {
		return fmt.Errorf("save probes: %w", err)
	}
	return nil
}

// insertBatches writes batches, unqueued, and queues what the job's window
// takes of those that wait for no other.
func (s *Store) insertBatches(ctx context.Context, tx Tx, jobID string, batches []warm.Batch) error {
	err := s.bulk(ctx, tx, len(batches), []any{jobID, micros(s.now())}, "($1,$%d,$%d,$%d,$%d,$%d,$%d,'pending',$2,FALSE)",
		func(i int, args []any) []any {
			b := batches[i]
			return append(args, b.Seq, b.POP, b.From, b.To, b.After, b.Location)
		},
		`INSERT INTO batches (job_id, seq, pop, url_from, url_to, after_pop, location, state, updated_at, queued) VALUES %s
		ON CONFLICT (job_id, seq) DO NOTHING`)
	if err != nil {
		return fmt.Errorf("insert batches: %w", err)
	}
	return s.topUp(ctx, tx, jobID)
}

// FinishPlanning marks every task of the job queued.
func (s *Store) FinishPlanning(ctx context.Context, jobID string) error {
	_, err := s.db.Exec(ctx, `UPDATE jobs SET planned = TRUE, updated_at = $2 WHERE id = $1`, jobID, micros(s.now()))
	return err
}

// FinishProbing marks every URL probed and ends the job if nothing is left:
// FAILED when no URL passed the probe, FINISHED when every task is done.
func (s *Store) FinishProbing(ctx context.Context, jobID string) error {
	return s.inTx(ctx, func(tx Tx) error {
		now := micros(s.now())
		if _, err := tx.Exec(ctx, `UPDATE jobs SET probed = TRUE, updated_at = $2 WHERE id = $1`, jobID, now); err != nil {
			return err
		}
		var anyOK int
		err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM (SELECT 1 FROM job_urls WHERE job_id = $1 AND error = '' LIMIT 1) t`, jobID).Scan(&anyOK)
		if err != nil {
			return err
		}
		if anyOK == 0 {
			_, err := tx.Exec(ctx, `UPDATE jobs SET status = 'FAILED', message = 'every URL failed the size probe', updated_at = $2
				WHERE id = $1 AND status = 'IN_PROGRESS'`, jobID, now)
			return err
		}
		return s.maybeFinish(ctx, tx, jobID)
	})
}

// maybeFinish ends a fully planned job whose every task is done. The size
// probe may still be running (it goes on beside the warm), or a small job
// was not probed: there is nothing left to decide, so the job's expected
// size becomes what was fetched wherever the probe had not said more.
func (s *Store) maybeFinish(ctx context.Context, tx Tx, jobID string) error {
	var f finishing
	if err := tx.Pipeline(ctx, s.finishStmts(jobID, &f)); err != nil {
		return err
	}
	_, err := s.endIdleKeeps(ctx, tx, &f)
	return err
}

// finishStmts are maybeFinish's statements, for a pipeline; f gathers what
// they find, for endIdleKeeps once the pipeline ran. A keep-warm job whose
// first warm is done goes on keeping: it is marked warmed, and ends at
// keep_warm_until (see warm.Job.Deadline) — unless it has nothing to keep.
func (s *Store) finishStmts(jobID string, f *finishing) []Stmt {
	c := &finishCheck{id: jobID}
	f.jobs = append(f.jobs, c)
	finish := Stmt{SQL: `UPDATE jobs SET status = CASE WHEN keep_warm_until > 0 THEN status ELSE 'FINISHED' END,
		warmed = TRUE, updated_at = $2,
		total_size = CASE WHEN total_size >= download_size THEN total_size ELSE download_size END
		WHERE id = $1 AND status = 'IN_PROGRESS' AND planned AND done_count >= total_count AND NOT warmed`,
		Args: []any{jobID, micros(s.now())}, Affected: &c.warmedNow}
	// Whether the job, once warmed, keeps nothing: no re-warm due or
	// queued (kept counts both).
	idle := Stmt{SQL: `SELECT COALESCE(c.not_kept, 0), COALESCE(c.ended, 0) FROM jobs j
		LEFT JOIN keep_counts c ON c.job_id = j.id
		WHERE j.id = $1 AND j.keep_warm_until > 0 AND j.status = 'IN_PROGRESS' AND j.warmed
		AND COALESCE(c.kept, 0) = 0 AND COALESCE(c.queued, 0) = 0`,
		Args: []any{jobID}, Rows: func(rows Rows) error {
			for rows.Next() {
				c.idle = true
				if err := rows.Scan(&c.notKept, &c.ended); err != nil {
					return err
				}
			}
			return nil
		}}
	if !f.keepsWarm(jobID) {
		return []Stmt{finish}
	}
	return []Stmt{finish, idle}
}

// finishing is what finishStmts found of the jobs they may have finished.
// plain, when set, names jobs known not to keep warm (their results say
// so): whether they keep anything is not asked.
type finishing struct {
	jobs  []*finishCheck
	plain map[string]bool
}

func (f *finishing) keepsWarm(jobID string) bool { return !f.plain[jobID] }

type finishCheck struct {
	id        string
	warmedNow int64 // the first warm was done by this write
	idle      bool  // a keep-warm job, warmed, with nothing to keep
	notKept   int64
	ended     int64
}

// endIdleKeeps ends, FINISHED, each keep-warm job whose first warm this
// write completed and that has nothing to keep (every object not kept or
// fresh past the end): running on until keep_warm_until would do nothing.
// It returns the jobs it ended.
func (s *Store) endIdleKeeps(ctx context.Context, tx Tx, f *finishing) ([]string, error) {
	var ended []string
	for _, c := range f.jobs {
		if c.warmedNow == 0 || !c.idle {
			continue
		}
		msg, warning := warm.NothingToKeep(c.notKept, c.ended)
		if _, err := tx.Exec(ctx, `UPDATE jobs SET status = 'FINISHED', message = $2, updated_at = $3
			WHERE id = $1 AND status = 'IN_PROGRESS'`, c.id, msg, micros(s.now())); err != nil {
			return nil, fmt.Errorf("end job %s with nothing to keep warm: %w", c.id, err)
		}
		if warning != "" {
			if _, err := tx.Exec(ctx, `INSERT INTO job_warnings (job_id, warning, at) VALUES ($1, $2, $3)
				ON CONFLICT (job_id, warning) DO NOTHING`, c.id, warning, micros(s.now())); err != nil {
				return nil, fmt.Errorf("warn job %s: %w", c.id, err)
			}
		}
		ended = append(ended, c.id)
	}
	return ended, nil
}
