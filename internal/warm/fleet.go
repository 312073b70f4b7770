package warm

import (
	"context"
	"time"
)

// Agent is one worker pool of the fleet as it reports itself.
type Agent struct {
	ID          string
	Name        string
	Host        string
	Concurrency int
	// Batches is how many batches the agent works at once: more the
	// farther it is from the database (DBRoundTrip, as it measured it).
	Batches     int
	DBRoundTrip time.Duration
	// Location is where the agent runs (its --location, as
	// edge.Catalog.Location spells it): a job with vantage "agents" sends
	// it the tasks of POPs there. Empty: anywhere.
	Location      string
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
	// Platform is the scaler's own count, when there is a scaler;
	// PlatformErr why it could not be read.
	Platform    *PlatformCount
	PlatformErr error
}

// Scaler sizes the machines the agents run on — an Auto Scaling group, a
// Kubernetes Deployment — so that a desired capacity brings machines up
// rather than only ranking the agents already running.
type Scaler interface {
	// Set asks the platform for n machines (POST /instances).
	Set(ctx context.Context, n int) error
	// Raise asks for n machines unless the platform already wants more:
	// a job's instance_count never shrinks a fleet another job uses.
	Raise(ctx context.Context, n int) error
	// Count is the platform's own count of its machines.
	Count(ctx context.Context) (PlatformCount, error)
}

// PlatformCount is what the platform says of its machines.
type PlatformCount struct {
	Scaler    string // as configured: aws-asg:NAME, k8s:NAMESPACE/DEPLOYMENT
	Desired   int    // the machines it was asked for
	Instances int    // the machines it has (in service, or pods created)
}

// ScalerError is the platform refusing or failing a request: the API
// answers it as a bad gateway, with the platform's own message.
type ScalerError struct {
	Scaler string
	Err    error
}

func (e *ScalerError) Error() string { return "scaler " + e.Scaler + ": " + e.Err.Error() }

func (e *ScalerError) Unwrap() error { return e.Err }
