package warm

import (
	"strings"
	"time"
)

// URL is one URL of a job, with what the size probe found.
type URL struct {
	Index int
	URL   string
	Size  int64  // bytes, from the probe; -1 when unknown
	Error string // why the probe failed; the URL is then not warmed
	// Probed is set once the URL went through the size probe.
	Probed bool
}

// Batch is a unit of queued work: one POP × a range of a job's URLs. The
// queue carries batches, not tasks, so its cost per task is small.
type Batch struct {
	JobID string
	Seq   int
	POP   string
	From  int // first URL index
	To    int // one past the last URL index
	// After is the POP whose batch of the same URLs (one tier up) must be
	// done before this one is queued; empty for none.
	After string
	// Location, for a job with vantage "agents", is where the agents that
	// fetch the batch are (its POP's Location); empty: anywhere.
	Location string
}

// Size is the number of URLs the batch covers.
func (b Batch) Size() int { return b.To - b.From }

// BatchUpdate is one batch's part of a bulk write: an agent's claim as it
// starts the batch, the results it got since its last update, and the state
// the batch moves to.
type BatchUpdate struct {
	Batch Batch
	// Agent, when set, claims the batch for that agent with Tasks to do,
	// before the results are counted.
	Agent   string
	Tasks   int
	Results []Result
	State   BatchState // empty: as the claim leaves it
}

// Task is one URL through one POP (in one variant): the unit that is
// fetched and counted.
type Task struct {
	URLIndex int
	URL      string
	Variant  string // the Accept-Encoding value, when the job has encodings
	// Failing, for a re-warm: how many re-warms of it failed in a row
	// before this one (each waits twice as long as the last).
	Failing int
}

// Result is the outcome of one task. Results are written in bulk and are
// idempotent: the store keys them by job, POP and URL index, so a batch that
// runs twice (an agent died, a retry) counts nothing twice.
type Result struct {
	URLIndex    int
	POP         string
	Variant     string
	OK          bool
	StatusCode  int // 0 when no HTTP answer came back
	Bytes       int64
	CacheStatus string // normalised: HIT, MISS, REFRESH_HIT, EXPIRED, STALE, BYPASS, …
	ServedBy    string // the POP the edge says served it (x-amz-cf-pop and the like)
	EdgeIP      string
	TTFB        time.Duration
	Duration    time.Duration
	Attempts    int
	Error       string
	At          time.Time
	// Verified: a second request through the same edge was a HIT from
	// the intended POP.
	Verified bool
	// Reason says why a task that fetched fine is not cached (no-store,
	// Set-Cookie, served by another POP, MISS…); empty when cached or not
	// verified.
	Reason string
	// Warning notes what may keep viewers from this copy (a Vary the job
	// does not cover).
	Warning string
	// RetryAfter is how long a throttled answer asked to wait (its
	// Retry-After); 0 when it did not say.
	RetryAfter time.Duration
	// Fresh is what the answer says of its freshness at the POP.
	Fresh Freshness
	// Keep, for a task of a keep-warm job: its next re-warm (zero: none),
	// or why it cannot be kept warm.
	Keep     bool
	RewarmAt time.Time
	NotKept  string
	// Deferred, for a re-warm: not tried, or throttled, because its host
	// is paused; neither done nor failed, it goes again at RewarmAt.
	Deferred bool
}

// NotCached reports whether the task fetched fine but is not cached.
func (r Result) NotCached() bool { return r.OK && r.Reason != "" }

// Throttled reports an answer that asks to slow down (429 Too Many
// Requests, 503 Service Unavailable): the task is tried again after a
// pause, not failed.
func (r Result) Throttled() bool { return r.StatusCode == 429 || r.StatusCode == 503 }

// HTTPError is the error of a result whose answer was a failing status.
func HTTPError(status string) string { return "HTTP " + status }

// AnsweredWhole reports whether a result with this status code and error
// got a whole HTTP answer from the edge, whatever its status: not a body
// that stalled, was cut short or reset, and not no answer at all.
func AnsweredWhole(statusCode int, errText string) bool {
	return statusCode != 0 && (errText == "" || strings.HasPrefix(errText, "HTTP "))
}

// TaskRow is a recorded result with its URL, for reports.
type TaskRow struct {
	Result
	URL string
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

// KeepPlan sets a keep-warm job's result's next re-warm, or why it has
// none; first says whether it is the first warm's.
func (r *Result) KeepPlan(j *Job, first bool, failing int) {
	if !j.KeepsWarm() {
		return
	}
	r.Keep = true
	if !r.OK {
		r.RewarmAt, r.NotKept = j.RetryRewarm(failing, r.At), ""
		return
	}
	hit := r.CacheStatus == "HIT" || r.CacheStatus == "REFRESH_HIT" || r.CacheStatus == "STALE"
	r.RewarmAt, r.NotKept = j.NextRewarm(r.Fresh, r.OK, hit, first, r.At)
}
