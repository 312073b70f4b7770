package api

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"prewarm/internal/report"
	"prewarm/internal/warm"
)

// postPrewarm starts a job: POST /prewarm.
func (s *Server) postPrewarm(r *http.Request) (any, error) {
	f, err := readFields(r, s.cfg.Service.Limits.TooManyURLs)
	if err != nil {
		return nil, err
	}
	spec, dryRun, err := jobSpec(f)
	if err != nil {
		return nil, err
	}
	if dryRun {
		plan, err := s.cfg.Service.DryRun(r.Context(), spec)
		if err != nil {
			return nil, err
		}
		return DryRunJSON(plan, s.cfg.Now()), nil
	}
	spec.Owner = KeyName(r.Context())
	job, err := s.cfg.Service.Submit(r.Context(), spec)
	if err != nil {
		return nil, err
	}
	s.cfg.Log.Info("job accepted", "job", job.ID, "urls", job.URLCount, "pops", len(job.Targets), "key", job.Owner)
	return SubmitResponse{Status: "Success", ErrorURLs: []string{}, RequestID: job.ID,
		Timestamp: timestamp(s.cfg.Now()), TimeoutAt: timestamp(job.TimeoutAt)}, nil
}

func reqID(r *http.Request) (string, error) {
	id := strings.TrimSpace(r.URL.Query().Get("req_id"))
	if id == "" {
		return "", warm.Invalid("req_id", "query parameter is required")
	}
	return id, nil
}

func (s *Server) progress(p *warm.Progress) ProgressResponse { return Progress(p, s.cfg.Now()) }

func (s *Server) summarize(p *warm.Progress) JobSummary { return Summarize(p, s.cfg.Now()) }

// byReqID is a handler of the job named by the req_id query parameter.
func byReqID(h func(r *http.Request, id string) (any, error)) handler {
	return func(r *http.Request) (any, error) {
		id, err := reqID(r)
		if err != nil {
			return nil, err
		}
		return h(r, id)
	}
}

// getPrewarm reports a job's progress: GET /prewarm?req_id=ID.
func (s *Server) getPrewarm(r *http.Request, id string) (any, error) {
	p, err := s.cfg.Service.Progress(r.Context(), id)
	if err != nil {
		return nil, err
	}
	return s.progress(p), nil
}

// getSummary reports a job's failures: GET /summary?req_id=ID.
func (s *Server) getSummary(r *http.Request, id string) (any, error) {
	sum, err := s.cfg.Service.Summary(r.Context(), id)
	if err != nil {
		return nil, err
	}
	return Summary(sum, s.reportURL(r, id), s.cfg.Now()), nil
}

// reportURL is the signed link to a job's CSV report, valid for the
// link TTL: absolute under --public-url, else relative to the API.
func (s *Server) reportURL(r *http.Request, id string) string {
	secret, err := s.secrets.get(r.Context())
	if err != nil {
		s.cfg.Log.Error("report link: secret", "err", err)
		return ""
	}
	expires := s.cfg.Now().Add(s.cfg.ReportLinkTTL).Unix()
	return fmt.Sprintf("%s/reports/%s.csv?expires=%d&token=%s", strings.TrimSuffix(s.cfg.PublicURL, "/"),
		url.PathEscape(id), expires, reportToken(secret, id, expires))
}

// rotateReportSecret replaces the secret report links are signed with:
// POST /report-secret/rotate.
func (s *Server) rotateReportSecret(r *http.Request) (any, error) {
	if err := s.cfg.RotateReportSecret(r.Context()); err != nil {
		return nil, err
	}
	s.secrets.forget()
	s.cfg.Log.Info("report secret rotated", "key", KeyName(r.Context()))
	return map[string]string{"status": "success", "message": "report links given so far no longer open; " +
		"other servers on this database follow within a minute", "timestamp": timestamp(s.cfg.Now())}, nil
}

// reportLinkError says why a report link does not open, or nil when it
// does.
func (s *Server) reportLinkError(r *http.Request, id string) error {
	q := r.URL.Query()
	token := q.Get("token")
	if token == "" {
		return errNoToken
	}
	expires, err := strconv.ParseInt(q.Get("expires"), 10, 64)
	secret, serr := s.secrets.get(r.Context())
	switch {
	case serr != nil:
		return serr
	case err != nil || !validReportToken(secret, id, expires, token):
		// Altered, for another job, signed by another server or before a
		// rotation, or a link from before links expired.
		return &httpError{status: http.StatusForbidden, msg: "this report link is not valid for job " + id +
			" (altered, signed by another server, or its secret was rotated): ask GET /summary for a fresh one, or send the API key"}
	case s.cfg.Now().Unix() > expires:
		return &httpError{status: http.StatusForbidden, msg: "this report link expired at " +
			timestamp(time.Unix(expires, 0)) + ": ask GET /summary for a fresh one, or send the API key"}
	}
	return nil
}

var errNoToken = errors.New("no token")

// getReport streams a job's failed tasks as CSV: GET /reports/ID.csv, with
// the API key or the link's token. ?tasks=all lists every task.
func (s *Server) getReport(w http.ResponseWriter, r *http.Request) {
	id, ok := strings.CutSuffix(r.PathValue("file"), ".csv")
	if !ok || id == "" {
		s.writeError(w, r, errNotFoundRoute)
		return
	}
	if linkErr := s.reportLinkError(r, id); linkErr != nil {
		if _, err := s.keys.check(r, ScopeRead); err != nil {
			if !errors.Is(linkErr, errNoToken) {
				err = linkErr // say what is wrong with the link, not that a header is missing
			}
			s.writeError(w, r, err)
			return
		}
	}
	if _, err := s.cfg.Service.Job(r.Context(), id); err != nil {
		s.writeError(w, r, err)
		return
	}
	filter := warm.TaskFilter{FailedOnly: r.URL.Query().Get("tasks") != "all", POP: r.URL.Query().Get("pop")}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="prewarm-%s.csv"`, id))
	// A report may be long: each thousand rows sent buys the next
	// writeTimeout, so a client that reads gets it all and one that stops
	// reading is cut off.
	rc := http.NewResponseController(w)
	out, err := report.NewCSV(w)
	if err == nil {
		out.Flushed = func() { _ = rc.SetWriteDeadline(time.Now().Add(writeTimeout)) }
		err = s.cfg.Service.Tasks(r.Context(), id, filter, out.Write)
	}
	if err == nil {
		err = out.Close()
	}
	if err != nil {
		// Headers are gone; all that can be done is to log and cut the body.
		s.cfg.Log.Error("report failed", "job", id, "err", err)
	}
}

// listJobs lists recent jobs: GET /jobs?status=IN_PROGRESS&limit=50.
func (s *Server) listJobs(r *http.Request) (any, error) {
	q := r.URL.Query()
	var err error
	f := warm.JobFilter{Status: warm.Status(strings.ToUpper(q.Get("status")))}
	if f.Status != "" && !f.Status.Valid() {
		return nil, warm.Invalid("status", "%q is not a job status", q.Get("status"))
	}
	if l := q.Get("limit"); l != "" {
		if f.Limit, err = strconv.Atoi(l); err != nil || f.Limit < 1 || f.Limit > 1000 {
			return nil, warm.Invalid("limit", "must be a number in 1..1000")
		}
	}
	jobs, err := s.cfg.Service.ListJobs(r.Context(), f)
	if err != nil {
		return nil, err
	}
	out := make([]JobSummary, len(jobs))
	for i := range jobs {
		out[i] = s.summarize(&jobs[i])
	}
	return map[string]any{"jobs": out}, nil
}

// getJob is a job's progress with its POPs: GET /jobs/{id}.
func (s *Server) getJob(r *http.Request) (any, error) {
	id := r.PathValue("id")
	p, pops, err := s.cfg.Service.JobDetail(r.Context(), id)
	if err != nil {
		return nil, err
	}
	return Job(p, pops, s.reportURL(r, id), s.cfg.Now()), nil
}

// stopJob force-stops one job: POST /jobs/{id}/stop.
func (s *Server) stopJob(r *http.Request) (any, error) {
	if err := s.mayChangeJob(r); err != nil {
		return nil, err
	}
	job, err := s.cfg.Service.Stop(r.Context(), r.PathValue("id"))
	if err != nil {
		return nil, err
	}
	s.cfg.Log.Info("job stopped", "job", job.ID, "key", KeyName(r.Context()))
	return map[string]string{"status": "success", "message": "job " + job.ID + " stopped", "timestamp": timestamp(s.cfg.Now())}, nil
}

// jobSpec reads a job body: POST /prewarm's, or a schedule's job. Every
// field is read or refused.
func jobSpec(f *fields) (warm.JobSpec, bool, error) {
	var spec warm.JobSpec
	var dryRun bool
	for _, step := range []func() error{
		func() (err error) { spec.URLs, err = f.strings("url_list"); return },
		func() (err error) { spec.CFDomain, err = f.str("cf_domain"); return },
		func() (err error) { spec.TargetType, err = f.str("target_type"); return },
		func() (err error) { spec.POPs, err = f.strings("pops"); return },
		func() (err error) { spec.Countries, err = f.strings("countries"); return },
		func() (err error) { spec.Regions, err = f.strings("regions"); return },
		func() (err error) { spec.TimeoutMinutes, err = f.number("timeout"); return },
		func() (err error) { spec.Headers, err = f.strings("header"); return },
		func() (err error) { spec.InstanceCount, err = f.integer("instance_count"); return },
		func() (err error) { spec.NeedInvalidate, err = f.boolean("need_invalidate"); return },
		func() (err error) { spec.DistributionID, err = f.str("distribution_id"); return },
		func() (err error) { spec.Verify, err = f.optionalBool("verify"); return },
		func() (err error) { spec.Encodings, err = f.strings("encodings"); return },
		func() (err error) { spec.Expand, err = f.stringOrList("expand"); return },
		func() (err error) { spec.MaxConcurrency, err = f.integer("max_concurrency"); return },
		func() (err error) { spec.MaxRPS, err = f.number("max_rps"); return },
		func() (err error) { spec.TierFirst, err = f.optionalBool("tier_first"); return },
		func() (err error) { spec.Priority, err = f.str("priority"); return },
		func() (err error) { spec.Name, err = f.str("name"); return },
		func() (err error) { spec.NotifyURL, err = f.str("notify_url"); return },
		func() (err error) { spec.ChangedSince, err = f.str("changed_since"); return },
		func() (err error) { spec.Discover, err = f.str("discover"); return },
		func() (err error) { spec.Vantage, err = f.str("vantage"); return },
		func() (err error) { spec.KeepWarmUntil, err = f.str("keep_warm_until"); return },
		func() (err error) { spec.RefreshHeader, err = f.str("refresh_header"); return },
		func() (err error) { spec.KeepWarmFor, err = f.str("keep_warm_for"); return },
		func() (err error) { dryRun, err = f.boolean("dry_run"); return },
		f.unknown,
	} {
		if err := step(); err != nil {
			return spec, false, err
		}
	}
	return spec, dryRun, nil
}
