package queue

import (
	"context"
	"errors"
	"time"

	"github.com/riverqueue/river"

	"prewarm/internal/warm"
)

// Control is the work a serve process does besides fetching.
type Control struct {
	Plan    func(ctx context.Context, jobID string) error
	Timeout func(ctx context.Context, jobID string) error
}

// Outcome translates the domain's answers into River's: an interrupted
// step continues at once without using up an attempt; work for a job that
// no longer exists is cancelled rather than retried.
func Outcome(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, warm.ErrInterrupted):
		return river.JobSnooze(0)
	case errors.Is(err, warm.ErrNotFound):
		return river.JobCancel(err)
	}
	return err
}

type planWorker struct {
	river.WorkerDefaults[PlanArgs]
	plan    func(ctx context.Context, jobID string) error
	timeout time.Duration
}

func (w *planWorker) Timeout(*river.Job[PlanArgs]) time.Duration { return w.timeout }

func (w *planWorker) Work(ctx context.Context, j *river.Job[PlanArgs]) error {
	return Outcome(w.plan(ctx, j.Args.JobID))
}

type timeoutWorker struct {
	river.WorkerDefaults[TimeoutArgs]
	timeout func(ctx context.Context, jobID string) error
}

func (w *timeoutWorker) Work(ctx context.Context, j *river.Job[TimeoutArgs]) error {
	return Outcome(w.timeout(ctx, j.Args.JobID))
}

// NextRetry retries a timeout soon: it may have run a moment early on a node
// whose clock is behind.
func (w *timeoutWorker) NextRetry(*river.Job[TimeoutArgs]) time.Time {
	return time.Now().Add(time.Second)
}
