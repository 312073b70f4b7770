package warm

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// JobFilter narrows a job listing.
type JobFilter struct {
	Status Status
	Limit  int
}

// TaskFilter narrows a task listing.
type TaskFilter struct {
	FailedOnly bool
	POP        string
	Limit      int // 0: no limit
}

// Stats are gauges of the whole system.
type Stats struct {
	Jobs    map[Status]int64 // jobs by status
	Queued  int64            // tasks of running jobs waiting for an agent
	Running int64            // tasks being fetched
}

// ServiceStore is what the service reads and writes.
type ServiceStore interface {
	DeadlineStore
	// WritesFailing says, while the database cannot write for want of
	// room, since when and why; nil otherwise.
	WritesFailing() error
	// CreateJob records a job and its URLs and queues its planning, in one
	// transaction.
	CreateJob(ctx context.Context, job *Job, urls []string) error
	// Overdue lists the jobs still running past their deadline at now.
	Overdue(ctx context.Context, now time.Time) ([]string, error)
	Job(ctx context.Context, id string) (*Job, error)
	ListJobs(ctx context.Context, f JobFilter) ([]Progress, error)
	POPs(ctx context.Context, jobID string) ([]POPState, error)
	Summary(ctx context.Context, id string) (*Summary, error)
	// Tasks streams a job's recorded tasks to fn.
	Tasks(ctx context.Context, jobID string, f TaskFilter, fn func(TaskRow) error) error
	// Stats is the state of every job at once, for monitoring.
	Stats(ctx context.Context) (Stats, error)
	// KeepWarm is how a keep-warm job's keeping stands.
	KeepWarm(ctx context.Context, job *Job) (*KeepWarm, error)
	// RunningByKey counts the jobs in progress, per key.
	RunningByKey(ctx context.Context) (Running, error)
	// DesiredCapacity is negative when it was never set.
	DesiredCapacity(ctx context.Context) (int, error)
	SetDesiredCapacity(ctx context.Context, n int) error
	// Agents lists the agents heard from since liveSince, ranked for work.
	Agents(ctx context.Context, liveSince time.Time) ([]Agent, error)
}

// DeadlineStore is what ending a job at its deadline needs.
type DeadlineStore interface {
	Progress(ctx context.Context, id string) (*Progress, error)
	// Transition moves a job to `to` if its status is one of `from`, and
	// reports whether it did.
	Transition(ctx context.Context, id string, from []Status, to Status, msg string) (bool, error)
}

// Canceler aborts the fetches of a job that run in this process (the
// agents' registry of running work).
type Canceler interface {
	Cancel(jobID string)
}

// Service is what the API (and the CLI) asks of the domain: the only way in.
type Service struct {
	Store    ServiceStore
	Selector Selector
	Limits   Limits
	// NotifyURL is told of the end of each job that names none.
	NotifyURL string
	Cancels   Canceler
	// Board, when set, answers progress reads of running jobs from memory.
	Board *Board
	// Resolver and Direct plan dry runs.
	Resolver Resolver
	Direct   DirectProber
	// Scaler, when set, sizes the machines the agents run on.
	Scaler Scaler
	// LiveWindow: an agent silent for longer is not listed.
	LiveWindow time.Duration
	NewID      func() string
	Now        func() time.Time

	runningMu  sync.Mutex
	runningNow Running
	runningAt  time.Time
}

// Submit checks a job request, records the job and queues its planning. The
// answer comes back before any planning: accepting a job is cheap whatever
// its size.
func (s *Service) Submit(ctx context.Context, spec JobSpec) (*Job, error) {
	if spec.NotifyURL == "" {
		spec.NotifyURL = s.NotifyURL
	}
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
	s.raiseFleet(ctx, spec.InstanceCount)
	return job, nil
}

// raiseFleet asks the platform for the machines a new job needs: its
// instance_count, else the desired capacity last set, and at least one. A
// platform that refuses does not fail the job: it runs on the agents that
// exist, and the scaler logs and reports the refusal (GET /instances).
func (s *Service) raiseFleet(ctx context.Context, instanceCount *int) {
	if s.Scaler == nil {
		return
	}
	n := 1
	if instanceCount != nil {
		n = *instanceCount
	} else if desired, err := s.Store.DesiredCapacity(ctx); err == nil {
		n = desired
	}
	_ = s.Scaler.Raise(ctx, max(n, 1))
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
	var p *Progress
	var err error
	if s.Board != nil {
		p, err = s.Board.Progress(ctx, id)
	} else {
		p, err = s.Store.Progress(ctx, id)
	}
	if err != nil {
		return nil, err
	}
	if p, err = s.withSharing(ctx, p); err != nil {
		return nil, err
	}
	return s.withKeepWarm(ctx, p)
}

// runningFresh is how long a count of the running jobs serves every
// progress read: a client polling each of 2,000 jobs costs one count a
// quarter second, not a count of every running job per read.
const runningFresh = 250 * time.Millisecond

// withSharing adds to a running job's progress the jobs running beside it
// (a copy: the board's is shared).
func (s *Service) withSharing(ctx context.Context, p *Progress) (*Progress, error) {
	if p.Status != StatusInProgress {
		return p, nil
	}
	running, err := s.running(ctx)
	if err != nil {
		return nil, err
	}
	cp := *p
	running.fill(&cp.Counts, p.Owner)
	return &cp, nil
}

// running is the count of the running jobs per key, at most runningFresh
// old.
func (s *Service) running(ctx context.Context) (Running, error) {
	s.runningMu.Lock()
	defer s.runningMu.Unlock()
	if now := s.Now(); s.runningAt.IsZero() || now.Sub(s.runningAt) >= runningFresh || now.Before(s.runningAt) {
		r, err := s.Store.RunningByKey(ctx)
		if err != nil {
			return nil, err
		}
		s.runningNow, s.runningAt = r, now
	}
	return s.runningNow, nil
}

// withKeepWarm adds a keep-warm job's keeping to its progress (a copy: the
// board's is shared).
func (s *Service) withKeepWarm(ctx context.Context, p *Progress) (*Progress, error) {
	if !p.KeepsWarm() {
		return p, nil
	}
	kw, err := s.Store.KeepWarm(ctx, &p.Job)
	if err != nil {
		return nil, err
	}
	cp := *p
	cp.KeepWarm = kw
	return &cp, nil
}

// Timeout ends a job whose deadline passed, unless it already ended.
func (s *Service) Timeout(ctx context.Context, id string) error {
	ended, err := EndAtDeadline(ctx, s.Store, s.Now(), id)
	if ended {
		s.Cancels.Cancel(id)
	}
	if s.Board != nil {
		s.Board.Forget(id)
	}
	return err
}

// EndOverdue ends every job still running past its deadline, and says
// which it looked at. Every
// control node runs it often (a job ends at most a sweep late); when two
// find the same job, one ends it and the other finds it ended. A sweep
// costs one read, where a queued entry a job cost an insert, a fetch and a
// completion each.
func (s *Service) EndOverdue(ctx context.Context) ([]string, error) {
	ids, err := s.Store.Overdue(ctx, s.Now())
	if err != nil {
		return nil, err
	}
	var ended []string
	var errs []error
	for _, id := range ids {
		if err := s.Timeout(ctx, id); err != nil && !errors.Is(err, ErrNotFound) {
			errs = append(errs, err)
		} else if err == nil {
			ended = append(ended, id)
		}
	}
	return ended, errors.Join(errs...)
}

// EndAtDeadline moves a job whose deadline passed to TIMEOUT and reports
// whether this call ended it (the caller then aborts its fetches).
// Whoever notices first — the scheduled timeout step or a batch that
// reached the deadline — ends it; the others find it ended.
func EndAtDeadline(ctx context.Context, st DeadlineStore, now time.Time, id string) (bool, error) {
	p, err := st.Progress(ctx, id)
	if err != nil {
		return false, err
	}
	if p.Status.Terminal() {
		return false, nil
	}
	if now.Before(p.Deadline()) {
		return false, fmt.Errorf("job %s ends at %s, not yet", id, p.Deadline().Format(time.RFC3339))
	}
	if p.KeepsWarm() && p.Warmed {
		// A keep-warm job whose first warm is done ends when the keeping
		// does (its deadline): it did its work.
		msg := "kept warm until " + p.KeepWarmUntil.UTC().Format(time.RFC3339)
		return st.Transition(ctx, id, []Status{StatusInProgress}, StatusFinished, msg)
	}
	msg := fmt.Sprintf("timed out after %s with %d of %d tasks done", p.Timeout, p.Done, p.Total)
	return st.Transition(ctx, id, []Status{StatusCreated, StatusInProgress}, StatusTimeout, msg)
}

// SetCapacity sets how many agents take work; the rest stand by.
func (s *Service) SetCapacity(ctx context.Context, n int) error {
	if err := CheckCapacity("DesiredCapacity", n); err != nil {
		return err
	}
	if err := s.Store.SetDesiredCapacity(ctx, n); err != nil {
		return err
	}
	if s.Scaler == nil {
		return nil
	}
	if err := s.Scaler.Set(ctx, n); err != nil {
		return fmt.Errorf("desired capacity %d ranks the live agents, but the machines could not be sized: %w", n, err)
	}
	return nil
}

// Fleet is the desired capacity and the live agents.
func (s *Service) Fleet(ctx context.Context) (*Fleet, error) {
	desired, err := s.Store.DesiredCapacity(ctx)
	if err != nil {
		return nil, err
	}
	agents, err := s.Store.Agents(ctx, s.Now().Add(-s.LiveWindow))
	if err != nil {
		return nil, err
	}
	fleet := &Fleet{Desired: Working(desired, len(agents)), Agents: agents}
	if s.Scaler != nil {
		count, err := s.Scaler.Count(ctx)
		fleet.Platform, fleet.PlatformErr = &count, err
	}
	return fleet, nil
}

// Healthy reports whether the database answers.
func (s *Service) Healthy(ctx context.Context) error {
	if _, err := s.Store.DesiredCapacity(ctx); err != nil {
		return err
	}
	return s.Store.WritesFailing()
}

// Job is a job as submitted, with its state.
func (s *Service) Job(ctx context.Context, id string) (*Job, error) { return s.Store.Job(ctx, id) }

// JobDetail is a job's progress read from the store (never a snapshot)
// with its POPs.
func (s *Service) JobDetail(ctx context.Context, id string) (*Progress, []POPState, error) {
	p, err := s.Store.Progress(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	if p, err = s.withSharing(ctx, p); err != nil {
		return nil, nil, err
	}
	pops, err := s.Store.POPs(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	p, err = s.withKeepWarm(ctx, p)
	return p, pops, err
}

// ListJobs lists recent jobs, newest first.
func (s *Service) ListJobs(ctx context.Context, f JobFilter) ([]Progress, error) {
	list, err := s.Store.ListJobs(ctx, f)
	if err != nil {
		return nil, err
	}
	for i := range list {
		p, err := s.withSharing(ctx, &list[i])
		if err != nil {
			return nil, err
		}
		list[i] = *p
	}
	return list, nil
}

// Summary is a job's failure report.
func (s *Service) Summary(ctx context.Context, id string) (*Summary, error) {
	return s.Store.Summary(ctx, id)
}

// Tasks streams a job's recorded tasks.
func (s *Service) Tasks(ctx context.Context, id string, f TaskFilter, fn func(TaskRow) error) error {
	return s.Store.Tasks(ctx, id, f, fn)
}

// Stats are the gauges of the whole system.
func (s *Service) Stats(ctx context.Context) (Stats, error) { return s.Store.Stats(ctx) }
