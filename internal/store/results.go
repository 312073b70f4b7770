package store

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

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
// each variant — that have no result at the batch's POP yet, in one query.
func (s *Store) PendingTasks(ctx context.Context, b warm.Batch, variants []string) ([]warm.Task, error) {
	rows, err := s.db.Reader().Query(ctx, `SELECT u.idx, u.url, COALESCE(r.variant, '') , r.url_idx IS NOT NULL
		FROM job_urls u LEFT JOIN results r ON r.job_id = $1 AND r.pop = $2 AND r.url_idx = u.idx
			AND r.url_idx >= $3 AND r.url_idx < $4
		WHERE u.job_id = $1 AND u.idx >= $3 AND u.idx < $4 AND u.error = '' ORDER BY u.idx`, b.JobID, b.POP, b.From, b.To)
	if err != nil {
		return nil, fmt.Errorf("pending tasks: %w", err)
	}
	defer rows.Close()
	tasks := make([]warm.Task, 0, b.Size()*len(variants))
	// Rows come URL by URL: one per variant done, or one with none.
	var cur warm.Task
	done := map[string]bool{}
	flush := func() {
		for _, v := range variants {
			if !done[v] {
				t := cur
				t.Variant = v
				tasks = append(tasks, t)
			}
		}
		clear(done)
	}
	started := false
	for rows.Next() {
		var t warm.Task
		var variant string
		var has bool
		if err := rows.Scan(&t.URLIndex, &t.URL, &variant, &has); err != nil {
			return nil, err
		}
		if !started || t.URLIndex != cur.URLIndex {
			if started {
				flush()
			}
			cur, started = t, true
		}
		if has {
			done[variant] = true
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if started {
		flush()
	}
	return tasks, nil
}

// ClaimBatch marks a batch as being fetched by an agent, so its tasks count
// as in progress.
func (s *Store) ClaimBatch(ctx context.Context, b warm.Batch, agentID string, tasks int) error {
	_, err := s.RecordBatches(ctx, []warm.BatchUpdate{{Batch: b, Agent: agentID, Tasks: tasks}})
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
	st, err := s.RecordBatches(ctx, []warm.BatchUpdate{{Batch: b, Results: results, State: state}})
	if err != nil {
		return "", err
	}
	return st[b.JobID], nil
}

// RecordBatches writes the updates of many batches, of any jobs — claims,
// new results, states — in one transaction, and returns the status of each
// of their jobs afterwards. Statements that need no answer from the one
// before go together (one round trip to PostgreSQL), so a write costs a
// handful of round trips however many batches it carries: what an agent far
// from the database needs. Results are idempotent per job × POP × URL ×
// variant and a batch becomes done once, so a write repeated after a
// failure counts nothing twice. A batch done for the first time lets the
// batches below it go and its job queue more; a job whose last task was
// recorded finishes.
func (s *Store) RecordBatches(ctx context.Context, ups []warm.BatchUpdate) (map[string]warm.Status, error) {
	w := s.newRecordWrite(ups)
	if len(w.ups) == 0 {
		return w.statuses, nil
	}
	if err := s.inTx(ctx, func(tx Tx) error { return w.run(ctx, tx) }); err != nil {
		return nil, err
	}
	for _, id := range w.jobs {
		if w.statuses[id] == "" {
			return nil, notFound(ErrNoRows, "job "+id)
		}
	}
	return w.statuses, nil
}

// recordWrite is one RecordBatches transaction: the updates, and what its
// round trips learn for the ones after.
type recordWrite struct {
	s        *Store
	ups      []warm.BatchUpdate // by job and seq: one lock order for every writer
	jobs     []string           // of the updates, sorted
	statuses map[string]warm.Status

	results []warm.Result // every update's results,
	owners  []string      // and the job of each
	tally   *tally
	kept    keepCounts

	firstDone []int64            // per update: 1 if it made its batch done
	unqueued  map[string]bool    // jobs with a batch done and batches not yet queued
	windows   map[string]*window // per job of unqueued: its queue window
	fin       finishing
}

func (s *Store) newRecordWrite(ups []warm.BatchUpdate) *recordWrite {
	ups = slices.Clone(ups)
	slices.SortStableFunc(ups, func(a, b warm.BatchUpdate) int {
		return cmp.Or(strings.Compare(a.Batch.JobID, b.Batch.JobID), a.Batch.Seq-b.Batch.Seq)
	})
	w := &recordWrite{s: s, ups: ups, tally: newTally(), kept: keepCounts{}, firstDone: make([]int64, len(ups)),
		unqueued: map[string]bool{}, windows: map[string]*window{}, fin: finishing{plain: map[string]bool{}}}
	for _, u := range ups {
		if !slices.Contains(w.jobs, u.Batch.JobID) {
			w.jobs = append(w.jobs, u.Batch.JobID)
		}
		for _, r := range u.Results {
			w.results = append(w.results, r)
			w.owners = append(w.owners, u.Batch.JobID)
			if !r.Keep {
				w.fin.plain[u.Batch.JobID] = true // a keep-warm job's results all say Keep
			}
		}
	}
	w.statuses = make(map[string]warm.Status, len(w.jobs))
	return w
}

// run is the transaction: the results, then the batches' states, the
// queue windows they open, and last the rows every writer of a job shares —
// its counters, its POPs' — so that those are locked only for the last
// round trip: writers of one job (an agent's writer lanes, other agents)
// overlap all the rest.
func (w *recordWrite) run(ctx context.Context, tx Tx) error {
	// Claims first (they reset a batch's count), then every result.
	stmts := append(w.claimStmts(), w.s.resultStmts(w.owners, w.results, w.tally.add)...)
	stmts = append(stmts, w.s.keepStmts(w.owners, w.results, w.kept)...)
	stmts = append(stmts, w.unqueuedStmts()...)
	if err := tx.Pipeline(ctx, stmts); err != nil {
		return err
	}
	// The batches' states, and the queue windows of jobs with a batch done
	// and more to queue; with none (a write with no batch done, and every
	// write near a job's end), the shared rows go in the same round trip.
	stmts = append(w.stateStmts(), w.windowStmts()...)
	if len(w.windows) > 0 {
		if err := tx.Pipeline(ctx, stmts); err != nil {
			return err
		}
		stmts = nil
		if err := w.fillWindows(ctx, tx); err != nil {
			return err
		}
	}
	// The counters, the jobs that may be done, and every job's status.
	stmts = append(stmts, w.tally.counterStmts(w.s.now())...)
	stmts = append(stmts, w.kept.stmts()...)
	for _, id := range w.tally.jobsWithNew() {
		stmts = append(stmts, w.s.finishStmts(id, &w.fin)...)
	}
	stmts = append(stmts, w.s.statusStmt(w.jobs, w.statuses))
	// Unless a keep-warm job may have to end next, that is the last round
	// trip, and the COMMIT goes with it: the shared rows are then locked
	// for no round trip.
	if !slices.ContainsFunc(w.tally.jobsWithNew(), w.fin.keepsWarm) {
		return tx.CommitWith(ctx, stmts)
	}
	if err := tx.Pipeline(ctx, stmts); err != nil {
		return err
	}
	idle, err := w.s.endIdleKeeps(ctx, tx, &w.fin)
	if err != nil {
		return err
	}
	for _, id := range idle {
		w.statuses[id] = warm.StatusFinished
	}
	return nil
}

// fillWindows queues more of each job that had a batch done for the
// first time.
func (w *recordWrite) fillWindows(ctx context.Context, tx Tx) error {
	var filled []string
	for i, u := range w.ups {
		if id := u.Batch.JobID; w.firstDone[i] > 0 && w.windows[id] != nil && !slices.Contains(filled, id) {
			filled = append(filled, id)
			if err := w.s.fillWindow(ctx, tx, id, *w.windows[id]); err != nil {
				return err
			}
		}
	}
	return nil
}

// claimStmts mark the claimed batches running, with their task counts.
func (w *recordWrite) claimStmts() []Stmt {
	var stmts []Stmt
	for _, u := range w.ups {
		if u.Agent != "" {
			stmts = append(stmts, Stmt{SQL: `UPDATE batches SET state = 'running', agent = $3, claimed = $4, done = 0,
				updated_at = $5 WHERE job_id = $1 AND seq = $2 AND state <> 'done'`,
				Args: []any{u.Batch.JobID, u.Batch.Seq, u.Agent, u.Tasks, micros(w.s.now())}})
		}
	}
	return stmts
}

// unqueuedStmts find which jobs with a batch done have batches left to
// queue: only those need their window read and filled.
func (w *recordWrite) unqueuedStmts() []Stmt {
	var stmts []Stmt
	for _, u := range w.ups {
		id := u.Batch.JobID
		if _, seen := w.unqueued[id]; seen || u.State != warm.BatchDone {
			continue
		}
		w.unqueued[id] = false
		stmts = append(stmts, Stmt{SQL: `SELECT 1 FROM batches WHERE job_id = $1 AND NOT queued LIMIT 1`, Args: []any{id},
			Rows: func(rows Rows) error {
				for rows.Next() {
					w.unqueued[id] = true
				}
				return nil
			}})
	}
	return stmts
}

// stateStmts count the new results to their batches and move each batch
// to its state; a batch made done notes it in firstDone.
func (w *recordWrite) stateStmts() []Stmt {
	var stmts []Stmt
	for i, u := range w.ups {
		n := w.tally.batch(u.Batch)
		switch u.State {
		case warm.BatchDone:
			stmts = append(stmts, Stmt{SQL: `UPDATE batches SET state = 'done', done = done + $3, claimed = 0,
				updated_at = $4 WHERE job_id = $1 AND seq = $2 AND state <> 'done'`,
				Args: []any{u.Batch.JobID, u.Batch.Seq, n, micros(w.s.now())}, Affected: &w.firstDone[i]})
		case warm.BatchRunning, warm.BatchPending:
			stmts = append(stmts, Stmt{SQL: `UPDATE batches SET state = $3, done = done + $4,
				claimed = CASE WHEN $3 = 'running' THEN claimed ELSE 0 END, updated_at = $5
				WHERE job_id = $1 AND seq = $2 AND state <> 'done'`,
				Args: []any{u.Batch.JobID, u.Batch.Seq, string(u.State), n, micros(w.s.now())}})
		}
	}
	return stmts
}

// windowStmts: a batch done lets the batches of its URLs one tier down go
// (again is harmless), and the first time, its job may queue more: what
// the job's window holds is read here, for run to use.
func (w *recordWrite) windowStmts() []Stmt {
	var stmts []Stmt
	for _, u := range w.ups {
		if u.State != warm.BatchDone {
			continue
		}
		stmts = append(stmts, w.s.readyStmt(u.Batch.JobID, u.Batch.From, u.Batch.From+1, u.Batch.POP))
		if w.unqueued[u.Batch.JobID] && w.windows[u.Batch.JobID] == nil {
			w.windows[u.Batch.JobID] = &window{}
			stmts = append(stmts, w.s.windowStmt(u.Batch.JobID, w.windows[u.Batch.JobID]))
		}
	}
	return stmts
}

// statusStmt reads the status of each job into out, for a pipeline.
func (s *Store) statusStmt(ids []string, out map[string]warm.Status) Stmt {
	args := make([]any, len(ids))
	marks := make([]string, len(ids))
	for i, id := range ids {
		args[i], marks[i] = id, fmt.Sprintf("$%d", i+1)
	}
	return Stmt{SQL: `SELECT id, status FROM jobs WHERE id IN (` + strings.Join(marks, ",") + `)`, Args: args,
		Rows: func(rows Rows) error {
			for rows.Next() {
				var id, st string
				if err := rows.Scan(&id, &st); err != nil {
					return err
				}
				out[id] = warm.Status(st)
			}
			return nil
		}}
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
	ttfb_us, duration_us, attempts, error, at, verified, reason, warning, fresh_until`

const resultWidth = 18 // columns after job_id

func resultArgs(args []any, r *warm.Result) []any {
	return append(args, r.POP, r.URLIndex, r.Variant, r.OK, r.StatusCode, r.Bytes, r.CacheStatus, r.ServedBy, r.EdgeIP,
		r.TTFB.Microseconds(), r.Duration.Microseconds(), r.Attempts, r.Error, micros(r.At), r.Verified, r.Reason, r.Warning,
		micros(r.Fresh.Until))
}

// counts are what new results add to a job's or a POP's counters.
type counts struct {
	done, ok, failed, bytes, attempted, verified, notCached int64
	reached                                                 bool
	lastError                                               string
}

// inserted is one newly recorded result, as RETURNING gives it back.
type inserted struct {
	job, pop, reason, errText string
	idx                       int
	ok, verified              bool
	bytes                     int64
	code, attempts            int
}

func (c *counts) add(r inserted) {
	c.done++
	c.bytes += r.bytes
	if r.ok {
		c.ok++
	} else {
		c.failed++
	}
	c.reached = c.reached || warm.AnsweredWhole(r.code, r.errText)
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

// tally adds up newly recorded results per job, per job × POP, and per URL
// of each job × POP (to count them to their batches).
type tally struct {
	jobs map[string]*counts
	pops map[[2]string]*counts
	idxs map[[2]string][]int
}

func newTally() *tally {
	return &tally{jobs: map[string]*counts{}, pops: map[[2]string]*counts{}, idxs: map[[2]string][]int{}}
}

func (t *tally) add(r inserted) {
	j := t.jobs[r.job]
	if j == nil {
		j = &counts{}
		t.jobs[r.job] = j
	}
	j.add(r)
	key := [2]string{r.job, r.pop}
	p := t.pops[key]
	if p == nil {
		p = &counts{}
		t.pops[key] = p
	}
	p.add(r)
	t.idxs[key] = append(t.idxs[key], r.idx)
}

// batch is how many new results fall in b.
func (t *tally) batch(b warm.Batch) int {
	n := 0
	for _, idx := range t.idxs[[2]string{b.JobID, b.POP}] {
		if idx >= b.From && idx < b.To {
			n++
		}
	}
	return n
}

// jobsWithNew are the jobs that got new results, in order.
func (t *tally) jobsWithNew() []string { return slices.Sorted(maps.Keys(t.jobs)) }

// counterStmts add the new results to the jobs' and POPs' counters, in one
// lock order.
func (t *tally) counterStmts(now time.Time) []Stmt {
	var stmts []Stmt
	for _, id := range t.jobsWithNew() {
		j := t.jobs[id]
		stmts = append(stmts, Stmt{SQL: `UPDATE jobs SET done_count = done_count + $2, ok_count = ok_count + $3,
			failed_count = failed_count + $4, download_size = download_size + $5, updated_at = $6,
			verified_count = verified_count + $7, not_cached_count = not_cached_count + $8 WHERE id = $1`,
			Args: []any{id, j.done, j.ok, j.failed, j.bytes, micros(now), j.verified, j.notCached}})
	}
	keys := slices.SortedFunc(maps.Keys(t.pops), func(a, b [2]string) int {
		return cmp.Or(strings.Compare(a[0], b[0]), strings.Compare(a[1], b[1]))
	})
	for _, k := range keys {
		d := t.pops[k]
		stmts = append(stmts, Stmt{SQL: `UPDATE job_pops SET done = done + $3, ok = ok + $4, failed = failed + $5,
			bytes = bytes + $6, attempted = attempted + $7, reached = (reached OR $8), verified = verified + $9,
			not_cached = not_cached + $10, last_error = CASE WHEN $11 = '' THEN last_error ELSE $11 END
			WHERE job_id = $1 AND code = $2`,
			Args: []any{k[0], k[1], d.done, d.ok, d.failed, d.bytes, d.attempted, d.reached, d.verified, d.notCached, d.lastError}})
	}
	return stmts
}

// insertResults writes one job's results, skipping any already recorded,
// and adds what was new to the job's and POPs' counters. It returns how
// many were new.
func (s *Store) insertResults(ctx context.Context, tx Tx, jobID string, results []warm.Result) (int, error) {
	owners := make([]string, len(results))
	for i := range owners {
		owners[i] = jobID
	}
	t := newTally()
	if err := tx.Pipeline(ctx, s.resultStmts(owners, results, t.add)); err != nil {
		return 0, err
	}
	if err := tx.Pipeline(ctx, t.counterStmts(s.now())); err != nil {
		return 0, fmt.Errorf("counters: %w", err)
	}
	if j := t.jobs[jobID]; j != nil {
		return int(j.done), nil
	}
	return 0, nil
}

// resultStmts insert results (results[i] of job owners[i]) in statements
// of at most the dialect's parameters, each row new to the table handed to
// fn, and the rows in one order (job, POP, URL, variant) so that writers
// meeting on the same rows take their locks in the same order.
func (s *Store) resultStmts(owners []string, results []warm.Result, fn func(inserted)) []Stmt {
	order := make([]int, len(results))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int {
		ra, rb := &results[a], &results[b]
		return cmp.Or(strings.Compare(owners[a], owners[b]), strings.Compare(ra.POP, rb.POP),
			ra.URLIndex-rb.URLIndex, strings.Compare(ra.Variant, rb.Variant))
	})
	per := s.chunkRows(resultWidth + 1)
	var stmts []Stmt
	from := 0
	for _, size := range chunks(len(results), per) {
		part := order[from : from+size]
		from += size
		var rows []byte
		args := make([]any, 0, (resultWidth+1)*size)
		for i, k := range part {
			if i > 0 {
				rows = append(rows, ',')
			}
			rows = append(rows, '(')
			for c := range resultWidth + 1 {
				if c > 0 {
					rows = append(rows, ',')
				}
				rows = fmt.Appendf(rows, "$%d", 1+i*(resultWidth+1)+c)
			}
			rows = append(rows, ')')
			args = resultArgs(append(args, owners[k]), &results[k])
		}
		stmts = append(stmts, Stmt{SQL: `INSERT INTO results (` + resultColumns + `) VALUES ` + string(rows) + `
			ON CONFLICT (job_id, pop, url_idx, variant) DO NOTHING
			RETURNING job_id, pop, url_idx, ok, bytes, status_code, attempts, verified, reason, error`, Args: args,
			Rows: func(q Rows) error {
				for q.Next() {
					var r inserted
					if err := q.Scan(&r.job, &r.pop, &r.idx, &r.ok, &r.bytes, &r.code, &r.attempts, &r.verified, &r.reason, &r.errText); err != nil {
						return err
					}
					fn(r)
				}
				return nil
			}})
	}
	return stmts
}
