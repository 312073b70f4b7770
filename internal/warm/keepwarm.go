package warm

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Keeping warm: a job with keep_warm_until re-warms each URL × POP around
// the time its freshness at that POP runs out, until then.
//
// On a TTL cache a GET before expiry is a HIT that does not extend the
// TTL, and a GET after expiry leaves a window in which a viewer may get a
// MISS. So a job may name a refresh header that the operator's POPs treat
// as "fetch from the origin and store" (nginx proxy_cache_bypass, Varnish
// hash_always_miss): with it, re-warms go a little BEFORE expiry and send
// it, and no viewer sees a miss; without it, re-warms go just AFTER expiry,
// and a miss window remains unless the POP serves stale while it
// revalidates. See docs/keep-warm.md.

// MaxKeepWarm is how far ahead keep_warm_until may be: a week. Longer
// warming is a schedule's job, not one job that never ends.
const MaxKeepWarm = 7 * 24 * time.Hour

// Re-warm timing.
const (
	// refreshLeadMin is the least time before expiry a refreshing re-warm
	// is due: the sweep that queues it, the queue and the fetch must fit
	// in it.
	refreshLeadMin = time.Second
	// expiryMargin is how long after expiry a plain re-warm is due, so
	// that it does not land a hair early on a copy still fresh (a HIT
	// that refreshes nothing).
	expiryMargin = 300 * time.Millisecond
	// retryAfterFailure is the wait before a failed re-warm is tried
	// again; it doubles with each failure in a row, up to
	// maxRetryAfterFailure, so an object that keeps failing costs its
	// origin a fetch every few minutes, not every few seconds.
	retryAfterFailure    = 5 * time.Second
	maxRetryAfterFailure = 5 * time.Minute
)

// RetryRewarm is when a re-warm that failed at failedAt, after failing
// failures in a row before it, is tried again (zero: not before the
// keeping ends).
func (j *Job) RetryRewarm(failing int, failedAt time.Time) time.Time {
	wait := retryAfterFailure
	for range max(failing, 0) {
		if wait *= 2; wait >= maxRetryAfterFailure {
			wait = maxRetryAfterFailure
			break
		}
	}
	return j.rewarmBefore(failedAt.Add(wait))
}

// rewarmBefore is due when it comes before the keeping ends, else zero.
func (j *Job) rewarmBefore(due time.Time) time.Time {
	if !due.Before(j.KeepWarmUntil) {
		return time.Time{}
	}
	return due
}

// DeferRewarm is when a re-warm put off by its host's pause, which ends
// at resume, goes again (zero: not before the keeping ends).
func (j *Job) DeferRewarm(resume time.Time) time.Time { return j.rewarmBefore(resume) }

// Freshness is what an answer says of how long its POP keeps it: set by
// the fetcher on every result.
type Freshness struct {
	// Until is when the copy the POP answered with stops being fresh
	// (zero when the answer gives no freshness information).
	Until time.Time
	// Lifetime is the whole freshness lifetime (s-maxage, max-age or
	// Expires − Date).
	Lifetime time.Duration
	// AgeKnown: the answer said how old the POP's copy is (Age, or a Date
	// the POP kept from the origin); otherwise Until assumes it is new.
	AgeKnown bool
	// NoKeep says why the object cannot be kept warm (no-store, private,
	// no-cache, no freshness information); empty when it can.
	NoKeep string
}

// Rewarm is one URL × POP (× variant) of a job, queued to be re-warmed.
type Rewarm struct {
	URLIndex int
	Variant  string
}

// KeepWarm is how a keep-warm job's keeping stands.
type KeepWarm struct {
	Until         time.Time
	RefreshHeader string
	// Warmed: the first warm is done; the job now only keeps.
	Warmed  bool
	Kept    int64     // URL × POP kept warm: a re-warm is due or queued
	Queued  int64     // re-warms queued now
	Ended   int64     // fresh past Until: no more re-warm needed
	NotKept int64     // cannot be kept (no-store, private, …): reported, never re-warmed
	Rewarms int64     // re-warms done
	Failed  int64     // re-warms that failed (each tried again)
	Next    time.Time // the earliest re-warm due; zero when none
}

// NotKept is one URL that cannot be kept warm and why, as the summary
// reports it once.
type NotKept struct {
	URL    string
	Reason string
	POPs   int // at how many POPs
}

// KeepWarmStore is what keeping jobs warm needs of the store.
type KeepWarmStore interface {
	// QueueRewarms queues, as ordinary warm work, the re-warms of running
	// jobs due at now, at most limit, and returns how many it queued. Each
	// is claimed in the same transaction that queues it: across nodes,
	// exactly one queues each re-warm.
	QueueRewarms(ctx context.Context, now time.Time, limit int) (int, error)
}

// KeepsWarm reports whether the job is kept warm after its first warm.
func (j *Job) KeepsWarm() bool { return !j.KeepWarmUntil.IsZero() }

// NextRewarm is when the URL × POP that answered with f is re-warmed next
// (zero: never, with the reason in note). fetchedAt is when the answer
// came; hit says whether it came from the POP's cache, first whether it
// was the first warm's.
func (j *Job) NextRewarm(f Freshness, ok, hit, first bool, fetchedAt time.Time) (due time.Time, note string) {
	switch {
	case !ok:
		return j.RetryRewarm(0, fetchedAt), ""
	case f.NoKeep != "":
		return time.Time{}, f.NoKeep
	case !f.Until.After(fetchedAt) && f.Lifetime <= 0:
		return time.Time{}, "no freshness lifetime (max-age=0)"
	case !f.Until.Before(j.KeepWarmUntil):
		return time.Time{}, "" // fresh until the end: nothing more to do
	case j.RefreshHeader != "" && hit && !f.AgeKnown && first:
		// A cached copy of unknown age may expire any moment: refresh it
		// now, which also sets the clock. (A re-warm answered from the
		// cache means the POP ignores the header: it falls through to
		// the plain timing below, not into a loop.)
		due = fetchedAt
	case j.RefreshHeader != "" && !(hit && !first):
		lead := min(max(f.Lifetime/10, refreshLeadMin), f.Lifetime/2)
		due = f.Until.Add(-lead)
	default:
		due = f.Until.Add(expiryMargin)
	}
	if due.Before(fetchedAt) {
		due = fetchedAt
	}
	if !due.Before(j.KeepWarmUntil) {
		return time.Time{}, ""
	}
	return due, ""
}

// cleanKeepWarm checks keep_warm_until (in the future, at most
// MaxKeepWarm ahead) or keep_warm_for (a positive duration, at most
// MaxKeepWarm) — one of them — and refresh_header (a "Name: value" header,
// only with one of them). It returns when the keeping ends.
func cleanKeepWarm(until, keepFor, refresh string, now time.Time) (time.Time, string, error) {
	until, keepFor, refresh = strings.TrimSpace(until), strings.TrimSpace(keepFor), strings.TrimSpace(refresh)
	var end time.Time
	var err error
	switch {
	case until != "" && keepFor != "":
		return time.Time{}, "", Invalid("keep_warm_for", "give keep_warm_until or keep_warm_for, not both")
	case until != "":
		end, err = keepWarmUntil(until, now)
	case keepFor != "":
		end, err = keepWarmFor(keepFor, now)
	case refresh != "":
		return time.Time{}, "", Invalid("refresh_header", "applies to re-warms: add keep_warm_until or keep_warm_for")
	default:
		return time.Time{}, "", nil
	}
	if err != nil {
		return time.Time{}, "", err
	}
	if refresh != "" {
		hs, err := cleanHeaders([]string{refresh})
		var in *InputError
		if errors.As(err, &in) {
			return time.Time{}, "", Invalid("refresh_header", "%s", in.Msg)
		} else if err != nil {
			return time.Time{}, "", err
		}
		// An empty value tells a POP nothing: it could not set its
		// cache apart from a viewer's request.
		if name, value, _ := strings.Cut(hs[0], ":"); strings.TrimSpace(value) == "" {
			return time.Time{}, "", Invalid("refresh_header", "%q has no value; write \"%s: value\", like \"X-Prewarm-Refresh: 1\"", refresh, name)
		}
		refresh = hs[0]
	}
	return end.UTC(), refresh, nil
}

func keepWarmUntil(until string, now time.Time) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, until)
	switch {
	case err != nil:
		return t, Invalid("keep_warm_until", "%q is not an RFC 3339 time (2026-11-28T20:00:00Z)", until)
	case !t.After(now):
		return t, Invalid("keep_warm_until", "%s is not in the future", until)
	case t.Sub(now) > MaxKeepWarm:
		return t, Invalid("keep_warm_until", "%s is more than %s ahead; use a schedule for longer", until, MaxKeepWarm)
	}
	return t, nil
}

func keepWarmFor(keepFor string, now time.Time) (time.Time, error) {
	d, err := time.ParseDuration(keepFor)
	switch {
	case err != nil:
		return time.Time{}, Invalid("keep_warm_for", "%q is not a duration (90m, 2h, 48h)", keepFor)
	case d <= 0:
		return time.Time{}, Invalid("keep_warm_for", "%s is not a positive duration", keepFor)
	case d > MaxKeepWarm:
		return time.Time{}, Invalid("keep_warm_for", "%s is more than %s; use a schedule for longer", keepFor, MaxKeepWarm)
	}
	return now.Add(d), nil
}

// NothingToKeep is the message of a keep-warm job whose first warm left
// nothing to keep — notKept URL × POP that cannot be kept, ended fresh
// past the end — and the warning the job's report carries when some cannot
// be kept (empty when none).
func NothingToKeep(notKept, ended int64) (msg, warning string) {
	switch {
	case notKept > 0 && ended > 0:
		msg = fmt.Sprintf("nothing to keep warm: %d objects cannot be kept (no freshness the POP tells; see not_kept_urls), "+
			"%d stay fresh past the end", notKept, ended)
	case notKept > 0:
		msg = fmt.Sprintf("nothing to keep warm: %d objects cannot be kept (no freshness the POP tells; see not_kept_urls)", notKept)
	case ended > 0:
		return fmt.Sprintf("nothing to keep warm: all %d objects stay fresh past the end", ended), ""
	default:
		return "nothing to keep warm: no object was warmed", ""
	}
	warning = fmt.Sprintf("%d objects cannot be kept warm: their answers carry no freshness a shared cache keeps "+
		"(see not_kept_urls). Freshness a POP sets itself (nginx proxy_cache_valid, a CDN's default TTL) is invisible "+
		"to prewarm unless the POP passes Cache-Control or Expires on to viewers.", notKept)
	return msg, warning
}

// Deadline is when the job ends by itself if nothing ends it sooner: its
// first warm's deadline (TimeoutAt, then TIMEOUT), or, for a keep-warm job
// whose first warm is done, the end of the keeping (then FINISHED).
func (j *Job) Deadline() time.Time {
	if j.KeepsWarm() && j.Warmed {
		return j.KeepWarmUntil
	}
	return j.TimeoutAt
}
