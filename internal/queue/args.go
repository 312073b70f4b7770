package queue

import (
	"fmt"

	"github.com/riverqueue/river"

	"prewarm/internal/warm"
)

// Queue names.
const (
	QueueControl = "control"
	QueueWarm    = "warm"
)

// PlanArgs plans a job. Args stay small (ids only): a job's URLs live in the
// store, not in the queue.
type PlanArgs struct {
	JobID string `json:"job_id"`
}

// Kind names the River job kind.
func (PlanArgs) Kind() string { return "prewarm_plan" }

// InsertOpts routes planning to the control queue.
func (PlanArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueControl, MaxAttempts: 25}
}

// TimeoutArgs ends a job at its deadline.
type TimeoutArgs struct {
	JobID string `json:"job_id"`
}

// Kind names the River job kind.
func (TimeoutArgs) Kind() string { return "prewarm_timeout" }

// InsertOpts routes timeouts to the control queue.
func (TimeoutArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueControl, MaxAttempts: 25}
}

// WarmArgs fetches one batch: a POP × a range of URLs. The POP and the
// range ride along so that the agent need not read them (a round trip to a
// database that may be far); entries queued without them are read.
type WarmArgs struct {
	JobID string `json:"job_id"`
	Batch int    `json:"batch"`
	POP   string `json:"pop,omitempty"`
	From  int    `json:"from,omitempty"`
	To    int    `json:"to,omitempty"`
	// Rewarms, when set, makes the entry a keep-warm job's re-warm of
	// these URLs (with their variants) at POP, not a batch.
	Rewarms []RewarmArg `json:"rewarms,omitempty"`
}

// RewarmArg is one re-warm: a URL index and, for an encodings job, its
// variant. Short keys: an entry carries up to a batch of them.
type RewarmArg struct {
	URL     int    `json:"u"`
	Variant string `json:"v,omitempty"`
}

// Kind names the River job kind.
func (WarmArgs) Kind() string { return "prewarm_warm" }

// InsertOpts routes batches to the warm queue. Attempts are counted only for
// failures (database errors, a rescued batch), not for the budget snoozes of
// a long batch.
func (WarmArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueWarm, MaxAttempts: 25}
}

// riverPriority is a job's priority as River orders its entries: 1 first,
// 4 last.
var riverPriority = map[warm.Priority]int{warm.PriorityHigh: 1, warm.PriorityNormal: 2, warm.PriorityLow: 4, "": 2}

// stepParams turns domain steps into River insert parameters.
func stepParams(steps []warm.Step) ([]river.InsertManyParams, error) {
	params := make([]river.InsertManyParams, len(steps))
	for i, s := range steps {
		var args river.JobArgs
		switch s.Kind {
		case warm.StepPlan:
			args = PlanArgs{JobID: s.JobID}
		case warm.StepTimeout:
			args = TimeoutArgs{JobID: s.JobID}
		case warm.StepWarm:
			wa := WarmArgs{JobID: s.JobID, Batch: s.Batch, POP: s.POP, From: s.From, To: s.To}
			for _, rw := range s.Rewarms {
				wa.Rewarms = append(wa.Rewarms, RewarmArg{URL: rw.URLIndex, Variant: rw.Variant})
			}
			args = wa
		default:
			return nil, fmt.Errorf("unknown step kind %q", s.Kind)
		}
		opts := &river.InsertOpts{ScheduledAt: s.At}
		if s.Kind == warm.StepWarm {
			opts.Priority = riverPriority[s.Priority]
			opts.Queue = WarmQueue(s.Location)
		}
		params[i] = river.InsertManyParams{Args: args, InsertOpts: opts}
	}
	return params, nil
}
