package client

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// A job's states. FINISHED means every task was done, some possibly failed;
// FAILED means nothing could be attempted.
const (
	StatusCreated    = "CREATED"
	StatusInProgress = "IN_PROGRESS"
	StatusFinished   = "FINISHED"
	StatusTimeout    = "TIMEOUT"
	StatusStopped    = "STOPPED"
	StatusFailed     = "FAILED"
)

// TimeLayout is how the API writes times: UTC, to the microsecond, with no
// zone ("2026-03-01 10:05:00.000000").
const TimeLayout = "2006-01-02 15:04:05.000000"

// ParseTime reads a time as the API writes it.
func ParseTime(s string) (time.Time, error) {
	return time.ParseInLocation(TimeLayout, strings.TrimSpace(s), time.UTC)
}

// JobRequest is the body of POST /prewarm. Fields are named after their JSON
// keys; an option left at its zero value (nil for the pointers) is not sent,
// so the server applies its default.
type JobRequest struct {
	// URLs to warm: absolute http(s) URLs. Required.
	URLs []string `json:"url_list"`
	// CFDomain is the distribution's domain, or a custom domain whose CNAME
	// chain leads to it; it picks the CloudFront POPs' addresses, never the
	// Host of a fetch. Required when the job targets a CloudFront POP; the
	// edges of the server's edges file need none.
	CFDomain string `json:"cf_domain"`
	// TargetType is pop (the server's default), country or region: which
	// of the three lists selects the POPs. An empty list takes that type's
	// defaults.
	TargetType string   `json:"target_type,omitempty"`
	POPs       []string `json:"pops,omitempty"`
	Countries  []string `json:"countries,omitempty"`
	Regions    []string `json:"regions,omitempty"`
	// Timeout is the job's deadline in minutes, fractions allowed (the
	// server's default: 30).
	Timeout *float64 `json:"timeout,omitempty"`
	// Header lists "Name: value" headers sent with every fetch.
	Header []string `json:"header,omitempty"`
	// InstanceCount, when set, sets the desired capacity as
	// POST /instances does (0 included).
	InstanceCount *int `json:"instance_count,omitempty"`
	// NeedInvalidate clears the URLs from the POPs before warming them.
	NeedInvalidate bool `json:"need_invalidate,omitempty"`
	// DistributionID names the CloudFront distribution to invalidate
	// (default: found from CFDomain).
	DistributionID string `json:"distribution_id,omitempty"`
	// Verify, when set to false, turns off the proof that each warm left
	// a cache HIT (the server's default is to verify).
	Verify *bool `json:"verify,omitempty"`
	// Encodings warms each Accept-Encoding variant as a task of its own.
	Encodings []string `json:"encodings,omitempty"`
	// Expand lists the kinds of documents to expand into the URLs they
	// lead to: hls, dash, sitemap.
	Expand []string `json:"expand,omitempty"`
	// MaxConcurrency bounds the job's fetches in flight, MaxRPS the
	// fetches it starts per second, across every agent (default: no
	// bound beyond the server's per-host limits).
	MaxConcurrency *int     `json:"max_concurrency,omitempty"`
	MaxRPS         *float64 `json:"max_rps,omitempty"`
	// TierFirst, when set to false, warms every POP at once instead of
	// each URL through the top tier of a cache hierarchy first (the
	// server's default).
	TierFirst *bool `json:"tier_first,omitempty"`
	// Priority is low, normal (the server's default) or high: a high job's
	// batches are taken before the others', a low job's only when nothing
	// else waits.
	Priority string `json:"priority,omitempty"`
	// Name labels the job in listings and on the dashboard.
	Name string `json:"name,omitempty"` // NotifyURL is POSTed a signed JobEnded when the job ends (on a server
	// started with --webhook-secret).
	NotifyURL string `json:"notify_url,omitempty"`
	// ChangedSince, with sitemap expansion, keeps only the URLs whose
	// <lastmod> is after it: an RFC 3339 time or a date.
	ChangedSince string `json:"changed_since,omitempty"`
	// Discover "ecs", with countries or regions, finds the edges to warm
	// by asking DNS for CFDomain (any CDN's host name) on behalf of
	// clients in each country; "none" turns the server's default off.
	Discover string `json:"discover,omitempty"`
	// Vantage "agents" fetches each POP's (or discovered country's) tasks
	// only from agents located there (agent --location), for CDNs that
	// route by where the request comes from; a POP with no such agent
	// fails with the reason. "anywhere" (the default): any agent.
	Vantage string `json:"vantage,omitempty"`
	// KeepWarmUntil (RFC 3339, at most a week ahead) keeps the job running
	// after its first warm, re-warming each URL × POP as its freshness
	// there runs out, until then. RefreshHeader ("Name: value") is sent
	// on those re-warms, for POPs configured to fetch from the origin and
	// store when they see it; with it, re-warms go before expiry, without
	// it just after (see docs/keep-warm.md).
	KeepWarmUntil string `json:"keep_warm_until,omitempty"`
	RefreshHeader string `json:"refresh_header,omitempty"`
	// KeepWarmFor is KeepWarmUntil relative to the job's start (a Go
	// duration: "2h", at most "168h"); a schedule's job gives this, so each
	// run keeps warm for as long. Not with KeepWarmUntil.
	KeepWarmFor string `json:"keep_warm_for,omitempty"`
}

// SubmitResponse answers POST /prewarm. A job refused for invalid URLs is
// answered with status "Failed" and HTTP 400, which the client returns as
// an *Error listing them.
type SubmitResponse struct {
	Status       string   `json:"status"` // "Success"
	ErrorMessage string   `json:"error_message"`
	ErrorURLs    []string `json:"error_urls"`
	RequestID    string   `json:"request_id"` // the job's id
	Timestamp    string   `json:"timestamp"`
	// TimeoutAt is the job's deadline: past it, a job whose (first) warm is
	// not done ends TIMEOUT. A keep-warm job's keeping ends at
	// keep_warm_until instead (ProgressResponse.KeepWarm.Until).
	TimeoutAt string `json:"timeout_at"`
}

// ProgressResponse answers GET /prewarm: one job's progress. A task is one
// URL through one POP (in one encoding).
type ProgressResponse struct {
	RequestID           string `json:"request_id"`
	DownloadSize        int64  `json:"download_size"` // bytes fetched
	TotalSize           int64  `json:"total_size"`    // expected bytes: probed size × POPs × encodings
	PercentageComplete  int    `json:"percentage_complete"`
	AvailableTaskCount  int64  `json:"available_task_count"`   // tasks waiting for an agent
	InProgressTaskCount int64  `json:"in_progress_task_count"` // tasks being fetched
	DownloadCount       int64  `json:"download_count"`         // tasks finished, ok or failed
	TotalCount          int64  `json:"total_count"`            // tasks of the job; final once Planned
	CreatedAt           string `json:"created_at"`
	LastUpdateTime      string `json:"last_update_time"`
	Timestamp           string `json:"timestamp"` // the answer's time
	Status              string `json:"status"`
	// Beyond the original.
	SuccessCount int64 `json:"success_count"`
	FailedCount  int64 `json:"failed_count"`
	// TimeoutAt is the deadline of the job's (first) warm, as the submit
	// answer gave it; a keep-warm job's keeping ends at KeepWarm.Until.
	TimeoutAt   string `json:"timeout_at"`
	Planned     bool   `json:"planned"` // every task is queued
	Probed      bool   `json:"probed"`  // every URL's size is known
	Invalidated bool   `json:"invalidated,omitempty"`
	// Tasks proven cached at their POP, and fetched but not cached.
	VerifiedCount  int64 `json:"verified_count"`
	NotCachedCount int64 `json:"not_cached_count"`
	// Message says what the job waits for, or why it ended.
	Message string `json:"message,omitempty"`
	// Waiting names the budget the job's fetches wait for, while they do
	// (its max_concurrency or max_rps, a host's limit or pause).
	Waiting string `json:"waiting,omitempty"`
	// Priority and Name are the job's (beyond the original).
	Priority string `json:"priority,omitempty"`
	Name     string `json:"name,omitempty"`
	// Owner is the name of the API key that submitted the job (named keys
	// of --api-keys-file; empty otherwise).
	Owner string `json:"owner,omitempty"`
	// Sharing is how many other jobs share the agents with this one while
	// it runs.
	Sharing int `json:"sharing,omitempty"`
	// Share is the job's part of the agents while others run, as "1/N":
	// the keys running share the agents alike and a key's jobs share its
	// part (1/6 with 2 keys running and 3 jobs of this key), before
	// priorities weigh in.
	Share string `json:"share,omitempty"`
	// KeepWarm is how a keep-warm job's keeping stands; nil for other jobs.
	// Such a job stays IN_PROGRESS, at 100 % once its first warm is done,
	// until keep_warm_until, then FINISHES — at once when its first warm
	// leaves nothing to keep (the message says why).
	KeepWarm *KeepWarm `json:"keep_warm,omitempty"`
}

// KeepWarm is a keep-warm job's keeping: counts are of URL × POP (× variant).
type KeepWarm struct {
	Until         string `json:"until"`
	RefreshHeader string `json:"refresh_header,omitempty"`
	// State is "warming" (the first warm goes on), "keeping" or "ended".
	State string `json:"state"`
	// NextRewarm is when the earliest re-warm is due; empty when none is.
	NextRewarm string `json:"next_rewarm,omitempty"`
	Kept       int64  `json:"kept"`         // a re-warm is due or queued
	Queued     int64  `json:"queued"`       // re-warms queued now
	FreshToEnd int64  `json:"fresh_to_end"` // fresh past until: nothing more to do
	NotKept    int64  `json:"not_kept"`     // cannot be kept (see the summary's not_kept_urls)
	Rewarms    int64  `json:"rewarms"`      // re-warms done
	Failed     int64  `json:"failed"`       // re-warms that failed (tried again)
}

// NotKeptURL is a URL a keep-warm job cannot keep warm, listed once.
type NotKeptURL struct {
	URL    string `json:"url"`
	Reason string `json:"reason"`
	POPs   int    `json:"pops"` // at how many POPs
}

// Ended reports whether the job has ended: FINISHED, TIMEOUT, STOPPED or
// FAILED.
func (p *ProgressResponse) Ended() bool {
	switch p.Status {
	case StatusFinished, StatusTimeout, StatusStopped, StatusFailed:
		return true
	}
	return false
}

// SummaryResponse answers GET /summary: what went wrong in a job.
type SummaryResponse struct {
	RequestID string `json:"request_id"`
	// FailurePOPs did not resolve, or no connection to them ever succeeded.
	FailurePOPs []string `json:"failure_pops"`
	// FailureURLs failed the size probe, or failed at a POP that answered.
	FailureURLs []string `json:"failure_urls"`
	// FailurePOPURLsReport is a signed link to the CSV of failed tasks
	// (see DownloadReport).
	FailurePOPURLsReport string   `json:"failure_pop_urls_report"`
	NotCachedURLs        []string `json:"not_cached_urls"`
	// NotCachedReasons say why tasks were fetched but not cached (no-store,
	// Set-Cookie, another POP answered, a MISS when asked again), most
	// frequent first, each with one task as an example.
	NotCachedReasons []NotCachedReason `json:"not_cached_reasons"`
	// TasksNotDone, for a job that ended before its tasks were (TIMEOUT,
	// STOPPED, FAILED), counts the tasks left at each POP with the last
	// error seen there; empty otherwise.
	TasksNotDone []POPNotDone `json:"tasks_not_done"`
	Warnings     []string     `json:"warnings"`
	// NotKeptURLs, for a keep-warm job, are the URLs it cannot keep warm
	// (no-store, private, no freshness information), each once; they are
	// warmed once and never re-warmed.
	NotKeptURLs    []NotKeptURL `json:"not_kept_urls,omitempty"`
	Timestamp      string       `json:"timestamp"`
	CreatedAt      string       `json:"created_at"`
	LastUpdateTime string       `json:"last_update_time"`
	Status         string       `json:"status"`
	Message        string       `json:"message,omitempty"`
}

// POPNotDone is one POP's tasks left when its job ended.
type POPNotDone struct {
	POP       string `json:"pop"`
	Tasks     int64  `json:"tasks"`
	LastError string `json:"last_error,omitempty"`
}

// NotCachedReason is one reason tasks were fetched but not cached.
type NotCachedReason struct {
	Reason     string `json:"reason"`
	Count      int64  `json:"count"`
	ExampleURL string `json:"example_url"`
	ExamplePOP string `json:"example_pop"`
}

// JobSummary is a job as GET /jobs lists it: its progress and what it
// targets.
type JobSummary struct {
	ProgressResponse
	CFDomain   string `json:"cf_domain"`
	TargetType string `json:"target_type"`
	URLCount   int    `json:"url_count"`
	POPCount   int    `json:"pop_count"`
	// ScheduleID is the schedule that started the job, if one did.
	ScheduleID string `json:"schedule_id,omitempty"`
}

// JobList answers GET /jobs.
type JobList struct {
	Jobs []JobSummary `json:"jobs"`
}

// JobResponse answers GET /jobs/{id}: a job in full, with its POPs.
type JobResponse struct {
	JobSummary
	Timeout        float64  `json:"timeout"` // minutes, as submitted
	Header         []string `json:"header"`
	NeedInvalidate bool     `json:"need_invalidate"`
	Verify         bool     `json:"verify"`
	Encodings      []string `json:"encodings,omitempty"`
	Expand         []string `json:"expand,omitempty"`
	MaxConcurrency int      `json:"max_concurrency,omitempty"` // 0: no bound
	MaxRPS         float64  `json:"max_rps,omitempty"`         // 0: no bound
	TierFirst      bool     `json:"tier_first"`
	Discover       string   `json:"discover,omitempty"` // how the edges were found ("ecs"); absent: the targets are POPs
	Vantage        string   `json:"vantage"`            // where the fetches start from: anywhere, or agents (located there)
	POPs           []POP    `json:"pops"`
	Report         string   `json:"report"` // signed link to the CSV of failed tasks
	// Notification is how telling the job's notify_url of its end went;
	// absent without one.
	Notification *Notification `json:"notification,omitempty"`
}

// Notification is the delivery of a job's notification (see JobEnded).
type Notification struct {
	URL         string `json:"url"`
	State       string `json:"state"` // pending (until the job ends, or between attempts), delivered, failed
	Attempts    int    `json:"attempts"`
	LastError   string `json:"last_error,omitempty"`
	DeliveredAt string `json:"delivered_at,omitempty"`
}

// POP is one POP of a job and its task counts.
type POP struct {
	Code string `json:"code"`
	// Country, in a job that discovers its edges, is the country whose
	// clients DNS sent to this edge (or that got none, for a failed one).
	Country   string   `json:"country,omitempty"`
	Addresses []string `json:"addresses"`
	Error     string   `json:"error,omitempty"`   // why the POP is not usable
	Skipped   bool     `json:"skipped,omitempty"` // implied by a country or region, and does not resolve
	// Location, with vantage agents, is the place whose agents fetch
	// this POP's tasks.
	Location  string `json:"location,omitempty"`
	Done      int64  `json:"done"`
	OK        int64  `json:"ok"`
	Failed    int64  `json:"failed"`
	Bytes     int64  `json:"bytes"`
	Verified  int64  `json:"verified"`
	NotCached int64  `json:"not_cached"`
	// Unreachable: tasks were tried and no connection ever succeeded.
	Unreachable bool   `json:"unreachable,omitempty"`
	LastError   string `json:"last_error,omitempty"`
	// After is the POP whose fetch of each URL comes first (tier first).
	After string `json:"after,omitempty"`
}

// JobFilter narrows GET /jobs. The zero value lists the server's default
// number of recent jobs in any state.
type JobFilter struct {
	Status string // one of the Status constants; empty: any
	Limit  int    // 1..1000; 0: the server's default
}

// Submit starts a job: POST /prewarm. The answer comes before any planning.
func (c *Client) Submit(ctx context.Context, job JobRequest) (*SubmitResponse, error) {
	return do[SubmitResponse](ctx, c, request{method: http.MethodPost, path: "/prewarm", body: job}, nil)
}

// DryRun plans a job without starting it: POST /prewarm with "dry_run":
// true. Nothing is recorded and nothing is sent through a POP.
func (c *Client) DryRun(ctx context.Context, job JobRequest) (*DryRunResponse, error) {
	body := struct {
		JobRequest
		DryRun bool `json:"dry_run"`
	}{job, true}
	return do[DryRunResponse](ctx, c, request{method: http.MethodPost, path: "/prewarm", body: body}, nil)
}

// Progress reads a job's progress: GET /prewarm?req_id=ID.
func (c *Client) Progress(ctx context.Context, id string) (*ProgressResponse, error) {
	q, err := reqID(id)
	return do[ProgressResponse](ctx, c, request{method: http.MethodGet, path: "/prewarm", query: q}, err)
}

// Summary reads a job's failures: GET /summary?req_id=ID. It is available
// at any time and final once the job has ended.
func (c *Client) Summary(ctx context.Context, id string) (*SummaryResponse, error) {
	q, err := reqID(id)
	s, err := do[SummaryResponse](ctx, c, request{method: http.MethodGet, path: "/summary", query: q}, err)
	if s != nil {
		s.FailurePOPURLsReport = c.absolute(s.FailurePOPURLsReport)
	}
	return s, err
}

// Jobs lists recent jobs, newest first: GET /jobs.
func (c *Client) Jobs(ctx context.Context, f JobFilter) ([]JobSummary, error) {
	q := url.Values{}
	if f.Status != "" {
		q.Set("status", f.Status)
	}
	if f.Limit != 0 {
		q.Set("limit", strconv.Itoa(f.Limit))
	}
	list, err := do[JobList](ctx, c, request{method: http.MethodGet, path: "/jobs", query: q}, nil)
	if err != nil {
		return nil, err
	}
	return list.Jobs, nil
}

// Job reads a job in full, with its POPs: GET /jobs/{id}.
func (c *Client) Job(ctx context.Context, id string) (*JobResponse, error) {
	path, err := jobPath(id)
	j, err := do[JobResponse](ctx, c, request{method: http.MethodGet, path: path}, err)
	if j != nil {
		j.Report = c.absolute(j.Report)
	}
	return j, err
}

// StopJob force-stops a job: POST /jobs/{id}/stop. Its queued tasks are
// cancelled and its fetches in flight aborted; a job that already ended is
// an *Error with status 409.
func (c *Client) StopJob(ctx context.Context, id string) (*InstancesResponse, error) {
	path, err := jobPath(id)
	return do[InstancesResponse](ctx, c, request{method: http.MethodPost, path: path + "/stop"}, err)
}
