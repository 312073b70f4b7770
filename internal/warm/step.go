package warm

import "time"

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
	Kind     StepKind
	JobID    string
	Batch    int    // StepWarm: the batch's sequence number
	POP      string // StepWarm: the batch's POP and URL range [From, To)
	From, To int
	At       time.Time // when to run; zero means now
	Priority Priority  // StepWarm: its job's
	// Location, for a StepWarm, queues it for the agents located there
	// only; empty: for any agent.
	Location string
	// Rewarms, for a StepWarm, makes it a re-warm of these tasks at POP
	// (a keep-warm job's), not a batch.
	Rewarms []Rewarm
}

// BatchState is where a batch is: waiting, being fetched by an agent, or done.
type BatchState string

// Batch states.
const (
	BatchPending BatchState = "pending"
	BatchRunning BatchState = "running"
	BatchDone    BatchState = "done"
)

// PlanChunk is what planning writes for one range of a job's URLs: their
// rows and the batches that fetch them.
type PlanChunk struct {
	URLs    []URL
	Batches []Batch
	// PlannedURLs is the number of URLs planned once this chunk is written;
	// the planner resumes from it after a crash.
	PlannedURLs int
	// Planned: this is the job's last chunk, and the job is planned once it
	// is written. Probed: the job is not size-probed, and is probed too.
	// Written with the batches, they spare a small job two transactions.
	Planned, Probed bool
}

// ProbeChunk is what the size probe found for one range of a job's URLs,
// with the failed tasks of the URLs that failed it (at every POP).
type ProbeChunk struct {
	From   int // the first URL's index
	URLs   []URL
	Failed []Result
	// ProbedURLs is the number of URLs probed once this chunk is written.
	ProbedURLs int
}
