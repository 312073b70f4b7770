package api

import (
	"time"

	"prewarm/client"
)

// timestamp formats times as the original did: UTC, microseconds, no zone.
func timestamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(client.TimeLayout)
}

// The API's answers are the public client's types, field for field: one
// definition serves the server that encodes them, the client package, the
// command-line client and the test fakes, so they cannot drift apart. The
// names below are the handlers' own.
type (
	SubmitResponse    = client.SubmitResponse
	ProgressResponse  = client.ProgressResponse
	SummaryResponse   = client.SummaryResponse
	InstancesResponse = client.InstancesResponse
	InstancesStatus   = client.InstancesStatus
	AgentJSON         = client.Agent
	PlatformJSON      = client.Platform
	POPJSON           = client.POP
	JobSummary        = client.JobSummary
	JobResponse       = client.JobResponse
	DryRunResponse    = client.DryRunResponse
	DryRunPOP         = client.DryRunPOP
	Notification      = client.Notification
	Schedule          = client.Schedule
	ScheduleList      = client.ScheduleList
)
