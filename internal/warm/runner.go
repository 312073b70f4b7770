package warm

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"
)

// Runner fetches the tasks of one batch on an agent, writing results in bulk
// as they come. It stops early — flushing what it has — when the job ends
// (stop, timeout), when the agent is told to stand by, or when the batch
// used up its time budget; the batch is then continued later by whichever
// agent picks it up, skipping the tasks already recorded.
type Runner struct {
	Store   Store
	Pool    *Pool
	Cancels *Cancels
	AgentID string
	Log     *slog.Logger
	Now     func() time.Time
	// Observer, if set, hears of every result this runner records.
	Observer Observer

	FlushEvery     int           // results per write
	FlushInterval  time.Duration // longest wait before writing what there is
	StatusInterval time.Duration // how often a quiet batch re-reads its job's status
	Budget         time.Duration // after this, no new fetch starts; the batch continues later
}

// Run works one batch. drain is closed when the agent must stop taking new
// work (standing by or shutting down).
func (r *Runner) Run(ctx context.Context, jobID string, seq int, drain <-chan struct{}) error {
	job, err := r.Store.Job(ctx, jobID)
	if err != nil {
		return err
	}
	if job.Status.Terminal() {
		return nil
	}
	b, err := r.Store.Batch(ctx, jobID, seq)
	if err != nil {
		return err
	}
	if !r.Now().Before(job.TimeoutAt) {
		return endAtDeadline(ctx, r.Store, r.Cancels, r.Now(), jobID)
	}
	pops, err := r.Store.POPs(ctx, jobID)
	if err != nil {
		return err
	}
	var addrs []string
	for _, p := range pops {
		if p.Code == b.POP {
			addrs = p.Addresses
		}
	}
	tasks, err := r.Store.PendingTasks(ctx, b, job.Variants())
	if err != nil {
		return err
	}
	if len(tasks) == 0 || len(addrs) == 0 {
		_, err := r.Store.RecordResults(ctx, b, nil, BatchDone)
		return err
	}
	if err := r.Store.ClaimBatch(ctx, b, r.AgentID, len(tasks)); err != nil {
		return err
	}

	// Fetches end at the job's deadline in every process, and at once when
	// this process stops the job.
	fetchCtx, release := r.Cancels.Watch(ctx, jobID)
	defer release()
	fetchCtx, cancel := context.WithDeadline(fetchCtx, job.TimeoutAt)
	defer cancel()

	complete, status, err := r.fetchAll(ctx, fetchCtx, job, b, addrs, tasks, drain)
	if err != nil {
		return err
	}
	switch {
	case status.Terminal():
		return nil
	case !r.Now().Before(job.TimeoutAt):
		return endAtDeadline(ctx, r.Store, r.Cancels, r.Now(), jobID)
	case !complete:
		return ErrInterrupted
	}
	return nil
}

// fetchAll feeds the batch's tasks to the pool and records the results. It
// reports whether every task got a result, and the job's status as last seen.
func (r *Runner) fetchAll(ctx, fetchCtx context.Context, job *Job, b Batch, addrs []string, tasks []Task, drain <-chan struct{}) (bool, Status, error) {
	// Room for every task: a fetcher never blocks handing back a result,
	// even when this batch gives up early.
	out := make(chan poolDone, len(tasks))
	fed := make(chan int, 1)
	stopFeeding := make(chan struct{})
	budget := time.NewTimer(r.Budget)
	defer budget.Stop()
	go func() {
		n := 0
		defer func() { fed <- n }()
		for _, t := range tasks {
			req := FetchRequest{URL: t.URL, Addresses: addrs, Headers: variantHeaders(job.Headers, t.Variant), Verify: job.Verify, POP: b.POP, Variant: t.Variant}
			w := poolWork{ctx: fetchCtx, req: req, task: t, out: out}
			select {
			case r.Pool.in <- w:
				n++
			case <-fetchCtx.Done():
				return
			case <-stopFeeding:
				return
			case <-drain:
				return
			case <-budget.C:
				return
			}
		}
	}()

	ticker := time.NewTicker(r.FlushInterval)
	defer ticker.Stop()
	lastStatus := r.Now()
	pending := make([]Result, 0, r.FlushEvery)
	status := job.Status
	received, fedCount := 0, -1
	flush := func(state BatchState) error {
		st, err := r.Store.RecordResults(ctx, b, pending, state)
		if err != nil {
			return fmt.Errorf("record results of batch %d of job %s: %w", b.Seq, b.JobID, err)
		}
		pending = pending[:0]
		lastStatus = r.Now()
		status = st
		if st.Terminal() && fetchCtx.Err() == nil {
			close(stopFeeding)
			r.Cancels.Cancel(b.JobID)
		}
		return nil
	}
	for fedCount < 0 || received < fedCount {
		select {
		case d := <-out:
			received++
			if fetchCtx.Err() != nil && !d.res.OK {
				continue // aborted, not done: the task stays pending
			}
			d.res.URLIndex, d.res.POP, d.res.Variant = d.task.URLIndex, b.POP, d.task.Variant
			d.res.At = r.Now()
			if r.Observer != nil {
				r.Observer.Observe(d.res)
			}
			pending = append(pending, d.res)
			if len(pending) >= r.FlushEvery {
				if err := flush(BatchRunning); err != nil {
					return false, status, err
				}
			}
		case n := <-fed:
			fedCount = n
		case <-ticker.C:
			if len(pending) > 0 || r.Now().Sub(lastStatus) >= r.StatusInterval {
				if err := flush(BatchRunning); err != nil {
					return false, status, err
				}
			}
		}
	}
	complete := fedCount == len(tasks) && fetchCtx.Err() == nil
	final := BatchPending
	if complete {
		final = BatchDone
	}
	if err := flush(final); err != nil {
		return false, status, err
	}
	return complete, status, nil
}

// variantHeaders are the job's headers with the variant's Accept-Encoding.
func variantHeaders(headers []string, variant string) []string {
	if variant == "" {
		return headers
	}
	out := make([]string, 0, len(headers)+1)
	for _, h := range headers {
		if name, _ := ParseHeader(h); !strings.EqualFold(name, "Accept-Encoding") {
			out = append(out, h)
		}
	}
	return append(out, "Accept-Encoding: "+variant)
}
