package api

import (
	"encoding/json"
	"net/http"

	"prewarm/internal/warm"
)

// postSchedule creates a schedule: POST /schedules {"name", "cron",
// "timezone", "job": <a POST /prewarm body>}.
func (s *Server) postSchedule(r *http.Request) (any, error) {
	f, err := readFields(r, s.cfg.Service.Limits.TooManyURLs)
	if err != nil {
		return nil, err
	}
	var name, expr, tz string
	var body json.RawMessage
	for _, step := range []func() error{
		func() (err error) { name, err = f.str("name"); return },
		func() (err error) { expr, err = f.str("cron"); return },
		func() (err error) { tz, err = f.str("timezone"); return },
		func() error {
			var ok bool
			if body, ok = f.get("job"); !ok || body[0] != '{' {
				return warm.Invalid("job", "is required: the POST /prewarm body to start at each run")
			}
			return nil
		},
		f.unknown,
	} {
		if err := step(); err != nil {
			return nil, err
		}
	}
	if expr == "" {
		return nil, warm.Invalid("cron", "is required: five fields (minute to weekday), six with seconds first, or @hourly, @daily, @every 15m")
	}
	jf, err := fieldsOf(body)
	if err != nil {
		return nil, err
	}
	spec, dryRun, err := jobSpec(jf)
	if err != nil {
		return nil, warm.Prefixed("job.", err)
	}
	if dryRun {
		return nil, warm.Invalid("job.dry_run", "a schedule starts real runs: leave dry_run out")
	}
	sc, err := s.cfg.Schedules.Create(r.Context(), name, expr, tz, body, spec, KeyName(r.Context()))
	if err != nil {
		return nil, err
	}
	s.cfg.Log.Info("schedule created", "schedule", sc.ID, "cron", sc.Cron, "timezone", sc.Timezone, "key", sc.Owner)
	return scheduleJSON(sc), nil
}

func (s *Server) listSchedules(r *http.Request) (any, error) {
	list, err := s.cfg.Schedules.List(r.Context())
	if err != nil {
		return nil, err
	}
	out := ScheduleList{Schedules: make([]Schedule, len(list))}
	for i := range list {
		out.Schedules[i] = scheduleJSON(&list[i])
	}
	return out, nil
}

func (s *Server) getSchedule(r *http.Request) (any, error) {
	sc, err := s.cfg.Schedules.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		return nil, err
	}
	return scheduleJSON(sc), nil
}

func (s *Server) deleteSchedule(r *http.Request) (any, error) {
	id := r.PathValue("id")
	if err := s.mayChangeSchedule(r); err != nil {
		return nil, err
	}
	if err := s.cfg.Schedules.Delete(r.Context(), id); err != nil {
		return nil, err
	}
	s.cfg.Log.Info("schedule deleted", "schedule", id, "key", KeyName(r.Context()))
	return InstancesResponse{Status: "success", Message: "schedule " + id + " deleted; the jobs it started stay",
		Timestamp: timestamp(s.cfg.Now())}, nil
}

// pauseSchedule pauses (or, with paused false, resumes) a schedule.
func (s *Server) pauseSchedule(paused bool) handler {
	return func(r *http.Request) (any, error) {
		if err := s.mayChangeSchedule(r); err != nil {
			return nil, err
		}
		sc, err := s.cfg.Schedules.Pause(r.Context(), r.PathValue("id"), paused)
		if err != nil {
			return nil, err
		}
		return scheduleJSON(sc), nil
	}
}

// mayChangeSchedule admits a change to the request's schedule by its key
// (see mayChange); an unknown schedule is the handler's 404.
func (s *Server) mayChangeSchedule(r *http.Request) error {
	sc, err := s.cfg.Schedules.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	return mayChange(r.Context(), "schedule "+sc.ID, sc.Owner)
}

// mayChangeJob admits a change to the request's job by its key.
func (s *Server) mayChangeJob(r *http.Request) error {
	job, err := s.cfg.Service.Job(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	return mayChange(r.Context(), "job "+job.ID, job.Owner)
}

func scheduleJSON(sc *warm.Schedule) Schedule {
	out := Schedule{ID: sc.ID, Name: sc.Name, Cron: sc.Cron, Timezone: sc.Timezone, Paused: sc.Paused, Owner: sc.Owner,
		CreatedAt: timestamp(sc.CreatedAt), LastJob: sc.LastJob, LastError: sc.LastError, Runs: sc.Runs, Job: sc.Body}
	if !sc.Paused {
		out.NextRun = timestamp(sc.NextRun)
	}
	if !sc.LastRun.IsZero() {
		out.LastRun = timestamp(sc.LastRun)
	}
	return out
}
