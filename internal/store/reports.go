package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"prewarm/internal/warm"
)

// failedPOPs is when a POP failed as a whole: it did not resolve, never
// gave a whole answer, or refused every task while another POP of the job
// warmed some (a geo-blocking or broken POP: its failures are its own, not
// its URLs').
const failedPOPs = `(p.error <> '' OR (p.attempted > 0 AND NOT p.reached)
	OR (p.ok = 0 AND p.failed > 0 AND EXISTS (SELECT 1 FROM job_pops o WHERE o.job_id = p.job_id AND o.ok > 0)))`

// notDone counts, for a job that ended before its tasks were, each usable
// POP's tasks left: every URL in every variant, less those done there.
func (s *Store) notDone(ctx context.Context, job *warm.Job) ([]warm.POPNotDone, error) {
	out := []warm.POPNotDone{}
	if !job.Status.Terminal() || job.Status == warm.StatusFinished {
		return out, nil
	}
	rows, err := s.db.Reader().Query(ctx, `SELECT code, done, last_error FROM job_pops
		WHERE job_id = $1 AND error = '' AND NOT skipped ORDER BY position`, job.ID)
	if err != nil {
		return nil, fmt.Errorf("tasks not done: %w", err)
	}
	defer rows.Close()
	planned := int64(job.URLCount * len(job.Variants()))
	for rows.Next() {
		var p warm.POPNotDone
		var done int64
		if err := rows.Scan(&p.POP, &done, &p.LastError); err != nil {
			return nil, err
		}
		if p.Tasks = planned - done; p.Tasks > 0 {
			out = append(out, p)
		}
	}
	return out, rows.Err()
}

// maxNotKept is the most URLs a summary lists as not kept warm.
const maxNotKept = 1000

// Summary lists a job's failed POPs and failed URLs. A URL fails when its
// probe failed or a fetch of it failed at a POP that itself answered (a 404
// is the URL's failure, not the POP's).
func (s *Store) Summary(ctx context.Context, id string) (*warm.Summary, error) {
	job, err := s.Job(ctx, id)
	if err != nil {
		return nil, err
	}
	if kept, err := s.keptSummary(ctx, job); kept != nil || err != nil {
		return kept, err
	}
	r := s.db.Reader()
	sum := &warm.Summary{Job: *job, FailurePOPs: []string{}, FailureURLs: []string{}}
	rows, err := r.Query(ctx, `SELECT p.code FROM job_pops p WHERE p.job_id = $1 AND `+failedPOPs+` ORDER BY p.position`, id)
	if err != nil {
		return nil, fmt.Errorf("failed pops: %w", err)
	}
	if sum.FailurePOPs, err = collectStrings(rows, sum.FailurePOPs); err != nil {
		return nil, err
	}
	// The results' key leads with the POP, so a lookup per URL would scan
	// the job's results for each: the subqueries are read once instead.
	rows, err = r.Query(ctx, `SELECT u.url FROM job_urls u WHERE u.job_id = $1 AND (u.error <> '' OR u.idx IN (
			SELECT f.url_idx FROM results f JOIN job_pops p ON p.job_id = f.job_id AND p.code = f.pop
			WHERE f.job_id = $1 AND NOT f.ok AND NOT `+failedPOPs+`))
		ORDER BY u.idx`, id)
	if err != nil {
		return nil, fmt.Errorf("failed urls: %w", err)
	}
	if sum.FailureURLs, err = collectStrings(rows, sum.FailureURLs); err != nil {
		return nil, err
	}
	if sum.NotDone, err = s.notDone(ctx, job); err != nil {
		return nil, err
	}
	if job.KeepsWarm() {
		if sum.NotKept, err = s.NotKept(ctx, id, maxNotKept); err != nil {
			return nil, err
		}
	}
	rows, err = r.Query(ctx, `SELECT u.url FROM job_urls u WHERE u.job_id = $1 AND u.idx IN (
			SELECT n.url_idx FROM results n WHERE n.job_id = $1 AND n.ok AND n.reason <> '')
		ORDER BY u.idx`, id)
	if err != nil {
		return nil, fmt.Errorf("not cached urls: %w", err)
	}
	if sum.NotCachedURLs, err = collectStrings(rows, []string{}); err != nil {
		return nil, err
	}
	rows, err = r.Query(ctx, `SELECT w FROM (SELECT warning AS w, COUNT(*) AS n FROM results
		WHERE job_id = $1 AND warning <> '' GROUP BY warning) t ORDER BY n DESC, w`, id)
	if err != nil {
		return nil, fmt.Errorf("warnings: %w", err)
	}
	if sum.Warnings, err = collectStrings(rows, []string{}); err != nil {
		return nil, err
	}
	if sum.NotCachedReasons, err = s.notCachedReasons(ctx, id); err != nil {
		return nil, err
	}
	// What the fleet noticed while warming (hosts that pushed back).
	rows, err = r.Query(ctx, `SELECT warning FROM job_warnings WHERE job_id = $1 ORDER BY at, warning`, id)
	if err != nil {
		return nil, fmt.Errorf("job warnings: %w", err)
	}
	if sum.Warnings, err = collectStrings(rows, sum.Warnings); err != nil {
		return nil, err
	}
	return sum, nil
}

func collectStrings(rows Rows, out []string) ([]string, error) {
	defer rows.Close()
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// Tasks streams a job's recorded tasks, ordered by POP then URL, to fn.
// First come rows that stand for a POP rather than a task: with
// FailedOnly, one per POP that failed as a whole and has no tasks (it did
// not resolve), and, for a job that ended before its tasks were done, one
// per POP with tasks left, saying how many and the last error seen there.
// So a report names every failure and every gap.
//
// Rows are read a page at a time and no connection is held while fn
// runs: a client reading a large report slowly holds nothing others need.
func (s *Store) Tasks(ctx context.Context, jobID string, f warm.TaskFilter, fn func(warm.TaskRow) error) error {
	head, err := s.popRows(ctx, jobID, f)
	if err != nil {
		return err
	}
	for _, t := range head {
		if err := fn(t); err != nil {
			return err
		}
	}
	var after *warm.TaskRow
	for sent := 0; f.Limit <= 0 || sent < f.Limit; {
		n := reportPage
		if f.Limit > 0 {
			n = min(n, f.Limit-sent)
		}
		page, err := s.taskPage(ctx, jobID, f, after, n)
		if err != nil {
			return err
		}
		for _, t := range page {
			if err := fn(t); err != nil {
				return err
			}
		}
		if len(page) < n {
			return nil
		}
		sent += len(page)
		after = &page[len(page)-1]
	}
	return nil
}

// reportPage is how many task rows a report reads per query.
const reportPage = 2000

// popRows are a report's rows that stand for a whole POP (see Tasks).
func (s *Store) popRows(ctx context.Context, jobID string, f warm.TaskFilter) ([]warm.TaskRow, error) {
	var out []warm.TaskRow
	if f.FailedOnly {
		rows, err := s.db.Reader().Query(ctx, `SELECT p.code, p.error FROM job_pops p WHERE p.job_id = $1 AND p.error <> ''
			AND ($2 = '' OR p.code = $2) ORDER BY p.position`, jobID, f.POP)
		if err != nil {
			return nil, fmt.Errorf("failed pops: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			t := warm.TaskRow{Result: warm.Result{URLIndex: -1}}
			if err := rows.Scan(&t.POP, &t.Error); err != nil {
				return nil, err
			}
			out = append(out, t)
		}
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	job, err := s.Job(ctx, jobID)
	if err != nil {
		return nil, err
	}
	left, err := s.notDone(ctx, job)
	if err != nil {
		return nil, err
	}
	for _, p := range left {
		if f.POP != "" && p.POP != f.POP {
			continue
		}
		why := fmt.Sprintf("%d tasks not done: the job ended %s", p.Tasks, job.Status)
		if p.LastError != "" {
			why += "; last error here: " + p.LastError
		}
		out = append(out, warm.TaskRow{Result: warm.Result{POP: p.POP, URLIndex: -1, Error: why}})
	}
	return out, nil
}

// taskPage reads up to n task rows after the given one (nil: from the
// first), closing its query before it returns.
func (s *Store) taskPage(ctx context.Context, jobID string, f warm.TaskFilter, after *warm.TaskRow, n int) ([]warm.TaskRow, error) {
	var where strings.Builder
	where.WriteString("r.job_id = $1 AND ($2 = '' OR r.pop = $2)")
	if f.FailedOnly {
		where.WriteString(" AND NOT r.ok")
	}
	args := []any{jobID, f.POP}
	if after != nil {
		// The primary key's order, resumed after the last row sent.
		where.WriteString(" AND (r.pop > $3 OR (r.pop = $3 AND (r.url_idx > $4 OR (r.url_idx = $4 AND r.variant > $5))))")
		args = append(args, after.POP, after.URLIndex, after.Variant)
	}
	rows, err := s.db.Reader().Query(ctx, `SELECT r.pop, r.url_idx, r.variant, u.url, r.ok, r.status_code, r.bytes, r.cache_status, r.served_by,
		r.edge_ip, r.ttfb_us, r.duration_us, r.attempts, r.error, r.at, r.verified, r.reason, r.warning
		FROM results r JOIN job_urls u ON u.job_id = r.job_id AND u.idx = r.url_idx
		WHERE `+where.String()+fmt.Sprintf(` ORDER BY r.pop, r.url_idx, r.variant LIMIT %d`, n), args...)
	if err != nil {
		return nil, fmt.Errorf("tasks of %s: %w", jobID, err)
	}
	defer rows.Close()
	page := make([]warm.TaskRow, 0, n)
	for rows.Next() {
		var t warm.TaskRow
		var ttfb, dur, at int64
		err := rows.Scan(&t.POP, &t.URLIndex, &t.Variant, &t.URL, &t.OK, &t.StatusCode, &t.Bytes, &t.CacheStatus, &t.ServedBy,
			&t.EdgeIP, &ttfb, &dur, &t.Attempts, &t.Error, &at, &t.Verified, &t.Reason, &t.Warning)
		if err != nil {
			return nil, err
		}
		t.TTFB, t.Duration, t.At = time.Duration(ttfb)*time.Microsecond, time.Duration(dur)*time.Microsecond, fromMicros(at)
		page = append(page, t)
	}
	return page, rows.Err()
}

// Stats counts jobs by status and the tasks of the running ones.
func (s *Store) Stats(ctx context.Context) (warm.Stats, error) {
	st := warm.Stats{Jobs: map[warm.Status]int64{}}
	r := s.db.Reader()
	rows, err := r.Query(ctx, `SELECT status, COUNT(*) FROM jobs GROUP BY status`)
	if err != nil {
		return st, fmt.Errorf("stats: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var status string
		var n int64
		if err := rows.Scan(&status, &n); err != nil {
			return st, err
		}
		st.Jobs[warm.Status(status)] = n
	}
	if err := rows.Err(); err != nil {
		return st, err
	}
	err = r.QueryRow(ctx, `SELECT COALESCE(SUM(total_count - done_count), 0) FROM jobs WHERE status IN ('CREATED', 'IN_PROGRESS')`).Scan(&st.Queued)
	if err != nil {
		return st, fmt.Errorf("stats: %w", err)
	}
	err = r.QueryRow(ctx, `SELECT COALESCE(SUM(b.claimed - b.done), 0) FROM batches b JOIN jobs j ON j.id = b.job_id
		WHERE b.state = 'running' AND j.status = 'IN_PROGRESS'`).Scan(&st.Running)
	if err != nil {
		return st, fmt.Errorf("stats: %w", err)
	}
	st.Running = max(st.Running, 0)
	st.Queued = max(st.Queued-st.Running, 0)
	return st, nil
}

// notCachedReasons groups the tasks fetched but not cached by their
// reason, most frequent first, each with one of its tasks.
func (s *Store) notCachedReasons(ctx context.Context, id string) ([]warm.NotCachedReason, error) {
	rows, err := s.db.Reader().Query(ctx, `SELECT n.reason, n.n, u.url, n.pop FROM (
			SELECT reason, COUNT(*) AS n, MIN(url_idx) AS idx, MIN(pop) AS pop FROM results
			WHERE job_id = $1 AND ok AND reason <> '' GROUP BY reason) n
		JOIN job_urls u ON u.job_id = $1 AND u.idx = n.idx
		ORDER BY n.n DESC, n.reason LIMIT 20`, id)
	if err != nil {
		return nil, fmt.Errorf("not cached reasons: %w", err)
	}
	defer rows.Close()
	out := []warm.NotCachedReason{}
	for rows.Next() {
		var r warm.NotCachedReason
		if err := rows.Scan(&r.Reason, &r.Count, &r.ExampleURL, &r.ExamplePOP); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}
