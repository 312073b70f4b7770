package warm

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// Schedule is a job body started again on a cron expression, each run an
// ordinary job linked to it.
type Schedule struct {
	ID       string
	Name     string
	Cron     string
	Timezone string
	// Body is the job as submitted to the API (shown back as it came);
	// Spec is the same as the domain reads it, started at each run.
	Body  json.RawMessage
	Spec  JobSpec
	Owner string
	// Paused schedules start nothing; resuming starts from the next slot.
	Paused    bool
	CreatedAt time.Time
	NextRun   time.Time
	LastRun   time.Time
	LastJob   string
	LastError string // why the last run started no job
	Runs      int
}

// LastRunSince, as a scheduled job's changed_since, is the start of the
// schedule's previous run: each run warms what changed since the last.
const LastRunSince = "last_run"

// ScheduleStore is what schedules need of the store.
type ScheduleStore interface {
	CreateSchedule(ctx context.Context, s *Schedule) error
	Schedules(ctx context.Context) ([]Schedule, error)
	Schedule(ctx context.Context, id string) (*Schedule, error)
	DeleteSchedule(ctx context.Context, id string) error
	PauseSchedule(ctx context.Context, id string, paused bool, next time.Time) error
	// DueSchedules lists the schedules not paused whose next run is due.
	DueSchedules(ctx context.Context, now time.Time) ([]Schedule, error)
	// ClaimRun moves a schedule's next run from the one read to next; only
	// the caller that moved it runs the slot.
	ClaimRun(ctx context.Context, id string, from, next, now time.Time) (bool, error)
	ScheduleRan(ctx context.Context, id, jobID, errText string) error
}

// Scheduler keeps the schedules and starts their runs.
type Scheduler struct {
	Store   ScheduleStore
	Service *Service
	NewID   func() string
	Now     func() time.Time
	// MinGap is the shortest time allowed between two runs of a schedule
	// (DefaultScheduleGap when zero).
	MinGap time.Duration
}

// DefaultScheduleGap is the shortest time between two runs of a schedule:
// a warm takes seconds at least, and one a second would only pile up jobs.
const DefaultScheduleGap = time.Minute

// cronParser reads five fields (minute to weekday), six with seconds
// first, or a descriptor (@hourly, @daily, @every 15m).
var cronParser = cron.NewParser(cron.SecondOptional | cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// parseCron reads a cron expression in a time zone (IANA name; UTC when
// empty).
func parseCron(expr, tz string) (cron.Schedule, string, error) {
	if tz = strings.TrimSpace(tz); tz == "" {
		tz = "UTC"
	}
	loc, err := time.LoadLocation(tz)
	if err != nil {
		return nil, "", Invalid("timezone", "%q is not a time zone (an IANA name such as Europe/Paris or UTC)", tz)
	}
	expr = strings.TrimSpace(expr)
	if strings.HasPrefix(expr, "TZ=") || strings.HasPrefix(expr, "CRON_TZ=") {
		return nil, "", Invalid("cron", "give the time zone in timezone, not in the expression")
	}
	sched, err := cronParser.Parse("CRON_TZ=" + loc.String() + " " + expr)
	if err != nil {
		return nil, "", Invalid("cron", "%q: %v (five fields, minute to weekday, or six with seconds first, or @hourly, @daily, @every 15m)", expr, err)
	}
	return sched, loc.String(), nil
}

// oftenEnough refuses, when a schedule is created, one that never runs (30
// February), an @every of less than a second (the parser would round 1ms,
// or -5m, up to every second), or one that runs more often than minGap,
// over the year ahead from from. A stored schedule was checked when
// created: reading it again checks nothing more.
func oftenEnough(sched cron.Schedule, expr string, minGap time.Duration, from time.Time) error {
	if every, ok := strings.CutPrefix(expr, "@every "); ok {
		if d, err := time.ParseDuration(strings.TrimSpace(every)); err == nil && d < time.Second {
			return Invalid("cron", "%q: @every needs a duration of a second or more", expr)
		}
	}
	first := sched.Next(from)
	if first.IsZero() {
		return Invalid("cron", "%q never runs: no such date", expr)
	}
	for t, n := first, 0; n < 60 && t.Sub(first) < 366*24*time.Hour; n++ {
		next := sched.Next(t)
		if next.IsZero() {
			break
		}
		if gap := next.Sub(t); gap < minGap {
			return Invalid("cron", "%q runs every %s: a schedule may run at most once every %s (serve --schedule-min-gap)", expr, gap, minGap)
		}
		t = next
	}
	return nil
}

// Create checks a schedule and its job (as a submit would) and records
// it; its first run is the first slot after now.
func (s *Scheduler) Create(ctx context.Context, name, expr, tz string, body json.RawMessage, spec JobSpec, owner string) (*Schedule, error) {
	now := s.Now()
	sched, tz, err := parseCron(expr, tz)
	if err != nil {
		return nil, err
	}
	if err := oftenEnough(sched, strings.TrimSpace(expr), cmp.Or(s.MinGap, DefaultScheduleGap), now); err != nil {
		return nil, err
	}
	name, err = cleanName(name)
	if err != nil {
		return nil, err
	}
	if strings.TrimSpace(spec.KeepWarmUntil) != "" {
		// One time for every run: past after the first few.
		return nil, Invalid("job.keep_warm_until", "every run would keep warm until the same time; give keep_warm_for (a duration, such as 2h) instead")
	}
	check := spec
	if strings.TrimSpace(check.ChangedSince) == LastRunSince {
		check.ChangedSince = ""
	}
	if check.NotifyURL == "" {
		check.NotifyURL = s.Service.NotifyURL
	}
	if _, _, err := NewJob(check, s.Service.Selector, s.Service.Limits, "check", now); err != nil {
		return nil, Prefixed("job.", err)
	}
	sc := &Schedule{ID: s.NewID(), Name: name, Cron: strings.TrimSpace(expr), Timezone: tz, Body: body, Spec: spec,
		Owner: owner, CreatedAt: now.UTC(), NextRun: sched.Next(now).UTC()}
	if err := s.Store.CreateSchedule(ctx, sc); err != nil {
		return nil, err
	}
	return sc, nil
}

// List, Get and Delete are the store's.
func (s *Scheduler) List(ctx context.Context) ([]Schedule, error) { return s.Store.Schedules(ctx) }
func (s *Scheduler) Get(ctx context.Context, id string) (*Schedule, error) {
	return s.Store.Schedule(ctx, id)
}
func (s *Scheduler) Delete(ctx context.Context, id string) error {
	return s.Store.DeleteSchedule(ctx, id)
}

// Pause stops a schedule's runs, or resumes them from the next slot after
// now (slots missed while paused do not run).
func (s *Scheduler) Pause(ctx context.Context, id string, paused bool) (*Schedule, error) {
	sc, err := s.Store.Schedule(ctx, id)
	if err != nil {
		return nil, err
	}
	sched, _, err := parseCron(sc.Cron, sc.Timezone)
	if err != nil {
		return nil, err
	}
	if err := s.Store.PauseSchedule(ctx, id, paused, sched.Next(s.Now()).UTC()); err != nil {
		return nil, err
	}
	return s.Store.Schedule(ctx, id)
}

// RunDue starts the runs that are due. Each due schedule runs once, for
// its latest slot, however many passed (a server that was down runs a
// missed schedule once on start, not once per missed slot), and its next
// slot is the first after now. Across nodes, the one that moves the next
// run on starts the job.
func (s *Scheduler) RunDue(ctx context.Context) ([]string, error) {
	now := s.Now()
	due, err := s.Store.DueSchedules(ctx, now)
	if err != nil {
		return nil, err
	}
	var started []string
	for _, sc := range due {
		sched, _, err := parseCron(sc.Cron, sc.Timezone)
		if err != nil {
			return started, fmt.Errorf("schedule %s: %w", sc.ID, err)
		}
		won, err := s.Store.ClaimRun(ctx, sc.ID, sc.NextRun, sched.Next(now).UTC(), now)
		if err != nil || !won {
			if err != nil {
				return started, err
			}
			continue
		}
		spec := sc.Spec
		spec.Owner, spec.ScheduleID = sc.Owner, sc.ID
		if strings.TrimSpace(spec.ChangedSince) == LastRunSince {
			spec.ChangedSince = ""
			if !sc.LastRun.IsZero() {
				spec.ChangedSince = sc.LastRun.UTC().Format(time.RFC3339Nano)
			}
		}
		var jobID, errText string
		if job, err := s.Service.Submit(ctx, spec); err != nil {
			errText = err.Error()
		} else {
			jobID = job.ID
			started = append(started, job.ID)
		}
		if err := s.Store.ScheduleRan(ctx, sc.ID, jobID, errText); err != nil {
			return started, err
		}
	}
	return started, nil
}

// Prefixed names the field of an input error as a field of a nested
// object (a schedule's job.url_list); other errors are as they were.
func Prefixed(prefix string, err error) error {
	var in *InputError
	if errors.As(err, &in) && in.Field != "" {
		cp := *in
		cp.Field = prefix + in.Field
		return &cp
	}
	return err
}
