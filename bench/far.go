package main

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"prewarm/client"
	"prewarm/internal/minicdn"
)

// farRTTList are the far case's round trips (-far-rtts); the first is the
// baseline. farURLs is its jobs' URLs (-far-urls).
var (
	farRTTList []time.Duration
	farURLs    = 2000
)

// far: one `prewarm agent` whose PostgreSQL is far away. The API node sits
// next to the database; the agent reaches it through a link that adds 0,
// 20, 100 or 250 ms of round trip (the POPs and the origin stay on
// loopback, so only the database is far). 2,000 URLs × 4 POPs, first warm
// (MISS, then verified) and re-warm, each beside the agent next to the
// database; and what crossed the link per 1,000 tasks. -far-urls sets the
// job's size: a small job is bound by the round trips of its start and end,
// a large one shows the rate an agent keeps up.
//
// Every round trip has its own database, node and agent, all started
// first; the runs then take turns (run 1 at 0 ms, then at 100 ms, then
// run 2…), so that what drifts over the bench (the caches' files, the
// cluster's WAL) weighs on every case alike.
func (b *bench) far(pg func() string) error {
	if pg == nil {
		return fmt.Errorf("far: needs PostgreSQL (-postgres auto or a URL)")
	}
	fmt.Fprintln(os.Stderr, "an agent far from its database")
	cdn, codes, err := startCDN(4)
	if err != nil {
		return err
	}
	defer cdn.Close()
	cases := make([]*farCase, len(farRTTList))
	for i, rtt := range farRTTList {
		c, err := b.startFarCase(cdn, pg(), rtt)
		if c != nil {
			defer c.stop()
		}
		if err != nil {
			return fmt.Errorf("far, %s: %w", rtt, err)
		}
		cases[i] = c
	}
	for run := range b.runs {
		for _, c := range cases {
			if err := c.run(cdn, codes, run); err != nil {
				return fmt.Errorf("far, %s: %w", c.rtt, err)
			}
		}
	}
	for _, c := range cases {
		b.farRows(c, cases[0])
	}
	return nil
}

// farRows reports a case beside the baseline case near.
func (b *bench) farRows(c, near *farCase) {
	for i, what := range []string{"first warm (MISS, then verified)", "re-warm (cached)"} {
		m, base := median(c.rates[i]), median(near.rates[i])
		r := row{
			what:     fmt.Sprintf("agent %s from PostgreSQL, %s, tasks/s (%d URLs × 4 POPs)", c.rtt, what, farURLs),
			prewarm:  fmt.Sprintf("%.0f", m),
			baseline: fmt.Sprintf("%.0f (the agent %s from it)", base, near.rtt),
			ratio:    fmt.Sprintf("%.2f", m/base),
		}
		if c.rtt == 100*time.Millisecond {
			r.bar = fmt.Sprintf("≥ 0.8: %s", verdict(m >= 0.8*base))
		}
		b.add(r)
	}
	stats, k := c.crossed, float64(c.tasks)/1000
	b.add(row{
		what: fmt.Sprintf("agent %s from PostgreSQL: what crossed the link per 1,000 tasks (its runs, heartbeats included)", c.rtt),
		prewarm: fmt.Sprintf("%.0f KiB up, %.0f KiB down, %.0f flights", float64(stats.BytesUp)/1024/k,
			float64(stats.BytesDown)/1024/k, float64(stats.Flights)/k),
	})
}

// farCase is an agent rtt away from a database of its own, with the API
// node beside that database, and the rates (first warm, re-warm) and tasks
// of its runs so far.
type farCase struct {
	rtt   time.Duration
	link  *minicdn.Link
	api   *serve
	agent *agentProc
	rates [2][]float64
	tasks int
	// crossed is what crossed the link during the case's own runs (not
	// the heartbeats of its idle turns).
	crossed minicdn.LinkStats
}

// startFarCase starts a case on a fresh database; stop it even when it
// returns an error.
func (b *bench) startFarCase(cdn *minicdn.CDN, database string, rtt time.Duration) (*farCase, error) {
	u, err := url.Parse(database)
	if err != nil {
		return nil, err
	}
	c := &farCase{rtt: rtt}
	if c.link, err = minicdn.StartLink("127.0.0.1", u.Host, rtt); err != nil {
		return nil, err
	}
	u.Host = c.link.Addr
	if c.api, err = b.startServe(append(fetchArgs(cdn, filepath.Join(b.dir, "far-"+rtt.String()), database), "--agents", "0")...); err != nil {
		return c, err
	}
	if c.agent, err = b.startAgent(append([]string{"--database", u.String()}, cdnArgs(cdn)...)...); err != nil {
		return c, err
	}
	return c, untilActive(context.Background(), c.api)
}

// run warms the case's URLs of run twice: first warm, then re-warm.
func (c *farCase) run(cdn *minicdn.CDN, codes []string, run int) error {
	urls := make([]string, farURLs)
	for i := range urls {
		urls[i] = cdn.URL(fmt.Sprintf("/far-%s/%d/%d?size=1024", c.rtt, run, i))
	}
	job := client.JobRequest{URLs: urls, CFDomain: cdn.CFDomain, POPs: codes, Timeout: new(30.0)}
	before := c.link.Stats()
	defer func() {
		after := c.link.Stats()
		c.crossed.BytesUp += after.BytesUp - before.BytesUp
		c.crossed.BytesDown += after.BytesDown - before.BytesDown
		c.crossed.Flights += after.Flights - before.Flights
	}()
	for i := range c.rates {
		_, rate, err := c.api.warm(context.Background(), job)
		if err != nil {
			return err
		}
		c.rates[i] = append(c.rates[i], rate)
		c.tasks += len(urls) * len(codes)
	}
	return nil
}

func (c *farCase) stop() {
	if c.agent != nil {
		c.agent.Stop()
	}
	if c.api != nil {
		c.api.stop()
	}
	c.link.Close()
}

// untilActive waits for an active agent.
func untilActive(ctx context.Context, api *serve) error {
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		in, err := api.Instances(ctx)
		if err != nil {
			return err
		}
		for _, a := range in.Agents {
			if a.State == "active" {
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("no agent active after a minute")
}
