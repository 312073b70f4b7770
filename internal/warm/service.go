package warm

import (
	"context"
	"fmt"
	"time"
)

// Service is what the API (and the CLI) asks of the domain.
type Service struct {
	Store    Store
	Selector Selector
	Limits   Limits
	Cancels  *Cancels
	// Board, when set, answers progress reads of running jobs from memory.
	Board *Board
	NewID func() string
	Now   func() time.Time
}

// Submit checks a job request, records the job and queues its planning. The
// answer comes back before any planning: accepting a job is cheap whatever
// its size.
func (s *Service) Submit(ctx context.Context, spec JobSpec) (*Job, error) {
	job, urls, err := NewJob(spec, s.Selector, s.Limits, s.NewID(), s.Now())
	if err != nil {
		return nil, err
	}
	if spec.InstanceCount != nil {
		if err := s.Store.SetDesiredCapacity(ctx, *spec.InstanceCount); err != nil {
			return nil, fmt.Errorf("set desired capacity: %w", err)
		}
	}
	if err := s.Store.CreateJob(ctx, job, urls); err != nil {
		return nil, fmt.Errorf("create job: %w", err)
	}
	return job, nil
}

// Stop force-stops one job: its queued tasks are dropped and its fetches in
// flight aborted. Other jobs are untouched. Stopping a job that already
// ended is a conflict.
func (s *Service) Stop(ctx context.Context, id string) (*Job, error) {
	ok, err := s.Store.Transition(ctx, id, []Status{StatusCreated, StatusInProgress}, StatusStopped, "stopped by request")
	if err != nil {
		return nil, err
	}
	job, err := s.Store.Job(ctx, id)
	if err != nil {
		return nil, err
	}
	if !ok {
		return job, fmt.Errorf("job %s is already %s: %w", id, job.Status, ErrConflict)
	}
	s.Cancels.Cancel(id)
	if s.Board != nil {
		s.Board.Forget(id)
	}
	return job, nil
}

// Progress is a job's progress as clients poll it: from the board when
// there is one (at most a refresh period old), from the store otherwise.
func (s *Service) Progress(ctx context.Context, id string) (*Progress, error) {
	if s.Board != nil {
		return s.Board.Progress(ctx, id)
	}
	return s.Store.Progress(ctx, id)
}

// Timeout ends a job whose deadline passed, unless it already ended.
func (s *Service) Timeout(ctx context.Context, id string) error {
	err := endAtDeadline(ctx, s.Store, s.Cancels, s.Now(), id)
	if s.Board != nil {
		s.Board.Forget(id)
	}
	return err
}

// endAtDeadline moves a job whose deadline passed to TIMEOUT and aborts its
// fetches in this process. Whoever notices first — the scheduled timeout
// step or a batch that reached the deadline — ends it; the others find it
// ended.
func endAtDeadline(ctx context.Context, st Store, cancels *Cancels, now time.Time, id string) error {
	p, err := st.Progress(ctx, id)
	if err != nil {
		return err
	}
	if p.Status.Terminal() {
		return nil
	}
	if now.Before(p.TimeoutAt) {
		return fmt.Errorf("job %s times out at %s, not yet", id, p.TimeoutAt.Format(time.RFC3339))
	}
	msg := fmt.Sprintf("timed out after %s with %d of %d tasks done", p.Timeout, p.Done, p.Total)
	if _, err := st.Transition(ctx, id, []Status{StatusCreated, StatusInProgress}, StatusTimeout, msg); err != nil {
		return err
	}
	cancels.Cancel(id)
	return nil
}

// SetCapacity sets how many agents take work; the rest stand by.
func (s *Service) SetCapacity(ctx context.Context, n int) error {
	if err := CheckCapacity("DesiredCapacity", n); err != nil {
		return err
	}
	return s.Store.SetDesiredCapacity(ctx, n)
}
