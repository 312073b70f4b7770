package client

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
)

// ScheduleRequest creates a schedule: POST /schedules. Job is a POST
// /prewarm body, started at every slot of Cron (five fields, minute to
// weekday; six with seconds first; or @hourly, @daily, @every 15m) in
// Timezone (an IANA name; default UTC). A job whose changed_since is
// "last_run" warms what its sitemaps changed since the schedule's
// previous run.
type ScheduleRequest struct {
	Name     string     `json:"name,omitempty"`
	Cron     string     `json:"cron"`
	Timezone string     `json:"timezone,omitempty"`
	Job      JobRequest `json:"job"`
}

// Schedule is a schedule as the API shows it.
type Schedule struct {
	ID        string          `json:"id"`
	Name      string          `json:"name,omitempty"`
	Cron      string          `json:"cron"`
	Timezone  string          `json:"timezone"`
	Paused    bool            `json:"paused"`
	Owner     string          `json:"owner,omitempty"`
	CreatedAt string          `json:"created_at"`
	NextRun   string          `json:"next_run,omitempty"` // absent while paused
	LastRun   string          `json:"last_run,omitempty"`
	LastJob   string          `json:"last_job,omitempty"`   // the request_id of the last run's job
	LastError string          `json:"last_error,omitempty"` // why the last run started no job
	Runs      int             `json:"runs"`
	Job       json.RawMessage `json:"job"` // the job body as submitted
}

// ScheduleList is GET /schedules's answer.
type ScheduleList struct {
	Schedules []Schedule `json:"schedules"`
}

// CreateSchedule creates a schedule: POST /schedules (submit scope).
func (c *Client) CreateSchedule(ctx context.Context, req ScheduleRequest) (*Schedule, error) {
	return do[Schedule](ctx, c, request{method: http.MethodPost, path: "/schedules", body: req}, nil)
}

// Schedules lists the schedules: GET /schedules.
func (c *Client) Schedules(ctx context.Context) ([]Schedule, error) {
	l, err := do[ScheduleList](ctx, c, request{method: http.MethodGet, path: "/schedules"}, nil)
	if err != nil {
		return nil, err
	}
	return l.Schedules, nil
}

// PauseSchedule pauses a schedule (POST /schedules/{id}/pause) or, with
// paused false, resumes it from its next slot (POST …/resume).
func (c *Client) PauseSchedule(ctx context.Context, id string, paused bool) (*Schedule, error) {
	path, err := schedulePath(id)
	action := "/resume"
	if paused {
		action = "/pause"
	}
	return do[Schedule](ctx, c, request{method: http.MethodPost, path: path + action}, err)
}

// DeleteSchedule removes a schedule; the jobs it started stay: DELETE
// /schedules/{id}.
func (c *Client) DeleteSchedule(ctx context.Context, id string) error {
	path, err := schedulePath(id)
	_, err = do[InstancesResponse](ctx, c, request{method: http.MethodDelete, path: path}, err)
	return err
}

func schedulePath(id string) (string, error) {
	if strings.TrimSpace(id) == "" {
		return "", errors.New("schedule id is empty")
	}
	return "/schedules/" + url.PathEscape(id), nil
}
