package agent

import (
	"context"
	"fmt"
	"slices"

	"prewarm/internal/warm"
)

// RunRewarms fetches a keep-warm job's due re-warms at pop, sending the
// job's refresh header (when it has one, so that the POP fetches from the
// origin and stores), and records when each is due next. Re-warms already
// recorded by an earlier run of the same entry are skipped.
func (r *Runner) RunRewarms(ctx context.Context, jobID, pop string, rws []warm.Rewarm) error {
	job, pops, err := r.readJob(ctx, jobID)
	if err != nil || job.Status.Terminal() {
		return err
	}
	var addrs []string
	for _, p := range pops {
		if p.Code == pop {
			addrs = p.Addresses
		}
	}
	tasks, err := r.Store.RewarmTasks(ctx, jobID, pop, rws)
	if err != nil || len(tasks) == 0 {
		return err
	}
	fetchCtx, release := r.Cancels.Watch(ctx, jobID)
	defer release()
	fetchCtx, cancel := context.WithDeadline(fetchCtx, job.KeepWarmUntil)
	defer cancel()
	out := make(chan poolDone, len(tasks))
	started := r.startRewarms(fetchCtx, job, pop, addrs, tasks, out)
	results := make([]warm.Result, 0, started)
	for range started {
		d := <-out
		if fetchCtx.Err() != nil && !d.res.OK {
			continue // aborted (the job ended, the process stops): not a result
		}
		d.res.URLIndex, d.res.POP, d.res.Variant, d.res.At = d.task.URLIndex, pop, d.task.Variant, r.Now()
		d.res.KeepPlan(job, false)
		if r.Observer != nil {
			r.Observer.Observe(d.res)
		}
		results = append(results, d.res)
	}
	// What was fetched is recorded even when the step was cut short.
	recCtx, cancelRec := context.WithTimeout(context.WithoutCancel(ctx), r.RecordTimeout)
	defer cancelRec()
	if err := r.Store.RecordRewarms(recCtx, jobID, pop, results); err != nil {
		return fmt.Errorf("record re-warms of job %s at %s: %w", jobID, pop, err)
	}
	if len(results) < len(tasks) && ctx.Err() != nil {
		return warm.ErrInterrupted // the rest, still queued, go again
	}
	return nil
}

// startRewarms hands the re-warms to the pool, each once the job's and
// its host's budgets allow, and returns how many it started.
func (r *Runner) startRewarms(ctx context.Context, job *warm.Job, pop string, addrs []string, tasks []warm.Task, out chan<- poolDone) int {
	headers := job.Headers
	if job.RefreshHeader != "" {
		headers = append(slices.Clone(headers), job.RefreshHeader)
	}
	started := 0
	for _, t := range tasks {
		w := poolWork{ctx: ctx, task: t, out: out, req: warm.FetchRequest{URL: t.URL, Addresses: addrs,
			Headers: variantHeaders(headers, t.Variant), POP: pop, Variant: t.Variant}}
		if r.Budgets != nil {
			release, err := r.Budgets.Acquire(ctx, r.Budgets.Asks(job, warm.URLHost(t.URL)), nil)
			if err != nil {
				break
			}
			w.release = release
		}
		if err := r.Pool.Start(ctx, w); err != nil {
			if w.release != nil {
				w.release()
			}
			break
		}
		started++
	}
	return started
}
