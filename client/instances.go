package client

import (
	"context"
	"net/http"
)

// InstancesRequest is the body of POST /instances, in the original's
// spelling. DesiredCapacity is always sent: 0 is a capacity (every agent
// stands by).
type InstancesRequest struct {
	DesiredCapacity int `json:"DesiredCapacity"` // 0..300 agents working
	// ReqID and ForceStop, together, stop that one job in the same call.
	ReqID     string `json:"req_id,omitempty"`
	ForceStop bool   `json:"force_stop,omitempty"`
}

// InstancesResponse answers POST /instances and POST /jobs/{id}/stop.
type InstancesResponse struct {
	Status    string `json:"status"` // "success"
	Timestamp string `json:"timestamp"`
	Message   string `json:"message"` // what was done
}

// InstancesStatus answers GET /instances: the desired capacity and the
// live agents, and with a scaler (serve --scaler) the platform's own count.
type InstancesStatus struct {
	InstancesResponse
	DesiredCapacity int       `json:"desiredcapacity"`
	Agents          []Agent   `json:"agents"`
	Platform        *Platform `json:"platform,omitempty"`
}

// Platform is what the platform the agents run on (an Auto Scaling group,
// a Kubernetes Deployment) says of its machines.
type Platform struct {
	Scaler    string `json:"scaler"`    // aws-asg:NAME or k8s:NAMESPACE/DEPLOYMENT
	Desired   int    `json:"desired"`   // machines it was asked for
	Instances int    `json:"instances"` // machines in service (ASG) or pods created (Deployment)
	// Error says why the count could not be read; the counts are then 0.
	Error string `json:"error,omitempty"`
}

// Agent is one live agent: a pool of fetchers in a serve or agent process.
type Agent struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Host        string `json:"host"`
	Concurrency int    `json:"concurrency"`
	// Location is where the agent runs (agent --location): it takes the
	// tasks of jobs with vantage "agents" for POPs there. Absent: anywhere.
	Location string `json:"location,omitempty"`
	Batches  int    `json:"batches"` // batches worked at once: more the farther the database
	// DBRoundTripMS is the round trip to the database the agent measured
	// when it last became active.
	DBRoundTripMS float64 `json:"db_round_trip_ms"`
	Busy          int     `json:"busy"`  // fetches in flight
	State         string  `json:"state"` // active, or standby beyond the desired capacity
	LastHeartbeat string  `json:"last_heartbeat"`
}

// Instances reads the desired capacity and the live agents: GET /instances.
func (c *Client) Instances(ctx context.Context) (*InstancesStatus, error) {
	return do[InstancesStatus](ctx, c, request{method: http.MethodGet, path: "/instances"}, nil)
}

// SetInstances sets the desired capacity and, with ReqID and ForceStop,
// stops that one job: POST /instances. A stop of a job that already ended
// is an *Error with status 409, of an unknown job 404; the capacity is then
// left as it was.
func (c *Client) SetInstances(ctx context.Context, req InstancesRequest) (*InstancesResponse, error) {
	return do[InstancesResponse](ctx, c, request{method: http.MethodPost, path: "/instances", body: req}, nil)
}
