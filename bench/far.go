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
	var near [2]float64 // first warm, re-warm, at the first round trip
	for _, rtt := range farRTTList {
		rates, stats, tasks, err := b.farCase(cdn, codes, pg(), rtt)
		if err != nil {
			return fmt.Errorf("far, %s: %w", rtt, err)
		}
		for i, what := range []string{"first warm (MISS, then verified)", "re-warm (cached)"} {
			m := median(rates[i])
			if rtt == farRTTList[0] {
				near[i] = m
			}
			r := row{
				what:     fmt.Sprintf("agent %s from PostgreSQL, %s, tasks/s (%d URLs × 4 POPs)", rtt, what, farURLs),
				prewarm:  fmt.Sprintf("%.0f", m),
				baseline: fmt.Sprintf("%.0f (the agent %s from it)", near[i], farRTTList[0]),
				ratio:    fmt.Sprintf("%.2f", m/near[i]),
			}
			if rtt == 100*time.Millisecond {
				r.bar = fmt.Sprintf("≥ 0.8: %s", verdict(m >= 0.8*near[i]))
			}
			b.add(r)
		}
		k := float64(tasks) / 1000
		b.add(row{
			what: fmt.Sprintf("agent %s from PostgreSQL: what crossed the link per 1,000 tasks (all runs, heartbeats included)", rtt),
			prewarm: fmt.Sprintf("%.0f KiB up, %.0f KiB down, %.0f flights", float64(stats.BytesUp)/1024/k,
				float64(stats.BytesDown)/1024/k, float64(stats.Flights)/k),
		})
	}
	return nil
}

// farCase runs the jobs with the agent rtt away from a fresh database and
// returns the rates (first warm, re-warm), what crossed the link and the
// tasks done.
func (b *bench) farCase(cdn *minicdn.CDN, codes []string, database string, rtt time.Duration) ([2][]float64, minicdn.LinkStats, int, error) {
	var rates [2][]float64
	ctx := context.Background()
	u, err := url.Parse(database)
	if err != nil {
		return rates, minicdn.LinkStats{}, 0, err
	}
	link, err := minicdn.StartLink("127.0.0.1", u.Host, rtt)
	if err != nil {
		return rates, minicdn.LinkStats{}, 0, err
	}
	defer link.Close()
	u.Host = link.Addr
	api, err := b.startServe(append(fetchArgs(cdn, filepath.Join(b.dir, "far-"+rtt.String()), database), "--agents", "0")...)
	if err != nil {
		return rates, minicdn.LinkStats{}, 0, err
	}
	defer api.stop()
	agent, err := b.startAgent(append([]string{"--database", u.String()}, cdnArgs(cdn)...)...)
	if err != nil {
		return rates, minicdn.LinkStats{}, 0, err
	}
	defer agent.Stop()
	if err := untilActive(ctx, api); err != nil {
		return rates, minicdn.LinkStats{}, 0, err
	}
	nURLs := farURLs
	tasks := 0
	for run := range b.runs {
		urls := make([]string, nURLs)
		for i := range urls {
			urls[i] = cdn.URL(fmt.Sprintf("/far-%s/%d/%d?size=1024", rtt, run, i))
		}
		job := client.JobRequest{URLs: urls, CFDomain: cdn.CFDomain, POPs: codes, Timeout: new(30.0)}
		for i := range rates {
			_, rate, err := api.warm(ctx, job)
			if err != nil {
				return rates, minicdn.LinkStats{}, 0, err
			}
			rates[i] = append(rates[i], rate)
			tasks += nURLs * len(codes)
		}
	}
	return rates, link.Stats(), tasks, nil
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
