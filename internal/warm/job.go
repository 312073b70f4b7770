package warm

import (
	"fmt"
	"time"
)

// Status is where a job is in its life. The names are the original product's
// documented states.
type Status string

// Job states. A job moves CREATED → IN_PROGRESS → one of the terminal states.
const (
	StatusCreated    Status = "CREATED"
	StatusInProgress Status = "IN_PROGRESS"
	StatusFinished   Status = "FINISHED" // every task done; some may have failed
	StatusTimeout    Status = "TIMEOUT"  // the job's own deadline passed first
	StatusStopped    Status = "STOPPED"  // force-stopped by a user
	StatusFailed     Status = "FAILED"   // nothing could be attempted
)

// Terminal reports whether no more work happens for a job in this state.
func (s Status) Terminal() bool {
	switch s {
	case StatusFinished, StatusTimeout, StatusStopped, StatusFailed:
		return true
	}
	return false
}

// Valid reports whether s is one of the known states.
func (s Status) Valid() bool {
	return s == StatusCreated || s == StatusInProgress || s.Terminal()
}

// Priority is how a job shares the agents with the others: a high job's
// batches are taken before the others', a low job's only when nothing
// else waits.
type Priority string

// The priorities.
const (
	PriorityLow    Priority = "low"
	PriorityNormal Priority = "normal"
	PriorityHigh   Priority = "high"
)

// Target is one POP chosen for a job.
type Target struct {
	Code string `json:"code"`
	// Explicit targets were named by the user (or by one of the original
	// product's curated maps). Targets expanded from a country or continent
	// are not explicit: one that no longer resolves is skipped, not failed,
	// because the catalog is a historical union of POP ids.
	Explicit bool `json:"explicit"`
	// Edge: an edge of the edges file, reached at its own addresses, so
	// the job's cf_domain does not matter to it.
	Edge bool `json:"edge,omitempty"`
	// Discover, when set, makes Code an ISO country whose edges are found
	// while planning (DiscoverECS), not a POP.
	Discover string `json:"discover,omitempty"`
}

// Job is a request to warm a list of URLs through a set of POPs.
type Job struct {
	ID             string
	Status         Status
	Message        string // why a job failed, timed out or was stopped
	CFDomain       string
	TargetType     string
	Targets        []Target
	Headers        []string // "Name: value", sent on every fetch
	Timeout        time.Duration
	NeedInvalidate bool
	DistributionID string // CloudFront distribution to invalidate; empty: found from CFDomain
	// Verify proves each warm: a cheap second request through the same
	// edge must come back a HIT from the intended POP.
	Verify bool
	// Encodings, when set, makes each URL × POP one task per
	// Accept-Encoding value, so every variant a cache keys on is warmed.
	Encodings []string
	// Expand lists the kinds of document (hls, dash, sitemap) whose
	// references are added to the URL list while planning.
	Expand []string
	// MaxConcurrency bounds the job's fetches in flight across the whole
	// fleet, MaxRPS the fetches it starts per second; 0 is unlimited.
	MaxConcurrency int
	MaxRPS         float64
	// TierFirst warms each URL through the top tier of a cache hierarchy
	// before the POPs below it, so the origin is asked once per top-tier
	// POP rather than once per POP.
	TierFirst bool
	// Priority orders jobs sharing the agents; Name labels the job.
	Priority Priority
	Name     string
	Owner    string // the name of the API key that submitted it
	// Notify is told when the job ends (see the notify package).
	Notify Notification
	// ChangedSince keeps, of the URLs sitemaps list, those changed after
	// it (zero: all).
	ChangedSince time.Time
	// ScheduleID is the schedule that started the job, if one did.
	ScheduleID string
	// KeepWarmUntil, when set, keeps the job running after its first warm,
	// re-warming each URL × POP as its freshness there runs out, until
	// then; RefreshHeader ("Name: value") goes on those re-warms, for POPs
	// that treat it as "fetch from the origin and store" (see keepwarm.go).
	KeepWarmUntil time.Time
	RefreshHeader string
	// Vantage is where the job's fetches start from: VantageAgents sends
	// each POP's tasks only to agents located there; "" is anywhere.
	Vantage string
	// Warmed: every task of the first warm is done (a keep-warm job then
	// only keeps).
	Warmed    bool
	URLCount  int
	CreatedAt time.Time
	UpdatedAt time.Time
	TimeoutAt time.Time
}

// Counts are a job's task counters. They are kept by the store as results
// arrive, so reading them costs one row whatever the size of the job.
type Counts struct {
	Total        int64 // tasks planned: URLs × usable POPs
	Done         int64 // tasks finished, ok or failed
	OK           int64
	Failed       int64
	InProgress   int64 // tasks claimed by a running batch and not yet done
	DownloadSize int64 // bytes fetched
	TotalSize    int64 // expected bytes: probed size × usable POPs
	PlannedURLs  int   // URLs whose batches are queued
	Planned      bool  // every URL is planned; Total is final
	ProbedURLs   int   // URLs whose size probe is recorded
	Probed       bool  // every URL was probed; TotalSize is final
	Invalidated  bool  // the caches were cleared before warming (need_invalidate)
	Verified     int64 // tasks proven cached at their POP after the warm
	NotCached    int64 // tasks fetched fine but not cached (see their reason)
	Expanded     bool  // the URL list was expanded (Expand)
	// Waiting says what budget the job's fetches wait for, while they do.
	Waiting string
	// Sharing is how many other jobs are running beside this one; of
	// them, KeyJobs were submitted with the same key, and SharingKeys is
	// how many other keys the rest were submitted with (see Running).
	Sharing, KeyJobs, SharingKeys int
	// KeepWarm is how a keep-warm job's keeping stands (nil for others).
	KeepWarm *KeepWarm
}

// Running counts the jobs in progress per key (owner; "" for none).
type Running map[string]int

// fill sets c's counts of the jobs running beside a running job of owner.
func (r Running) fill(c *Counts, owner string) {
	total := 0
	for _, n := range r {
		total += n
	}
	c.Sharing = max(total-1, 0)
	c.KeyJobs = max(r[owner]-1, 0)
	c.SharingKeys = len(r)
	if r[owner] > 0 {
		c.SharingKeys--
	}
}

// Share is the job's part of the agents while it runs, as "1/N" (empty
// when it runs alone): the keys running share the agents alike, and a
// key's jobs share its part, before priorities weigh in.
func (c Counts) Share() string {
	n := c.Sharing + 1
	if c.SharingKeys > 0 {
		n = (c.SharingKeys + 1) * (c.KeyJobs + 1)
	}
	if n <= 1 {
		return ""
	}
	return fmt.Sprintf("1/%d", n)
}

// Percent is floor(100 × done / total), the original's percentage_complete
// but counting tasks, not bytes, so a finished job always reads 100.
func (c Counts) Percent() int {
	if c.Total <= 0 {
		return 0
	}
	return int(100 * c.Done / c.Total)
}

// Progress is a job with its counters.
type Progress struct {
	Job
	Counts
}

// Available is the number of tasks waiting for an agent; none once the job
// has ended, since its queued tasks are dropped.
func (p Progress) Available() int64 {
	if p.Status.Terminal() {
		return 0
	}
	return max(p.Total-p.Done-p.Running(), 0)
}

// Running is the number of tasks being fetched; none once the job has ended.
func (p Progress) Running() int64 {
	if p.Status.Terminal() {
		return 0
	}
	return max(p.InProgress, 0)
}

// POPState is what planning learned about one target POP, and how its tasks
// went.
type POPState struct {
	Code      string
	Explicit  bool
	Addresses []string // where to connect; empty when the POP is not usable
	// PurgeMethod is how an edge of the edges file is purged before a
	// re-warm; empty for a CloudFront POP, which is invalidated through
	// CloudFront's API instead.
	PurgeMethod string
	Error       string // why the POP is not usable (does not resolve, refused address)
	Skipped     bool   // an implicit target that does not resolve: left out, not a failure
	Done        int64
	OK          int64
	Failed      int64
	Bytes       int64
	Verified    int64
	NotCached   int64
	LastError   string // the error of the POP's most recent failed task
	Attempted   int64  // tasks fetched (not failed before fetching, by the probe)
	// Reached is set once any fetch through the POP got a whole HTTP
	// answer, so a POP whose every connection or body failed can be told
	// apart from one that answered 404s.
	Reached bool
	// Parent is the POP this one fills from (an edges file's parent), and
	// Region where it is; the resolver reports both. After is the job's POP
	// whose fetches of a URL come first (tier first): its parent, or the
	// first POP of its region; empty for the top tier.
	Parent string
	Region string
	After  string
	// Location, for a job with vantage "agents", is the place whose
	// agents take the POP's tasks (one of its Places).
	Location string
}

// Unreachable reports whether fetches were tried through the POP and none
// ever got a whole HTTP answer (see AnsweredWhole): it hung, refused, or
// broke every body.
func (p POPState) Unreachable() bool { return p.Attempted > 0 && !p.Reached }

// Usable reports whether tasks are planned for the POP.
func (p POPState) Usable() bool { return p.Error == "" && !p.Skipped && len(p.Addresses) > 0 }

// Summary is the failure report of a job.
type Summary struct {
	Job         Job
	FailurePOPs []string
	FailureURLs []string
	// NotCachedURLs fetched fine somewhere but were not cached there;
	// NotCachedReasons say why, most frequent first.
	NotCachedURLs    []string
	NotCachedReasons []NotCachedReason
	// Warnings explain what may keep viewers from the warmed copies
	// ("responses vary on Accept-Language; the job sends one value").
	Warnings []string
	// NotDone, for a job that ended before its tasks were (TIMEOUT,
	// STOPPED, FAILED), counts the tasks left at each POP, with the last
	// error seen there: where the job got stuck.
	NotDone []POPNotDone
	// NotKept lists, once each, the URLs a keep-warm job cannot keep warm.
	NotKept []NotKept
}

// POPNotDone is one POP's tasks left when its job ended.
type POPNotDone struct {
	POP       string
	Tasks     int64
	LastError string
}

// NotCachedReason is one reason tasks were fetched but not cached, how
// many tasks it holds for, and one of them.
type NotCachedReason struct {
	Reason     string
	Count      int64
	ExampleURL string
	ExamplePOP string
}

// Variants is the list of variants each URL × POP is fetched in: the
// job's encodings, or one unnamed variant.
func (j *Job) Variants() []string {
	if len(j.Encodings) == 0 {
		return []string{""}
	}
	return j.Encodings
}

// Notification is where a job's end is told and how delivery went.
type Notification struct {
	URL      string
	State    NotifyState
	Attempts int
	Error    string    // the last failed attempt's
	At       time.Time // delivered
}

// NotifyState is how a job's notification stands.
type NotifyState string

const (
	NotifyPending   NotifyState = "pending" // to be told when the job ends, or being told
	NotifyDelivered NotifyState = "delivered"
	NotifyFailed    NotifyState = "failed" // every attempt failed
)
