package store

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"prewarm/internal/warm"
)

// CreateJob records a job and queues its planning, in one transaction (its
// deadline is kept by a sweep of overdue jobs: see warm.Service.EndOverdue). The URL list is kept whole, newline-separated, in one row:
// one write accepts a 100,000-URL job at once; planning writes each URL's
// own row as it probes it.
func (s *Store) CreateJob(ctx context.Context, job *warm.Job, urls []string) error {
	targets, err := json.Marshal(job.Targets)
	if err != nil {
		return err
	}
	headers, err := json.Marshal(job.Headers)
	if err != nil {
		return err
	}
	encodings, err := json.Marshal(orEmpty(job.Encodings))
	if err != nil {
		return err
	}
	expand, err := json.Marshal(orEmpty(job.Expand))
	if err != nil {
		return err
	}
	return s.inTx(ctx, func(tx Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO jobs (id, status, message, cf_domain, target_type, targets, headers,
			timeout_us, need_invalidate, distribution_id, url_count, created_at, updated_at, timeout_at,
			verify, encodings, expand, variants, max_concurrency, max_rps, tier_first, priority, name, owner,
			notify_url, notify_state, changed_since, schedule_id, keep_warm_until, refresh_header, vantage)
			VALUES ($1,$2,'',$3,$4,$5,$6,$7,$8,$9,$10,$11,$11,$12,$13,$14,$15,$16,$17,$18,$19,$20,$21,$22,$23,$24,$25,$26,$27,$28,$29)`,
			job.ID, string(job.Status), job.CFDomain, job.TargetType, string(targets), string(headers),
			job.Timeout.Microseconds(), job.NeedInvalidate, job.DistributionID, job.URLCount, micros(job.CreatedAt), micros(job.TimeoutAt),
			job.Verify, string(encodings), string(expand), len(job.Variants()), job.MaxConcurrency, job.MaxRPS, job.TierFirst,
			string(cmpPriority(job.Priority)), job.Name, job.Owner, job.Notify.URL, string(job.Notify.State), micros(job.ChangedSince), job.ScheduleID,
			micros(job.KeepWarmUntil), job.RefreshHeader, job.Vantage)
		if err != nil {
			return fmt.Errorf("insert job: %w", err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO job_lists (job_id, urls) VALUES ($1, $2)`, job.ID, strings.Join(urls, "\n")); err != nil {
			return fmt.Errorf("insert url list: %w", err)
		}
		return s.enq.Enqueue(ctx, tx, warm.Step{Kind: warm.StepPlan, JobID: job.ID})
	})
}

// Overdue lists the jobs still running past their deadline at now.
func (s *Store) Overdue(ctx context.Context, now time.Time) ([]string, error) {
	// A keep-warm job whose first warm is done ends at keep_warm_until;
	// timeout_at stays the first warm's deadline (see warm.Job.Deadline).
	rows, err := s.db.Reader().Query(ctx, `SELECT id FROM (SELECT id,
		CASE WHEN warmed AND keep_warm_until > 0 THEN keep_warm_until ELSE timeout_at END AS deadline
		FROM jobs WHERE status IN ('CREATED', 'IN_PROGRESS')) t
		WHERE deadline <= $1 ORDER BY deadline LIMIT 1000`, micros(now))
	if err != nil {
		return nil, fmt.Errorf("overdue jobs: %w", err)
	}
	return collectStrings(rows, nil)
}

// cmpPriority is a job's priority, normal when unset.
func cmpPriority(p warm.Priority) warm.Priority {
	if p == "" {
		return warm.PriorityNormal
	}
	return p
}

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// JobURLs returns a job's whole URL list, in order.
func (s *Store) JobURLs(ctx context.Context, jobID string) ([]string, error) {
	var list string
	if err := s.db.Reader().QueryRow(ctx, `SELECT urls FROM job_lists WHERE job_id = $1`, jobID).Scan(&list); err != nil {
		return nil, notFound(err, "job "+jobID)
	}
	if list == "" {
		return nil, nil
	}
	return strings.Split(list, "\n"), nil
}

const jobColumns = `id, status, message, cf_domain, target_type, targets, headers, timeout_us,
	need_invalidate, distribution_id, url_count, created_at, updated_at, timeout_at, verify, encodings, expand,
	max_concurrency, max_rps, tier_first, priority, name, owner,
	notify_url, notify_state, notify_attempts, notify_error, notified_at, changed_since, schedule_id,
	keep_warm_until, refresh_header, warmed, vantage`

// countColumns are a job's counters as progress reads them.
const countColumns = `total_count, done_count, ok_count, failed_count, download_size, total_size,
	planned_urls, planned, invalidated, verified_count, not_cached_count, expanded, probed_urls, probed, waiting, waiting_at,
	(SELECT COALESCE(SUM(b.claimed - b.done), 0) FROM batches b WHERE b.job_id = jobs.id AND b.state = 'running')`

type jobScan struct {
	job                                   warm.Job
	counts                                warm.Counts
	targets, headers, encodings, expand   string
	timeoutUS, created, updated, deadline int64
	waitingAt, notifiedAt, changedSince   int64
	keepWarmUntil                         int64
}

func (js *jobScan) dest(withCounts bool) []any {
	j := &js.job
	d := []any{&j.ID, (*string)(&j.Status), &j.Message, &j.CFDomain, &j.TargetType, &js.targets, &js.headers,
		&js.timeoutUS, &j.NeedInvalidate, &j.DistributionID, &j.URLCount, &js.created, &js.updated, &js.deadline,
		&j.Verify, &js.encodings, &js.expand, &j.MaxConcurrency, &j.MaxRPS, &j.TierFirst, (*string)(&j.Priority), &j.Name, &j.Owner,
		&j.Notify.URL, (*string)(&j.Notify.State), &j.Notify.Attempts, &j.Notify.Error, &js.notifiedAt, &js.changedSince, &j.ScheduleID,
		&js.keepWarmUntil, &j.RefreshHeader, &j.Warmed, &j.Vantage}
	if withCounts {
		c := &js.counts
		d = append(d, &c.Total, &c.Done, &c.OK, &c.Failed, &c.DownloadSize, &c.TotalSize, &c.PlannedURLs, &c.Planned,
			&c.Invalidated, &c.Verified, &c.NotCached, &c.Expanded, &c.ProbedURLs, &c.Probed, &c.Waiting, &js.waitingAt, &c.InProgress)
	}
	return d
}

func (js *jobScan) finish() (*warm.Job, error) {
	j := js.job
	j.Notify.At, j.ChangedSince = fromMicros(js.notifiedAt), fromMicros(js.changedSince)
	j.KeepWarmUntil = fromMicros(js.keepWarmUntil)
	if err := json.Unmarshal([]byte(js.targets), &j.Targets); err != nil {
		return nil, fmt.Errorf("job %s targets: %w", j.ID, err)
	}
	if err := json.Unmarshal([]byte(js.headers), &j.Headers); err != nil {
		return nil, fmt.Errorf("job %s headers: %w", j.ID, err)
	}
	if err := json.Unmarshal([]byte(js.encodings), &j.Encodings); err != nil {
		return nil, fmt.Errorf("job %s encodings: %w", j.ID, err)
	}
	if err := json.Unmarshal([]byte(js.expand), &j.Expand); err != nil {
		return nil, fmt.Errorf("job %s expand: %w", j.ID, err)
	}
	if len(j.Encodings) == 0 {
		j.Encodings = nil
	}
	if len(j.Expand) == 0 {
		j.Expand = nil
	}
	j.Timeout = time.Duration(js.timeoutUS) * time.Microsecond
	j.CreatedAt, j.UpdatedAt, j.TimeoutAt = fromMicros(js.created), fromMicros(js.updated), fromMicros(js.deadline)
	return &j, nil
}

// Job reads a job.
func (s *Store) Job(ctx context.Context, id string) (*warm.Job, error) {
	var js jobScan
	err := s.db.Reader().QueryRow(ctx, "SELECT "+jobColumns+" FROM jobs WHERE id = $1", id).Scan(js.dest(false)...)
	if err != nil {
		return nil, notFound(err, "job "+id)
	}
	return js.finish()
}

// Progress reads a job and its counters in one query: one row, plus the
// running batches' claims for the tasks in progress.
func (s *Store) Progress(ctx context.Context, id string) (*warm.Progress, error) {
	var js jobScan
	err := s.db.Reader().QueryRow(ctx, "SELECT "+jobColumns+", "+countColumns+" FROM jobs WHERE id = $1", id).Scan(js.dest(true)...)
	if err != nil {
		return nil, notFound(err, "job "+id)
	}
	return s.progress(&js)
}

// RunningByKey counts the jobs in progress, per key (owner).
func (s *Store) RunningByKey(ctx context.Context) (warm.Running, error) {
	rows, err := s.db.Reader().Query(ctx, `SELECT owner, COUNT(*) FROM jobs WHERE status = 'IN_PROGRESS' GROUP BY owner`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := warm.Running{}
	for rows.Next() {
		var owner string
		var n int
		if err := rows.Scan(&owner, &n); err != nil {
			return nil, err
		}
		out[owner] = n
	}
	return out, rows.Err()
}

// waitingFresh is how long what an agent said a job waits for stays true
// unless said again.
const waitingFresh = 5 * time.Second

func (s *Store) progress(js *jobScan) (*warm.Progress, error) {
	job, err := js.finish()
	if err != nil {
		return nil, err
	}
	p := &warm.Progress{Job: *job, Counts: js.counts}
	if p.Status.Terminal() || s.now().Sub(fromMicros(js.waitingAt)) > waitingFresh {
		p.Waiting = ""
	}
	return p, nil
}

// ListJobs lists jobs, newest first.
func (s *Store) ListJobs(ctx context.Context, f warm.JobFilter) ([]warm.Progress, error) {
	limit := f.Limit
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	q := "SELECT " + jobColumns + ", " + countColumns + " FROM jobs"
	args := []any{limit}
	if f.Status != "" {
		q += " WHERE status = $2"
		args = append(args, string(f.Status))
	}
	q += " ORDER BY created_at DESC, id LIMIT $1"
	rows, err := s.db.Reader().Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list jobs: %w", err)
	}
	defer rows.Close()
	var out []warm.Progress
	for rows.Next() {
		var js jobScan
		if err := rows.Scan(js.dest(true)...); err != nil {
			return nil, err
		}
		p, err := s.progress(&js)
		if err != nil {
			return nil, err
		}
		out = append(out, *p)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

// Transition moves a job between states if it is in one of from.
func (s *Store) Transition(ctx context.Context, id string, from []warm.Status, to warm.Status, msg string) (bool, error) {
	args := []any{id, string(to), msg, micros(s.now())}
	marks := make([]string, len(from))
	for i, st := range from {
		args = append(args, string(st))
		marks[i] = fmt.Sprintf("$%d", i+5)
	}
	n, err := s.db.Exec(ctx, `UPDATE jobs SET status = $2, message = $3, updated_at = $4
		WHERE id = $1 AND status IN (`+strings.Join(marks, ",")+`)`, args...)
	if err != nil {
		return false, fmt.Errorf("job %s to %s: %w", id, to, err)
	}
	if n == 0 {
		var one int
		if err := s.db.Reader().QueryRow(ctx, "SELECT 1 FROM jobs WHERE id = $1", id).Scan(&one); err != nil {
			return false, notFound(err, "job "+id)
		}
	}
	return n > 0, nil
}
