package agent

import (
	"context"
	"fmt"
	"slices"
	"time"

	"prewarm/internal/warm"
)

// RunRewarms fetches a keep-warm job's due re-warms at pop, sending the
// job's refresh header (when it has one, so that the POP fetches from the
// origin and stores), and records when each is due next. Re-warms already
// recorded by an earlier run of the same entry are skipped.
//
// A re-warm's host is paused like any fetch's when it pushes back (429,
// 503, the circuit breaker): such a re-warm is put off until the pause
// ends — recorded as due then, neither done nor failed — rather than
// waited for here, so a long pause holds no worker.
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
	started, results := r.startRewarms(fetchCtx, job, pop, addrs, tasks, out)
	for range started {
		d := <-out
		if fetchCtx.Err() != nil && !d.res.OK {
			continue // aborted (the job ended, the process stops): not a result
		}
		results = append(results, r.rewarmResult(ctx, job, pop, d))
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

// rewarmResult is what a fetched re-warm found and when it is due next: a
// throttled one is put off until its host's pause ends; a failed one is
// tried again after a wait that doubles with each failure in a row, and
// not before its host's pause (the circuit breaker's) ends.
func (r *Runner) rewarmResult(ctx context.Context, job *warm.Job, pop string, d poolDone) warm.Result {
	res := d.res
	res.URLIndex, res.POP, res.Variant, res.At = d.task.URLIndex, pop, d.task.Variant, r.Now()
	if r.Budgets != nil && r.Budgets.Observe(ctx, job.ID, d.task.URL, res) {
		return r.deferRewarm(job, pop, d.task)
	}
	res.KeepPlan(job, false, d.task.Failing)
	if r.Budgets != nil && !res.OK && !res.RewarmAt.IsZero() {
		if resume := r.Budgets.PausedUntil(warm.URLHost(d.task.URL)); resume.After(res.RewarmAt) {
			res.RewarmAt = job.DeferRewarm(resume)
		}
	}
	if r.Observer != nil {
		r.Observer.Observe(res)
	}
	return res
}

// minDefer is the least a re-warm is put off by: a throttled answer's
// pause is at least this long (see throttleBase), and a re-warm due again
// at once would only meet the same pause.
const minDefer = time.Second

// deferRewarm puts task off until its host's pause ends.
func (r *Runner) deferRewarm(job *warm.Job, pop string, t warm.Task) warm.Result {
	now := r.Now()
	resume := now.Add(minDefer)
	if r.Budgets != nil {
		if paused := r.Budgets.PausedUntil(warm.URLHost(t.URL)); paused.After(resume) {
			resume = paused
		}
	}
	return warm.Result{URLIndex: t.URLIndex, POP: pop, Variant: t.Variant, At: now, Keep: true, Deferred: true,
		RewarmAt: job.DeferRewarm(resume)}
}

// startRewarms hands the re-warms to the pool, each once the job's and
// its host's budgets allow, and returns how many it started. A re-warm
// whose host is paused is not started but put off (in deferred), as are
// those still waiting for their budgets when the step's budget runs out.
func (r *Runner) startRewarms(ctx context.Context, job *warm.Job, pop string, addrs []string, tasks []warm.Task, out chan<- poolDone) (started int, deferred []warm.Result) {
	headers := job.Headers
	if job.RefreshHeader != "" {
		headers = append(slices.Clone(headers), job.RefreshHeader)
	}
	waitCtx, cancel := context.WithTimeout(ctx, r.Budget)
	defer cancel()
	for i, t := range tasks {
		if r.Budgets != nil && !r.Budgets.PausedUntil(warm.URLHost(t.URL)).IsZero() {
			deferred = append(deferred, r.deferRewarm(job, pop, t))
			continue
		}
		w := poolWork{ctx: ctx, task: t, out: out, req: warm.FetchRequest{URL: t.URL, Addresses: addrs,
			Headers: variantHeaders(headers, t.Variant), POP: pop, Variant: t.Variant}}
		if r.Budgets != nil {
			release, err := r.Budgets.Acquire(waitCtx, r.Budgets.Asks(job, warm.URLHost(t.URL)), nil)
			if err != nil {
				return started, r.deferRest(ctx, job, pop, tasks[i:], deferred)
			}
			w.release = release
		}
		if err := r.Pool.Start(waitCtx, w); err != nil {
			if w.release != nil {
				w.release()
			}
			return started, r.deferRest(ctx, job, pop, tasks[i:], deferred)
		}
		started++
	}
	return started, deferred
}

// deferRest puts off the re-warms a step could not start in its budget;
// when the step itself ends (the job ended, the process stops) they stay
// queued instead, for the entry's next run.
func (r *Runner) deferRest(ctx context.Context, job *warm.Job, pop string, rest []warm.Task, deferred []warm.Result) []warm.Result {
	if ctx.Err() != nil {
		return deferred
	}
	for _, t := range rest {
		deferred = append(deferred, r.deferRewarm(job, pop, t))
	}
	return deferred
}
