package warm

import (
	"context"
	"time"
)

// StepKind names a unit of queued work.
type StepKind string

// The kinds of queued work.
const (
	StepPlan    StepKind = "plan"    // resolve POPs, probe sizes, queue batches
	StepWarm    StepKind = "warm"    // fetch one batch
	StepTimeout StepKind = "timeout" // end the job at its deadline
)

// Step is a unit of queued work. The store queues steps in the same
// transaction as the state that calls for them, so a crash never leaves a job
// with work recorded but not queued (or the reverse).
type Step struct {
	Kind  StepKind
	JobID string
	Batch int       // StepWarm: the batch's sequence number
	At    time.Time // when to run; zero means now
}

// BatchState is where a batch is: waiting, being fetched by an agent, or done.
type BatchState string

// Batch states.
const (
	BatchPending BatchState = "pending"
	BatchRunning BatchState = "running"
	BatchDone    BatchState = "done"
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

// PlanChunk is what planning writes for one range of a job's URLs: their
// rows and the batches that fetch them.
type PlanChunk struct {
	URLs    []URL
	Batches []Batch
	// PlannedURLs is the number of URLs planned once this chunk is written;
	// the planner resumes from it after a crash.
	PlannedURLs int
}

// ProbeChunk is what the size probe found for one range of a job's URLs,
// with the failed tasks of the URLs that failed it (at every POP).
type ProbeChunk struct {
	URLs   []URL
	Failed []Result
	// ProbedURLs is the number of URLs probed once this chunk is written.
	ProbedURLs int
}

// Agent is one worker pool of the fleet as it reports itself.
type Agent struct {
	ID            string
	Name          string
	Host          string
	Concurrency   int
	Busy          int // fetches in flight
	Active        bool
	StartedAt     time.Time
	LastHeartbeat time.Time
}

// Store keeps jobs, their URLs, POPs, batches, results and counters, and the
// fleet's state. Implementations must make RecordResults idempotent per job ×
// POP × URL and keep the counters in the same transaction.
type Store interface {
	CreateJob(ctx context.Context, job *Job, urls []string) error
	Job(ctx context.Context, id string) (*Job, error)
	Progress(ctx context.Context, id string) (*Progress, error)
	ListJobs(ctx context.Context, f JobFilter) ([]Progress, error)
	// Transition moves a job to `to` if its status is one of `from`, and
	// reports whether it did.
	Transition(ctx context.Context, id string, from []Status, to Status, msg string) (bool, error)

	// Note sets a job's message (what it is waiting for, what it did).
	Note(ctx context.Context, jobID, msg string) error
	// MarkInvalidated records that the job's caches were cleared, with a
	// note saying how.
	MarkInvalidated(ctx context.Context, jobID, note string) error
	SavePOPs(ctx context.Context, jobID string, pops []POPState) error
	POPs(ctx context.Context, jobID string) ([]POPState, error)
	// JobURLs is a job's whole URL list, in order; URLs is a range of it
	// with what the probes found.
	JobURLs(ctx context.Context, jobID string) ([]string, error)
	URLs(ctx context.Context, jobID string, from, to int) ([]URL, error)
	SavePlanChunk(ctx context.Context, jobID string, c PlanChunk) error
	// FinishPlanning marks every task of a job queued: its total is final.
	FinishPlanning(ctx context.Context, jobID string) error
	// SaveProbeChunk records probe results: sizes into the expected total,
	// failed URLs as failed tasks wherever they are not done yet.
	SaveProbeChunk(ctx context.Context, jobID string, c ProbeChunk) error
	// FinishProbing marks every URL probed and ends the job if every task
	// is done (FAILED when no URL passed the probe).
	FinishProbing(ctx context.Context, jobID string) error

	Batch(ctx context.Context, jobID string, seq int) (Batch, error)
	// PendingTasks lists the batch's tasks (each URL in each variant) that
	// have no result yet and whose URL passed the probe.
	PendingTasks(ctx context.Context, b Batch, variants []string) ([]Task, error)
	// ReplaceURLs swaps a job's URL list for its expansion, before any of
	// it is planned.
	ReplaceURLs(ctx context.Context, jobID string, urls []string) error
	ClaimBatch(ctx context.Context, b Batch, agentID string, tasks int) error
	// RecordResults writes results, updates the counters, moves the batch to
	// state, finishes the job when its last task is done, and returns the
	// job's status afterwards.
	RecordResults(ctx context.Context, b Batch, results []Result, state BatchState) (Status, error)

	Summary(ctx context.Context, id string) (*Summary, error)
	// Stats is the state of every job at once, for monitoring.
	Stats(ctx context.Context) (Stats, error)
	Tasks(ctx context.Context, jobID string, f TaskFilter, fn func(TaskRow) error) error

	DesiredCapacity(ctx context.Context) (int, error)
	SetDesiredCapacity(ctx context.Context, n int) error
	// Heartbeat records an agent as alive and returns the live agents
	// (heartbeat newer than liveSince) in the order that ranks them for
	// work, with the desired capacity.
	Heartbeat(ctx context.Context, a Agent, liveSince time.Time) ([]Agent, int, error)
	Agents(ctx context.Context, liveSince time.Time) ([]Agent, error)
	RemoveAgent(ctx context.Context, id string) error
	// ReleaseAgentBatches hands the batches a dead agent was fetching back
	// to waiting (their queue entries are requeued by the queue).
	ReleaseAgentBatches(ctx context.Context, agentID string) error
}

// Stats are gauges of the whole system.
type Stats struct {
	Jobs    map[Status]int64 // jobs by status
	Queued  int64            // tasks of running jobs waiting for an agent
	Running int64            // tasks being fetched
}

// Observer hears of every recorded task, for metrics.
type Observer interface {
	Observe(r Result)
}

// Resolver turns a job's targets into POPs with addresses to connect to.
type Resolver interface {
	Resolve(ctx context.Context, cfDomain string, targets []Target) []POPState
}

// Expander reads a job's documents (HLS playlists, DASH manifests,
// sitemaps) through a POP and returns the URL list with every URL they
// refer to.
type Expander interface {
	Expand(ctx context.Context, job *Job, via POPState, urls []string, limit int) ([]string, error)
}

// Invalidator clears a job's URLs from its POPs' caches before warming, and
// says what it did.
type Invalidator interface {
	Invalidate(ctx context.Context, job *Job, pops []POPState, urls []string) (string, error)
}

// FetchRequest is one fetch through one POP.
type FetchRequest struct {
	URL       string
	Addresses []string // the POP's addresses; retries rotate through them
	Headers   []string // "Name: value"
	// Verify asks for proof that the fetched object is now cached at POP.
	Verify bool
	POP    string
	// Variant is the Accept-Encoding value of an encodings job ("" when
	// the job warms one variant).
	Variant string
}

// Fetcher talks to edges.
type Fetcher interface {
	// Fetch downloads the URL through the POP and discards the body.
	Fetch(ctx context.Context, r FetchRequest) Result
	// Probe finds the URL's size without downloading it (HEAD, then a
	// one-byte range GET). Size is -1 when the edge does not say.
	Probe(ctx context.Context, r FetchRequest) (size int64, res Result)
}
