package api

import "time"

// timestamp formats times as the original did: UTC, microseconds, no zone.
func timestamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02 15:04:05.000000")
}

// The API's answers, field for field. They are exported for the command-line
// client, so the two cannot drift apart.

// SubmitResponse answers POST /prewarm (and, with status "Failed", invalid URLs).
type SubmitResponse struct {
	Status       string   `json:"status"`
	ErrorMessage string   `json:"error_message"`
	ErrorURLs    []string `json:"error_urls"`
	RequestID    string   `json:"request_id"`
	Timestamp    string   `json:"timestamp"`
	TimeoutAt    string   `json:"timeout_at"`
}

// ProgressResponse answers GET /prewarm.
type ProgressResponse struct {
	RequestID           string `json:"request_id"`
	DownloadSize        int64  `json:"download_size"`
	TotalSize           int64  `json:"total_size"`
	PercentageComplete  int    `json:"percentage_complete"`
	AvailableTaskCount  int64  `json:"available_task_count"`
	InProgressTaskCount int64  `json:"in_progress_task_count"`
	DownloadCount       int64  `json:"download_count"`
	TotalCount          int64  `json:"total_count"`
	CreatedAt           string `json:"created_at"`
	LastUpdateTime      string `json:"last_update_time"`
	Timestamp           string `json:"timestamp"`
	Status              string `json:"status"`
	// Beyond the original.
	SuccessCount int64  `json:"success_count"`
	FailedCount  int64  `json:"failed_count"`
	TimeoutAt    string `json:"timeout_at"`
	Planned      bool   `json:"planned"`
	Probed       bool   `json:"probed"`
	Invalidated  bool   `json:"invalidated,omitempty"`
	// Tasks proven cached at their POP, and fetched but not cached.
	VerifiedCount  int64  `json:"verified_count"`
	NotCachedCount int64  `json:"not_cached_count"`
	Message        string `json:"message,omitempty"`
}

// SummaryResponse answers GET /summary.
type SummaryResponse struct {
	RequestID            string   `json:"request_id"`
	FailurePOPs          []string `json:"failure_pops"`
	FailureURLs          []string `json:"failure_urls"`
	FailurePOPURLsReport string   `json:"failure_pop_urls_report"`
	NotCachedURLs        []string `json:"not_cached_urls"`
	Warnings             []string `json:"warnings"`
	Timestamp            string   `json:"timestamp"`
	CreatedAt            string   `json:"created_at"`
	LastUpdateTime       string   `json:"last_update_time"`
	Status               string   `json:"status"`
	Message              string   `json:"message,omitempty"`
}

// InstancesResponse answers POST /instances and POST /jobs/{id}/stop.
type InstancesResponse struct {
	Status    string `json:"status"`
	Timestamp string `json:"timestamp"`
	Message   string `json:"message"`
}

// InstancesStatus answers GET /instances.
type InstancesStatus struct {
	InstancesResponse
	DesiredCapacity int         `json:"desiredcapacity"`
	Agents          []AgentJSON `json:"agents"`
}

// AgentJSON is one live agent.
type AgentJSON struct {
	ID            string `json:"id"`
	Name          string `json:"name"`
	Host          string `json:"host"`
	Concurrency   int    `json:"concurrency"`
	Busy          int    `json:"busy"`
	State         string `json:"state"`
	LastHeartbeat string `json:"last_heartbeat"`
}

// POPJSON is one POP of a job.
type POPJSON struct {
	Code      string   `json:"code"`
	Addresses []string `json:"addresses"`
	Error     string   `json:"error,omitempty"`
	Skipped   bool     `json:"skipped,omitempty"`
	Done      int64    `json:"done"`
	OK        int64    `json:"ok"`
	Failed    int64    `json:"failed"`
	Bytes     int64    `json:"bytes"`
	Verified  int64    `json:"verified"`
	NotCached int64    `json:"not_cached"`
	// Unreachable: tasks were tried and no connection ever succeeded.
	Unreachable bool   `json:"unreachable,omitempty"`
	LastError   string `json:"last_error,omitempty"`
}

// JobSummary is a job as listed: its progress and what it targets.
type JobSummary struct {
	ProgressResponse
	CFDomain   string `json:"cf_domain"`
	TargetType string `json:"target_type"`
	URLCount   int    `json:"url_count"`
	POPCount   int    `json:"pop_count"`
}

// JobResponse is one job in full.
type JobResponse struct {
	JobSummary
	Timeout        float64   `json:"timeout"` // minutes, as submitted
	Header         []string  `json:"header"`
	NeedInvalidate bool      `json:"need_invalidate"`
	Verify         bool      `json:"verify"`
	Encodings      []string  `json:"encodings,omitempty"`
	Expand         []string  `json:"expand,omitempty"`
	POPs           []POPJSON `json:"pops"`
	Report         string    `json:"report"`
}
