package warm_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"prewarm/internal/warm"
)

// A schedule that was due while nothing ran runs once, for its latest
// slot, and then waits for the next one; a job asking for what changed
// since the last run gets the previous run's time.
func TestScheduleRunsMissedSlotsOnce(t *testing.T) {
	e := newEnv(t)
	now := time.Date(2026, 11, 29, 10, 3, 0, 0, time.UTC)
	svc, _ := e.service()
	svc.Now = func() time.Time { return now }
	ids := 0
	s := &warm.Scheduler{Store: e.St, Service: svc, Now: svc.Now, NewID: func() string { ids++; return "sched" }}
	spec := warm.JobSpec{URLs: []string{"https://www.example.test/sitemap.xml"}, POPs: []string{"AAA1-P1"}, CFDomain: "d1.cloudfront.net",
		Expand: []string{"sitemap"}, ChangedSince: warm.LastRunSince}
	sc, err := s.Create(e.Ctx, "nightly", "*/10 * * * *", "Europe/Paris", []byte(`{}`), spec, "ci")
	e.Must(err)
	if want := time.Date(2026, 11, 29, 10, 10, 0, 0, time.UTC); !sc.NextRun.Equal(want) {
		t.Fatalf("next run %v, want %v", sc.NextRun, want)
	}
	now = now.Add(time.Hour) // six slots pass with no server running
	started, err := s.RunDue(e.Ctx)
	e.Must(err)
	if len(started) != 1 {
		t.Fatalf("started %v after six missed slots, want one run", started)
	}
	first, err := e.St.Job(e.Ctx, started[0])
	e.Must(err)
	if first.ScheduleID != "sched" || first.Owner != "ci" || !first.ChangedSince.IsZero() {
		t.Fatalf("first run %+v", first)
	}
	if again, err := s.RunDue(e.Ctx); err != nil || len(again) != 0 {
		t.Fatalf("ran again at once: %v %v", again, err)
	}
	got, err := s.Get(e.Ctx, "sched")
	e.Must(err)
	if want := time.Date(2026, 11, 29, 11, 10, 0, 0, time.UTC); !got.NextRun.Equal(want) || got.Runs != 1 || got.LastJob != first.ID {
		t.Fatalf("after the run: %+v", got)
	}
	lastRun := now
	now = now.Add(10 * time.Minute)
	started, err = s.RunDue(e.Ctx)
	e.Must(err)
	second, err := e.St.Job(e.Ctx, started[0])
	e.Must(err)
	if !second.ChangedSince.Equal(lastRun) {
		t.Fatalf("second run changed since %v, want the first run's %v", second.ChangedSince, lastRun)
	}
}

// A schedule that never runs, or would run more than once a minute, is
// refused with a message naming cron; one that runs every minute is fine.
func TestScheduleCronIsChecked(t *testing.T) {
	e := newEnv(t)
	svc, _ := e.service()
	ids := 0
	s := &warm.Scheduler{Store: e.St, Service: svc, Now: svc.Now, NewID: func() string { ids++; return fmt.Sprint("sched", ids) }}
	spec := warm.JobSpec{URLs: []string{"https://www.example.test/a"}, POPs: []string{"AAA1-P1"}, CFDomain: "d1.cloudfront.net"}
	for expr, want := range map[string]string{
		"0 3 30 2 *":     "never runs",
		"@every 1ms":     "a second or more",
		"@every -5m":     "a second or more",
		"* * * * * *":    "at most once every 1m0s",
		"*/30 * * * * *": "at most once every 1m0s",
	} {
		_, err := s.Create(e.Ctx, "", expr, "", []byte(`{}`), spec, "")
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "cron") {
			t.Errorf("cron %q: %v, want an error naming cron saying %q", expr, err, want)
		}
	}
	if _, err := s.Create(e.Ctx, "", "* * * * *", "", []byte(`{}`), spec, ""); err != nil {
		t.Errorf("every minute: %v", err)
	}
	s.MinGap = time.Second // as serve --schedule-min-gap 1s allows
	if _, err := s.Create(e.Ctx, "", "*/2 * * * * *", "", []byte(`{}`), spec, ""); err != nil {
		t.Errorf("every 2 s with a gap of 1 s allowed: %v", err)
	}
}
