package agent

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"prewarm/internal/warm"
)

// BatchStore is what working a batch reads and writes.
type BatchStore interface {
	warm.DeadlineStore
	Job(ctx context.Context, id string) (*warm.Job, error)
	Batch(ctx context.Context, jobID string, seq int) (warm.Batch, error)
	POPs(ctx context.Context, jobID string) ([]warm.POPState, error)
	// PendingTasks lists the batch's tasks (each URL in each variant) that
	// have no result yet and whose URL passed the probe.
	PendingTasks(ctx context.Context, b warm.Batch, variants []string) ([]warm.Task, error)
	// SetWaiting says what the job's fetches wait for (a budget).
	SetWaiting(ctx context.Context, jobID, what string) error
	// RewarmTasks are the tasks of a keep-warm job's queued re-warms at
	// pop; RecordRewarms writes what they found.
	RewarmTasks(ctx context.Context, jobID, pop string, rws []warm.Rewarm) ([]warm.Task, error)
	RecordRewarms(ctx context.Context, jobID, pop string, results []warm.Result) error
}

// Observer hears of every recorded task, for metrics.
type Observer interface {
	Observe(r warm.Result)
}

// Runner fetches the tasks of one batch on an agent, handing its claim,
// its results as they come and its end to the agent's Writer, which writes
// them in bulk with every other batch's. It stops early — flushing what it has — when the job ends
// (stop, timeout), when the agent is told to stand by, or when the batch
// used up its time budget; the batch is then continued later by whichever
// agent picks it up, skipping the tasks already recorded.
type Runner struct {
	Store   BatchStore
	Writer  *Writer
	Pool    *Pool
	Cancels *Cancels
	AgentID string
	Log     *slog.Logger
	Now     func() time.Time
	// Observer, if set, hears of every result this runner records.
	Observer Observer
	// Budgets, if set, gives each fetch leave to start under its job's and
	// its host's budgets, and pauses hosts that push back.
	Budgets *Budgets

	FlushEvery     int           // results per update handed to the writer
	FlushInterval  time.Duration // longest wait before handing over what there is
	StatusInterval time.Duration // how often a quiet batch re-reads its job's status
	Budget         time.Duration // after this, no new fetch starts; the batch continues later
	// RecordTimeout bounds the wait for a batch's last update to be written
	// after the batch's context ended (a shutdown): what was fetched is
	// still recorded.
	RecordTimeout time.Duration

	// slots holds a token per batch fetching (nil: no bound). An agent
	// takes more batches from the queue than it fetches at once: a batch
	// that has fetched everything waits for its last write — a round trip
	// or six to a far database, behind the write before it — without a
	// slot, while the next one fetches.
	slotsMu sync.Mutex
	slots   chan struct{}

	jobsMu   sync.Mutex
	jobs     map[string]jobRead
	jobReads singleflight.Group

	notes waitingNotes
}

// jobRead is a job and its POPs as a batch of it last read them. The
// batches of one job share it for jobReadTTL, instead of reading the same
// rows a round trip apiece from a database that may be far; the job's end
// reaches them sooner through the writer's statuses.
type jobRead struct {
	job  *warm.Job
	pops []warm.POPState
	at   time.Time
}

const (
	jobReadTTL     = 5 * time.Second
	jobReadTimeout = 30 * time.Second
)

// readJob returns the job, its status as the writer last saw it if that is
// newer news, and its POPs.
func (r *Runner) readJob(ctx context.Context, jobID string) (*warm.Job, []warm.POPState, error) {
	now := r.Now()
	r.jobsMu.Lock()
	jr, ok := r.jobs[jobID]
	r.jobsMu.Unlock()
	if !ok || now.Sub(jr.at) >= jobReadTTL {
		// The batches of a job that start together share one read: a far
		// agent's first batches of a job would each wait their turn for a
		// connection to read the same rows. The read outlives a batch that
		// stops waiting for it, for the others.
		read := r.jobReads.DoChan(jobID, func() (any, error) {
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), jobReadTimeout)
			defer cancel()
			return r.readJobNow(rctx, jobID, now)
		})
		select {
		case res := <-read:
			if res.Err != nil {
				return nil, nil, res.Err
			}
			jr = res.Val.(jobRead)
		case <-ctx.Done():
			return nil, nil, ctx.Err()
		}
	}
	job := *jr.job
	if st := r.Writer.Status(jobID); st.Terminal() {
		job.Status = st
	}
	return &job, jr.pops, nil
}

// readJobNow reads the job and its POPs, both at once (one round trip, not
// two), and keeps them for jobReadTTL.
func (r *Runner) readJobNow(ctx context.Context, jobID string, now time.Time) (jobRead, error) {
	var job *warm.Job
	var pops []warm.POPState
	var jobErr, popsErr error
	var wg sync.WaitGroup
	wg.Go(func() { job, jobErr = r.Store.Job(ctx, jobID) })
	wg.Go(func() { pops, popsErr = r.Store.POPs(ctx, jobID) })
	wg.Wait()
	if err := cmp.Or(jobErr, popsErr); err != nil {
		return jobRead{}, err
	}
	jr := jobRead{job: job, pops: pops, at: now}
	r.jobsMu.Lock()
	defer r.jobsMu.Unlock()
	if r.jobs == nil {
		r.jobs = map[string]jobRead{}
	}
	for id, old := range r.jobs {
		if now.Sub(old.at) >= jobReadTTL {
			delete(r.jobs, id)
		}
	}
	r.jobs[jobID] = jr
	return jr, nil
}

// SetFetching bounds the batches fetching at once to n (0: no bound), for
// the batches taken from now on.
func (r *Runner) SetFetching(n int) {
	r.slotsMu.Lock()
	defer r.slotsMu.Unlock()
	r.slots = nil
	if n > 0 {
		r.slots = make(chan struct{}, n)
	}
}

// fetchSlot waits for a slot to fetch in and returns its release; it gives
// up (warm.ErrInterrupted) when the agent drains.
func (r *Runner) fetchSlot(ctx context.Context, drain <-chan struct{}) (func(), error) {
	r.slotsMu.Lock()
	slots := r.slots
	r.slotsMu.Unlock()
	if slots == nil {
		return func() {}, nil
	}
	select {
	case slots <- struct{}{}:
		var once sync.Once
		return func() { once.Do(func() { <-slots }) }, nil
	case <-drain:
		return nil, warm.ErrInterrupted
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Run works batch seq of the job; see RunBatch.
func (r *Runner) Run(ctx context.Context, jobID string, seq int, drain <-chan struct{}) error {
	return r.RunBatch(ctx, warm.Batch{JobID: jobID, Seq: seq}, drain)
}

// RunBatch works one batch: b names it (job and sequence number) and, when
// its queue entry carries them, its POP and URL range, which spares a read.
// drain is closed when the agent must stop taking new work (standing by or
// shutting down). It returns warm.ErrInterrupted when the batch must be
// continued later.
func (r *Runner) RunBatch(ctx context.Context, b warm.Batch, drain <-chan struct{}) error {
	jobID := b.JobID
	job, pops, err := r.readJob(ctx, jobID)
	if err != nil || job.Status.Terminal() {
		return err
	}
	if b.POP == "" || b.To <= b.From {
		if b, err = r.Store.Batch(ctx, jobID, b.Seq); err != nil {
			return err
		}
	}
	if !r.Now().Before(job.Deadline()) {
		return r.endAtDeadline(ctx, jobID)
	}
	addrs, tasks, err := r.work(ctx, job, pops, b)
	if err != nil {
		return err
	}
	if len(tasks) == 0 || len(addrs) == 0 {
		_, err := r.Writer.Write(ctx, warm.BatchUpdate{Batch: b, State: warm.BatchDone})
		return err
	}
	leave, err := r.fetchSlot(ctx, drain)
	if err != nil {
		return err
	}
	defer leave()
	if err := r.Writer.Send(ctx, warm.BatchUpdate{Batch: b, Agent: r.AgentID, Tasks: len(tasks)}); err != nil {
		return err
	}

	// Fetches end at the job's deadline in every process, and at once when
	// this process stops the job.
	fetchCtx, release := r.Cancels.Watch(ctx, jobID)
	defer release()
	fetchCtx, cancel := context.WithDeadline(fetchCtx, job.Deadline())
	defer cancel()

	br := r.newBatchRun(ctx, fetchCtx, job, b, tasks)
	br.fetched = leave
	complete, err := br.fetchAll(addrs, drain)
	switch {
	case err != nil:
		return err
	case br.status.Terminal():
		return nil
	case !r.Now().Before(job.Deadline()):
		return r.endAtDeadline(ctx, jobID)
	case !complete:
		return warm.ErrInterrupted
	}
	return nil
}

// work is the batch's POP addresses and the tasks it still has to do.
func (r *Runner) work(ctx context.Context, job *warm.Job, pops []warm.POPState, b warm.Batch) ([]string, []warm.Task, error) {
	var addrs []string
	for _, p := range pops {
		if p.Code == b.POP {
			addrs = p.Addresses
		}
	}
	tasks, err := r.Store.PendingTasks(ctx, b, job.Variants())
	return addrs, tasks, err
}

func (r *Runner) endAtDeadline(ctx context.Context, jobID string) error {
	ended, err := warm.EndAtDeadline(ctx, r.Store, r.Now(), jobID)
	if ended {
		r.Cancels.Cancel(jobID)
	}
	return err
}

// batchRun is one run of a batch: the tasks handed to the pool and the
// results waiting to be written.
type batchRun struct {
	r        *Runner
	ctx      context.Context // the step's: writes use it
	fetchCtx context.Context // the fetches': ends with the job
	job      *warm.Job
	b        warm.Batch
	tasks    []warm.Task

	out         chan poolDone
	retries     chan warm.Task // throttled tasks, to be fed again
	stopFeeding chan struct{}
	stopped     bool
	unresolved  int // tasks without a result to keep yet
	pending     []warm.Result
	status      warm.Status // the job's, as last seen
	lastStatus  time.Time
	fetched     func() // called once every fetch has ended
}

func (r *Runner) newBatchRun(ctx, fetchCtx context.Context, job *warm.Job, b warm.Batch, tasks []warm.Task) *batchRun {
	return &batchRun{
		r: r, ctx: ctx, fetchCtx: fetchCtx, job: job, b: b, tasks: tasks,
		// Room for every task: a fetcher never blocks handing back a
		// result, even when this batch gives up early.
		out:         make(chan poolDone, len(tasks)),
		retries:     make(chan warm.Task, len(tasks)),
		stopFeeding: make(chan struct{}),
		unresolved:  len(tasks),
		pending:     make([]warm.Result, 0, r.FlushEvery),
		status:      job.Status,
		lastStatus:  r.Now(),
	}
}

// fetchAll feeds the batch's tasks to the pool and records the results. It
// reports whether every task got a result.
func (br *batchRun) fetchAll(addrs []string, drain <-chan struct{}) (bool, error) {
	fed := make(chan int, 1)
	go func() { fed <- br.feed(addrs, drain) }()

	ticker := time.NewTicker(br.r.FlushInterval)
	defer ticker.Stop()
	received, fedCount := 0, -1
	for fedCount < 0 || received < fedCount {
		var err error
		select {
		case d := <-br.out:
			received++
			err = br.add(d)
		case n := <-fed:
			fedCount = n
		case <-ticker.C:
			if len(br.pending) > 0 || br.r.Now().Sub(br.lastStatus) >= br.r.StatusInterval {
				err = br.flush(warm.BatchRunning)
			}
		}
		if err != nil {
			br.stop()
			return false, err
		}
	}
	if br.fetched != nil {
		br.fetched() // the last write needs no fetch slot
	}
	complete := br.unresolved == 0 && br.fetchCtx.Err() == nil
	final := warm.BatchPending
	if complete {
		final = warm.BatchDone
	}
	return complete, br.flush(final)
}

// stop ends the feeding.
func (br *batchRun) stop() {
	if !br.stopped {
		br.stopped = true
		close(br.stopFeeding)
	}
}

// feed hands the tasks, then those to try again, to the pool, each once
// its budgets allow, until every task has a result, the job ends, the
// agent drains or the batch's time is up; it returns how many it handed
// over.
func (br *batchRun) feed(addrs []string, drain <-chan struct{}) int {
	ctx, cancel := context.WithTimeout(br.fetchCtx, br.r.Budget)
	defer cancel()
	go func() {
		select {
		case <-drain:
		case <-br.stopFeeding:
		case <-ctx.Done():
		}
		cancel()
	}()
	n := 0
	for next := 0; ; n++ {
		var t warm.Task
		if next < len(br.tasks) {
			t, next = br.tasks[next], next+1
		} else {
			select {
			case t = <-br.retries:
			case <-ctx.Done():
				return n
			}
		}
		w := poolWork{ctx: br.fetchCtx, task: t, out: br.out, req: warm.FetchRequest{URL: t.URL, Addresses: addrs,
			Headers: variantHeaders(br.job.Headers, t.Variant), Verify: br.job.Verify, POP: br.b.POP, Variant: t.Variant}}
		if br.r.Budgets != nil {
			release, err := br.r.Budgets.Acquire(ctx, br.r.Budgets.Asks(br.job, warm.URLHost(t.URL)), br.waiting)
			if err != nil {
				return n
			}
			w.release = release
		}
		if err := br.r.Pool.Start(ctx, w); err != nil {
			if w.release != nil {
				w.release()
			}
			return n
		}
	}
}

// waiting tells the job's readers what its fetches wait for.
func (br *batchRun) waiting(what string) { br.r.notes.note(br.ctx, br.r, br.job.ID, what) }

// add keeps one result for the next write. A fetch aborted because the job
// ended or the process stops is not a result: the task stays pending; nor
// is a throttled one: the task is fed again once its host's pause is over.
func (br *batchRun) add(d poolDone) error {
	if br.fetchCtx.Err() != nil && !d.res.OK {
		return nil
	}
	if br.r.Budgets != nil && br.r.Budgets.Observe(br.ctx, br.job.ID, d.task.URL, d.res) {
		br.retries <- d.task
		return nil
	}
	if br.unresolved--; br.unresolved == 0 {
		br.stop()
	}
	d.res.URLIndex, d.res.POP, d.res.Variant = d.task.URLIndex, br.b.POP, d.task.Variant
	d.res.At = br.r.Now()
	d.res.KeepPlan(br.job, true, 0)
	if br.r.Observer != nil {
		br.r.Observer.Observe(d.res)
	}
	br.pending = append(br.pending, d.res)
	if len(br.pending) >= br.r.FlushEvery {
		return br.flush(warm.BatchRunning)
	}
	return nil
}

// flush hands the pending results to the writer with the batch's state.
// A running batch goes on at once and learns its job's status as the
// writer last saw it; a batch that ends waits until everything it fetched
// is written. Once the job has ended, no more task is fed and the job's
// fetches here abort.
func (br *batchRun) flush(state warm.BatchState) error {
	up := warm.BatchUpdate{Batch: br.b, Results: br.pending, State: state}
	br.pending = make([]warm.Result, 0, br.r.FlushEvery) // the writer keeps the old one
	br.lastStatus = br.r.Now()
	if state == warm.BatchRunning {
		if err := br.r.Writer.Send(br.ctx, up); err != nil {
			return err
		}
		br.status = cmp.Or(br.r.Writer.Status(br.b.JobID), br.status)
	} else {
		ctx := br.ctx
		if ctx.Err() != nil {
			// The step was cut short (a shutdown): what was fetched is
			// still worth recording.
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(context.WithoutCancel(ctx), br.r.RecordTimeout)
			defer cancel()
		}
		st, err := br.r.Writer.Write(ctx, up)
		if err != nil {
			return fmt.Errorf("record results of batch %d of job %s: %w", br.b.Seq, br.b.JobID, err)
		}
		br.status = st
	}
	if br.status.Terminal() && br.fetchCtx.Err() == nil {
		br.stop()
		br.r.Cancels.Cancel(br.b.JobID)
	}
	return nil
}

// JobEnded is told by the writer of each job its writes find ended: the
// job's fetches in this process abort, and its end is logged once.
func (r *Runner) JobEnded(ctx context.Context, jobID string) {
	r.Cancels.Cancel(jobID)
	if r.Cancels.Ended(jobID) {
		r.logEnd(ctx, jobID)
	}
}

// logEnd says how a job ended, once per process.
func (r *Runner) logEnd(ctx context.Context, jobID string) {
	p, err := r.Store.Progress(ctx, jobID)
	if err != nil {
		return
	}
	r.Log.Info("job ended", "job", jobID, "status", p.Status, "done", p.Done, "total", p.Total, "ok", p.OK,
		"failed", p.Failed, "not_cached", p.NotCached, "bytes", p.DownloadSize,
		"took", p.UpdatedAt.Sub(p.CreatedAt).Round(time.Millisecond), "message", p.Message)
}

// variantHeaders are the job's headers with the variant's Accept-Encoding.
func variantHeaders(headers []string, variant string) []string {
	if variant == "" {
		return headers
	}
	out := make([]string, 0, len(headers)+1)
	for _, h := range headers {
		if name, _ := warm.ParseHeader(h); !strings.EqualFold(name, "Accept-Encoding") {
			out = append(out, h)
		}
	}
	return append(out, "Accept-Encoding: "+variant)
}
