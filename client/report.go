package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// ReportOptions choose the rows of a job's CSV report. The zero value is
// the failed tasks of every POP.
type ReportOptions struct {
	AllTasks bool   // every task, not only the failed ones
	POP      string // only the tasks of this POP
}

func (o ReportOptions) apply(u *url.URL) {
	if !o.AllTasks && o.POP == "" {
		return // a signed link is sent as it came
	}
	q := u.Query()
	if o.AllTasks {
		q.Set("tasks", "all")
	}
	if o.POP != "" {
		q.Set("pop", o.POP)
	}
	u.RawQuery = q.Encode()
}

// Report streams job id's CSV report to w: GET /reports/{id}.csv with the
// API key. The CSV has a header row (pop, url, status_code, error, …).
func (c *Client) Report(ctx context.Context, id string, opts ReportOptions, w io.Writer) error {
	if strings.TrimSpace(id) == "" {
		return errors.New("job id is empty")
	}
	u := c.endpoint("/reports/"+url.PathEscape(id)+".csv", nil)
	opts.apply(u)
	return c.stream(ctx, u, true, w)
}

// DownloadReport streams the CSV behind a report link to w: a summary's
// FailurePOPURLsReport or a job's Report, made absolute against the base
// URL if it is relative. The link is signed, so the API key is not sent
// with it: it may point at another host.
func (c *Client) DownloadReport(ctx context.Context, link string, opts ReportOptions, w io.Writer) error {
	link = strings.TrimSpace(link)
	if link == "" {
		return errors.New("report link is empty")
	}
	u, err := url.Parse(link)
	if err != nil {
		return fmt.Errorf("report link %q: %w", link, err)
	}
	if !u.IsAbs() {
		base := *c.base
		base.Path += "/"
		u = base.ResolveReference(&url.URL{Path: strings.TrimPrefix(u.Path, "/"), RawQuery: u.RawQuery})
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("report link %q: not an http:// or https:// URL", link)
	}
	opts.apply(u)
	return c.stream(ctx, u, false, w)
}

// stream copies the body at u to w. Only waiting for the answer is bounded
// by the client's timeout: a large report takes as long as it takes to
// stream, under ctx.
func (c *Client) stream(ctx context.Context, u *url.URL, withKey bool, w io.Writer) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return fmt.Errorf("report link %q: %w", u, err)
	}
	c.setHeaders(req, withKey)
	req.Header.Set("Accept", "text/csv")
	var timer *time.Timer
	if c.timeout > 0 {
		timer = time.AfterFunc(c.timeout, cancel)
	}
	resp, err := c.hc.Do(req)
	timedOut := timer != nil && !timer.Stop()
	if timedOut {
		// The timer fired, perhaps just as the answer came: its body is
		// cut off either way.
		if err == nil {
			resp.Body.Close()
		}
		err = context.DeadlineExceeded
	}
	if err != nil {
		return fmt.Errorf("downloading the report: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		data, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		return fmt.Errorf("downloading the report: %w", newError(resp, data))
	}
	if _, err := io.Copy(w, resp.Body); err != nil {
		return fmt.Errorf("downloading the report: %w", err)
	}
	return nil
}
