package api

import (
	"time"

	"prewarm/client"

	"prewarm/internal/warm"
)

// The domain's values as the API answers them. They are exported so that
// `prewarm run --output json` prints exactly what the API would.

// Progress is a job's progress as GET /prewarm answers it; now is the
// answer's timestamp.
func Progress(p *warm.Progress, now time.Time) ProgressResponse {
	return ProgressResponse{
		RequestID:           p.ID,
		DownloadSize:        p.DownloadSize,
		TotalSize:           p.TotalSize,
		PercentageComplete:  p.Percent(),
		AvailableTaskCount:  p.Available(),
		InProgressTaskCount: p.Running(),
		DownloadCount:       p.Done,
		TotalCount:          p.Total,
		CreatedAt:           timestamp(p.CreatedAt),
		LastUpdateTime:      timestamp(p.UpdatedAt),
		Timestamp:           timestamp(now),
		Status:              string(p.Status),
		SuccessCount:        p.OK,
		FailedCount:         p.Failed,
		TimeoutAt:           timestamp(p.TimeoutAt),
		Planned:             p.Planned,
		Probed:              p.Probed,
		Invalidated:         p.Invalidated,
		VerifiedCount:       p.Verified,
		NotCachedCount:      p.NotCached,
		Message:             p.Message,
		Waiting:             p.Waiting,
		Priority:            string(p.Priority),
		Name:                p.Name,
		Owner:               p.Owner,
		Sharing:             p.Sharing,
		Share:               p.Share(),
		KeepWarm:            keepWarm(p),
	}
}

// keepWarm is a keep-warm job's keeping as the API shows it; nil for
// other jobs.
func keepWarm(p *warm.Progress) *client.KeepWarm {
	kw := p.KeepWarm
	if kw == nil {
		return nil
	}
	state := "keeping"
	switch {
	case p.Status.Terminal():
		state = "ended"
	case !kw.Warmed:
		state = "warming"
	}
	return &client.KeepWarm{Until: timestamp(kw.Until), RefreshHeader: kw.RefreshHeader, State: state,
		NextRewarm: timestamp(kw.Next), Kept: kw.Kept, Queued: kw.Queued, FreshToEnd: kw.Ended, NotKept: kw.NotKept,
		Rewarms: kw.Rewarms, Failed: kw.Failed}
}

// Summarize is a job as GET /jobs lists it.
func Summarize(p *warm.Progress, now time.Time) JobSummary {
	return JobSummary{ProgressResponse: Progress(p, now), CFDomain: p.CFDomain, TargetType: p.TargetType,
		URLCount: p.URLCount, POPCount: len(p.Targets), ScheduleID: p.ScheduleID}
}

// Summary is a job's failure report as GET /summary answers it, with the
// link to its CSV report (empty where no server serves one).
func Summary(sum *warm.Summary, report string, now time.Time) SummaryResponse {
	return SummaryResponse{
		RequestID:            sum.Job.ID,
		FailurePOPs:          nonNil(sum.FailurePOPs),
		FailureURLs:          nonNil(sum.FailureURLs),
		FailurePOPURLsReport: report,
		NotCachedURLs:        nonNil(sum.NotCachedURLs),
		NotCachedReasons:     notCachedReasons(sum.NotCachedReasons),
		TasksNotDone:         notDone(sum.NotDone),
		Warnings:             nonNil(sum.Warnings),
		NotKeptURLs:          notKept(sum.NotKept),
		Timestamp:            timestamp(now),
		CreatedAt:            timestamp(sum.Job.CreatedAt),
		LastUpdateTime:       timestamp(sum.Job.UpdatedAt),
		Status:               string(sum.Job.Status),
		Message:              sum.Job.Message,
	}
}

// POPs are a job's POPs as GET /jobs/{id} lists them.
func POPs(pops []warm.POPState) []POPJSON {
	out := make([]POPJSON, 0, len(pops))
	for _, pop := range pops {
		out = append(out, POPJSON{Code: pop.Code, Addresses: pop.Addresses, Error: pop.Error,
			Skipped: pop.Skipped, Done: pop.Done, OK: pop.OK, Failed: pop.Failed, Bytes: pop.Bytes,
			Verified: pop.Verified, NotCached: pop.NotCached, Unreachable: pop.Unreachable(), LastError: pop.LastError,
			After: pop.After, Location: pop.Location})
	}
	return out
}

// Job is one job in full as GET /jobs/{id} answers it.
func Job(p *warm.Progress, pops []warm.POPState, report string, now time.Time) JobResponse {
	out := POPs(pops)
	if p.Discover() != "" {
		for i := range out {
			if out[i].Country = warm.DiscoveredCountry(out[i].Code); out[i].Country == "" {
				out[i].Country = out[i].Code // a country that got no answer
			}
		}
	}
	return JobResponse{JobSummary: Summarize(p, now), Timeout: p.Timeout.Minutes(), Header: p.Headers,
		NeedInvalidate: p.NeedInvalidate, Verify: p.Verify, Encodings: p.Encodings, Expand: p.Expand,
		MaxConcurrency: p.MaxConcurrency, MaxRPS: p.MaxRPS, TierFirst: p.TierFirst, Discover: p.Discover(), Vantage: p.VantageName(), POPs: out, Report: report,
		Notification: notification(p.Notify)}
}

// notification is a job's notification as the API shows it; nil when the
// job has none.
func notification(n warm.Notification) *Notification {
	if n.URL == "" {
		return nil
	}
	out := &Notification{URL: n.URL, State: string(n.State), Attempts: n.Attempts, LastError: n.Error}
	if !n.At.IsZero() {
		out.DeliveredAt = timestamp(n.At)
	}
	return out
}

// nonNil keeps an empty list a JSON [] rather than null.
func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// DryRunJSON is a job's plan as POST /prewarm answers a dry run.
func DryRunJSON(d *warm.DryRun, now time.Time) DryRunResponse {
	out := DryRunResponse{Status: "Success", DryRun: true, Timestamp: timestamp(now), URLCount: d.URLCount,
		TotalCount: d.TotalCount, TotalSize: d.TotalSize, SizeUnknown: d.SizeUnknown, FailedURLs: nonNil(d.Failed),
		EstimatedOriginFetches: d.EstimatedOriginFetches, EstimatedEdgeBytes: d.EstimatedEdgeBytes,
		Notes: nonNil(d.Notes), POPs: []DryRunPOP{}}
	for _, p := range d.POPs {
		out.POPs = append(out.POPs, DryRunPOP{Code: p.Code, Addresses: nonNil(p.Addresses), Error: p.Error,
			Skipped: p.Skipped, After: p.After})
	}
	return out
}

func notKept(ns []warm.NotKept) []client.NotKeptURL {
	if len(ns) == 0 {
		return nil
	}
	out := make([]client.NotKeptURL, 0, len(ns))
	for _, n := range ns {
		out = append(out, client.NotKeptURL{URL: n.URL, Reason: n.Reason, POPs: n.POPs})
	}
	return out
}

func notDone(ps []warm.POPNotDone) []client.POPNotDone {
	out := make([]client.POPNotDone, 0, len(ps))
	for _, p := range ps {
		out = append(out, client.POPNotDone{POP: p.POP, Tasks: p.Tasks, LastError: p.LastError})
	}
	return out
}

func notCachedReasons(rs []warm.NotCachedReason) []client.NotCachedReason {
	out := make([]client.NotCachedReason, 0, len(rs))
	for _, r := range rs {
		out = append(out, client.NotCachedReason{Reason: r.Reason, Count: r.Count, ExampleURL: r.ExampleURL, ExamplePOP: r.ExamplePOP})
	}
	return out
}
