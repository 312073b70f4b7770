package warm

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"
)

// Planner turns an accepted job into queued batches: it resolves the POPs,
// probes every URL's size through an edge (catching URLs that fail before
// any warming), and queues one batch per POP per range of URLs. It works a
// chunk of URLs at a time and checkpoints after each, so warming starts
// before a large job is fully planned and a crash resumes where it stopped.
type Planner struct {
	Store    Store
	Resolver Resolver
	Prober   Fetcher
	Log      *slog.Logger
	Now      func() time.Time

	ChunkSize        int // URLs probed and planned per checkpoint
	BatchSize        int // URLs per batch (one POP); ChunkSize is a multiple of it
	ProbeConcurrency int
	// Budget bounds one run of Plan; past it, Plan checkpoints and returns
	// ErrInterrupted, so a planner that dies is noticed and resumed soon.
	Budget time.Duration
}

// Plan plans one job. It is safe to run again after a crash or a retry.
func (p *Planner) Plan(ctx context.Context, jobID string) error {
	job, err := p.Store.Job(ctx, jobID)
	if err != nil {
		return err
	}
	if job.Status.Terminal() {
		return nil
	}
	if !p.Now().Before(job.TimeoutAt) {
		return nil // the timeout step ends it
	}
	if job.Status == StatusCreated {
		if _, err := p.Store.Transition(ctx, jobID, []Status{StatusCreated}, StatusInProgress, ""); err != nil {
			return err
		}
	}
	ctx, cancel := context.WithDeadline(ctx, job.TimeoutAt)
	defer cancel()

	pops, err := p.Store.POPs(ctx, jobID)
	if err != nil {
		return err
	}
	if len(pops) == 0 {
		pops = p.Resolver.Resolve(ctx, job.CFDomain, job.Targets)
		if err := p.Store.SavePOPs(ctx, jobID, pops); err != nil {
			return fmt.Errorf("save pops: %w", err)
		}
	}
	usable := usablePOPs(pops)
	if len(usable) == 0 {
		_, err := p.Store.Transition(ctx, jobID, []Status{StatusInProgress}, StatusFailed, noPOPMessage(pops))
		return err
	}

	prog, err := p.Store.Progress(ctx, jobID)
	if err != nil {
		return err
	}
	started := p.Now()
	for from := prog.PlannedURLs; from < job.URLCount; from += p.ChunkSize {
		if p.Now().Sub(started) > p.Budget {
			return ErrInterrupted
		}
		if cur, err := p.Store.Job(ctx, jobID); err != nil {
			return err
		} else if cur.Status.Terminal() {
			return nil
		}
		to := min(from+p.ChunkSize, job.URLCount)
		if err := p.planChunk(ctx, job, usable, from, to); err != nil {
			if ctx.Err() != nil && errors.Is(err, context.DeadlineExceeded) {
				return nil // the job timed out while planning; the timeout step ends it
			}
			return err
		}
	}
	return p.Store.FinishPlanning(ctx, jobID)
}

func (p *Planner) planChunk(ctx context.Context, job *Job, usable []POPState, from, to int) error {
	urls, err := p.Store.URLs(ctx, job.ID, from, to)
	if err != nil {
		return err
	}
	p.probe(ctx, job, usable, urls)
	if err := ctx.Err(); err != nil {
		return err // probes were cut short; their errors are not the URLs' fault
	}
	now := p.Now()
	chunk := PlanChunk{URLs: urls, PlannedURLs: to}
	okInRange := make([]int, 0, len(urls)) // URL indexes that passed
	for _, u := range urls {
		if u.Error != "" {
			for _, pop := range usable {
				chunk.Failed = append(chunk.Failed, Result{URLIndex: u.Index, POP: pop.Code, Error: u.Error, At: now})
			}
			continue
		}
		okInRange = append(okInRange, u.Index)
	}
	for start := from; start < to; start += p.BatchSize {
		end := min(start+p.BatchSize, to)
		if !anyIn(okInRange, start, end) {
			continue
		}
		for i, pop := range usable {
			seq := (start/p.BatchSize)*len(usable) + i
			chunk.Batches = append(chunk.Batches, Batch{JobID: job.ID, Seq: seq, POP: pop.Code, From: start, To: end})
		}
	}
	return p.Store.SavePlanChunk(ctx, job.ID, chunk)
}

// probe fills Size, Error and Probed of each URL. URLs are spread over the
// usable POPs; a network failure moves on to the next POP (up to three),
// while an HTTP error is the URL's own failure.
func (p *Planner) probe(ctx context.Context, job *Job, usable []POPState, urls []URL) {
	work := make(chan int)
	var wg sync.WaitGroup
	for range max(1, min(p.ProbeConcurrency, len(urls))) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				p.probeOne(ctx, job, usable, &urls[i])
			}
		}()
	}
	for i := range urls {
		if urls[i].Probed {
			continue
		}
		select {
		case work <- i:
		case <-ctx.Done():
		}
	}
	close(work)
	wg.Wait()
}

func (p *Planner) probeOne(ctx context.Context, job *Job, usable []POPState, u *URL) {
	var res Result
	size := int64(-1)
	for i := 0; i < len(usable) && i < 3; i++ {
		pop := usable[(u.Index+i)%len(usable)] // spread probes over the POPs
		size, res = p.Prober.Probe(ctx, FetchRequest{URL: u.URL, Addresses: pop.Addresses, Headers: job.Headers})
		if res.StatusCode != 0 || ctx.Err() != nil {
			break
		}
	}
	u.Probed = true
	u.Size = size
	u.Error = ""
	// Only an HTTP answer condemns the URL. When no POP answered at all,
	// the fault is the POPs': the URL is warmed anyway, its tasks fail at
	// those POPs, and the summary names the POPs, not the URL.
	if !res.OK && res.StatusCode != 0 {
		u.Error = "size probe: " + res.Error
	}
}

func usablePOPs(pops []POPState) []POPState {
	var out []POPState
	for _, p := range pops {
		if p.Usable() {
			out = append(out, p)
		}
	}
	return out
}

func anyIn(sorted []int, from, to int) bool {
	for _, i := range sorted {
		if i >= from && i < to {
			return true
		}
	}
	return false
}

func noPOPMessage(pops []POPState) string {
	var reasons []string
	for _, p := range pops {
		switch {
		case p.Error != "":
			reasons = append(reasons, p.Code+": "+p.Error)
		case p.Skipped:
			reasons = append(reasons, p.Code+": skipped (does not resolve)")
		}
		if len(reasons) == 5 {
			reasons = append(reasons, "…")
			break
		}
	}
	return "no POP could be used: " + strings.Join(reasons, "; ")
}
