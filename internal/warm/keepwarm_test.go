package warm

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestNextRewarm(t *testing.T) {
	now := time.Date(2026, 11, 28, 20, 0, 0, 0, time.UTC)
	fresh := func(life time.Duration, ageKnown bool) Freshness {
		return Freshness{Until: now.Add(life), Lifetime: life, AgeKnown: ageKnown}
	}
	plain := &Job{KeepWarmUntil: now.Add(time.Hour)}
	refresh := &Job{KeepWarmUntil: now.Add(time.Hour), RefreshHeader: "X-Prewarm-Refresh: 1"}
	cases := []struct {
		name           string
		job            *Job
		f              Freshness
		ok, hit, first bool
		due            time.Duration // from now; -1: none
		note           string
	}{
		{"plain: just after expiry", plain, fresh(4*time.Second, false), true, false, true, 4*time.Second + expiryMargin, ""},
		{"refresh: a second before a short expiry", refresh, fresh(4*time.Second, false), true, false, true, 3 * time.Second, ""},
		{"refresh: a tenth before a long one", refresh, fresh(10*time.Minute, false), true, false, true, 9 * time.Minute, ""},
		{"refresh: a HIT of unknown age is refreshed now", refresh, fresh(time.Minute, false), true, true, true, 0, ""},
		{"refresh ignored by the POP: no loop", refresh, fresh(time.Minute, false), true, true, false, time.Minute + expiryMargin, ""},
		{"fresh past the end", plain, fresh(2*time.Hour, true), true, false, true, -1, ""},
		{"failed: tried again", plain, Freshness{}, false, false, false, retryAfterFailure, ""},
		{"no-store", plain, Freshness{NoKeep: "Cache-Control: no-store"}, true, false, true, -1, "no-store"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			due, note := c.job.NextRewarm(c.f, c.ok, c.hit, c.first, now)
			if c.due < 0 {
				if !due.IsZero() || !strings.Contains(note, c.note) {
					t.Fatalf("due %v note %q, want none for %q", due, note, c.note)
				}
				return
			}
			if !due.Equal(now.Add(c.due)) || note != "" {
				t.Fatalf("due now+%v note %q, want now+%v", due.Sub(now), note, c.due)
			}
		})
	}
}

// A failed re-warm waits twice as long with each failure in a row, up to
// five minutes, and never past the keeping's end.
func TestRetryRewarm(t *testing.T) {
	now := time.Date(2026, 11, 28, 20, 0, 0, 0, time.UTC)
	j := &Job{KeepWarmUntil: now.Add(time.Hour)}
	for failing, want := range []time.Duration{5 * time.Second, 10 * time.Second, 20 * time.Second, 40 * time.Second,
		80 * time.Second, 160 * time.Second, 5 * time.Minute, 5 * time.Minute} {
		if got := j.RetryRewarm(failing, now); !got.Equal(now.Add(want)) {
			t.Errorf("after %d failures in a row: +%v, want +%v", failing, got.Sub(now), want)
		}
	}
	if got := j.RetryRewarm(1000, now.Add(58*time.Minute)); !got.IsZero() {
		t.Errorf("a retry past the end: %v, want none", got)
	}
	if got := j.DeferRewarm(now.Add(2 * time.Hour)); !got.IsZero() {
		t.Errorf("a pause past the end: %v, want none", got)
	}
}

func TestCleanKeepWarm(t *testing.T) {
	now := time.Date(2026, 11, 28, 20, 0, 0, 0, time.UTC)
	until, hdr, err := cleanKeepWarm("2026-11-28T22:00:00+01:00", "", " X-Prewarm-Refresh:1 ", now)
	if err != nil || !until.Equal(now.Add(time.Hour)) || hdr != "X-Prewarm-Refresh: 1" {
		t.Fatalf("got %v %q %v", until, hdr, err)
	}
	until, hdr, err = cleanKeepWarm("", " 90m ", "", now)
	if err != nil || !until.Equal(now.Add(90*time.Minute)) || hdr != "" {
		t.Fatalf("keep_warm_for 90m: got %v %q %v", until, hdr, err)
	}
	for _, c := range []struct{ until, keepFor, refresh, field string }{
		{"tomorrow", "", "", "keep_warm_until"},
		{"2026-11-28T19:00:00Z", "", "", "keep_warm_until"},
		{"2026-12-28T19:00:00Z", "", "", "keep_warm_until"},
		{"", "", "X-Prewarm-Refresh: 1", "refresh_header"},
		{"2026-11-28T21:00:00Z", "", "no colon", "refresh_header"},
		{"", "2h", "no colon", "refresh_header"},
		{"", "two hours", "", "keep_warm_for"},
		{"", "-1h", "", "keep_warm_for"},
		{"", "0s", "", "keep_warm_for"},
		{"", "169h", "", "keep_warm_for"},
		{"2026-11-28T21:00:00Z", "1h", "", "keep_warm_for"},
		{"2026-11-28T21:00:00Z", "", "X-A:", "refresh_header"},
		{"2026-11-28T21:00:00Z", "", "X-A:   ", "refresh_header"},
	} {
		_, _, err := cleanKeepWarm(c.until, c.keepFor, c.refresh, now)
		var in *InputError
		if !errors.As(err, &in) || in.Field != c.field {
			t.Errorf("%q %q %q: %v, want an error naming %s", c.until, c.keepFor, c.refresh, err, c.field)
		}
	}
}

// A job's deadline is its first warm's (timeout_at) until a keep-warm
// job's first warm is done, then the end of the keeping.
func TestJobDeadline(t *testing.T) {
	at := time.Date(2026, 11, 28, 20, 0, 0, 0, time.UTC)
	timeout, until := at.Add(30*time.Minute), at.Add(3*time.Hour)
	for _, c := range []struct {
		name   string
		until  time.Time
		warmed bool
		want   time.Time
	}{
		{"plain", time.Time{}, false, timeout},
		{"plain, warmed", time.Time{}, true, timeout},
		{"keep-warm, warming", until, false, timeout},
		{"keep-warm, keeping", until, true, until},
	} {
		j := Job{TimeoutAt: timeout, KeepWarmUntil: c.until, Warmed: c.warmed}
		if got := j.Deadline(); !got.Equal(c.want) {
			t.Errorf("%s: deadline %v, want %v", c.name, got, c.want)
		}
	}
}
