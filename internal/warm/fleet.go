package warm

import "time"

// Agent is one worker pool of the fleet as it reports itself.
type Agent struct {
	ID          string
	Name        string
	Host        string
	Concurrency int
	// Batches is how many batches the agent works at once: more the
	// farther it is from the database (DBRoundTrip, as it measured it).
	Batches       int
	DBRoundTrip   time.Duration
	Busy          int // fetches in flight
	Active        bool
	StartedAt     time.Time
	LastHeartbeat time.Time
}

// Agent states as the API and the dashboard name them.
const (
	AgentActive  = "active"
	AgentStandby = "standby"
)

// State is "active" when the agent takes work, "standby" otherwise.
func (a Agent) State() string {
	if a.Active {
		return AgentActive
	}
	return AgentStandby
}

// Working is how many of live agents take work under a desired capacity:
// a capacity never set (negative) means every live agent works.
func Working(desired, live int) int {
	if desired < 0 {
		return live
	}
	return desired
}

// Fleet is the fleet as the API reports it: the desired capacity (with an
// unset one reported as the number of live agents) and the live agents,
// ranked for work.
type Fleet struct {
	Desired int
	Agents  []Agent
}
