package client

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"time"
)

// WaitOptions tune Wait. The zero value (or nil) polls every second until
// the job ends, through up to 30 seconds of server failures.
type WaitOptions struct {
	// Interval is the time between two polls (default 1s).
	Interval time.Duration
	// Until, when set, ends the wait as soon as it holds, even before the
	// job ends ("until every task is planned").
	Until func(*ProgressResponse) bool
	// OnProgress is called with every answer, the last one included, as
	// a progress display wants.
	OnProgress func(*ProgressResponse)
	// Grace is how long polling goes on through a server that cannot be
	// reached or fails (5xx, 429) after it has answered once, as during a
	// restart or a deploy (default 30s; negative: not at all). The first
	// poll is never retried: a wrong address or job id fails at once.
	Grace time.Duration
}

// Wait polls job id's progress until it ends (or opts.Until holds) and
// returns the last answer. It stops with ctx.
func (c *Client) Wait(ctx context.Context, id string, opts *WaitOptions) (*ProgressResponse, error) {
	var o WaitOptions
	if opts != nil {
		o = *opts
	}
	if o.Interval <= 0 {
		o.Interval = time.Second
	}
	if o.Grace == 0 {
		o.Grace = 30 * time.Second
	}
	tick := time.NewTicker(o.Interval)
	defer tick.Stop()
	var answered bool
	var failingSince time.Time
	for {
		p, err := c.Progress(ctx, id)
		switch {
		case err == nil:
			answered, failingSince = true, time.Time{}
			if o.OnProgress != nil {
				o.OnProgress(p)
			}
			if p.Ended() || o.Until != nil && o.Until(p) {
				return p, nil
			}
		case ctx.Err() != nil:
			return nil, fmt.Errorf("waiting for job %s: %w", id, ctx.Err())
		case answered && retryable(err):
			if failingSince.IsZero() {
				failingSince = time.Now()
			}
			if time.Since(failingSince) > o.Grace {
				return nil, fmt.Errorf("waiting for job %s: no answer for %s: %w", id, o.Grace, err)
			}
		default:
			return nil, err
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("waiting for job %s: %w", id, ctx.Err())
		case <-tick.C:
		}
	}
}

// retryable reports whether a failed poll is worth repeating: the request
// got no answer (the server restarting, a call that timed out), or the
// server failed itself or asked to slow down. An answer that says the
// request is wrong (4xx) is final.
func retryable(err error) bool {
	var e *Error
	if errors.As(err, &e) {
		return e.retryable()
	}
	var noAnswer *url.Error // what http.Client.Do returns
	return errors.As(err, &noAnswer)
}
