package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
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

// absolute makes a link the server gave relative (a server without
// --public-url) absolute against the client's base URL; others are kept.
func (c *Client) absolute(link string) string {
	u, err := url.Parse(link)
	if link == "" || err != nil || u.IsAbs() {
		return link
	}
	base := *c.base
	base.Path = strings.TrimSuffix(base.Path, "/") + "/"
	return base.ResolveReference(&url.URL{Path: strings.TrimPrefix(u.Path, "/"), RawQuery: u.RawQuery}).String()
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
	u, err := url.Parse(c.absolute(link))
	if err != nil {
		return fmt.Errorf("report link %q: %w", link, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("report link %q: not an http:// or https:// URL", link)
	}
	opts.apply(u)
	return c.stream(ctx, u, false, w)
}

// RotateReportSecret replaces the secret report links are signed with:
// POST /report-secret/rotate, with an admin key. Every link given so far
// stops opening; servers sharing the database follow within a minute.
func (c *Client) RotateReportSecret(ctx context.Context) (*InstancesResponse, error) {
	return do[InstancesResponse](ctx, c, request{method: http.MethodPost, path: "/report-secret/rotate"}, nil)
}
