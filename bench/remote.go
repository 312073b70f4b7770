package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"prewarm/client"
	"prewarm/internal/agent"
	"prewarm/internal/minicdn"
)

// remote: POPs far away, behind latency proxies. 5,000 small objects
// through 4 POPs 150 ms away with default flags, first warm (every task a
// MISS, then verified) and re-warm (cached), beside the round-trip bound of
// the agent's concurrency; then the same through POPs at 20, 80, 150 and
// 300 ms at once, with when each POP finished.
func (b *bench) remote() error {
	for _, rtts := range [][]time.Duration{
		{150 * time.Millisecond, 150 * time.Millisecond, 150 * time.Millisecond, 150 * time.Millisecond},
		{20 * time.Millisecond, 80 * time.Millisecond, 150 * time.Millisecond, 300 * time.Millisecond},
	} {
		if err := b.remoteCase(rtts); err != nil {
			return err
		}
	}
	return nil
}

func (b *bench) remoteCase(rtts []time.Duration) error {
	var names []string
	for _, rtt := range rtts {
		names = append(names, rtt.String())
	}
	label := strings.Join(names, "/")
	st, err := b.setUp("POPs at "+label, "remote-"+label, popSpecs(len(rtts), func(i int, s *minicdn.POPSpec) { s.RTT = rtts[i] }))
	if err != nil {
		return err
	}
	defer st.close()
	cdn, codes, srv, ctx := st.cdn, st.codes, st.srv, context.Background()
	const nURLs = 5000
	var first, again []float64
	for run := range b.runs {
		urls := make([]string, nURLs)
		for i := range urls {
			urls[i] = cdn.URL(fmt.Sprintf("/r%d/%d?size=1024", run, i))
		}
		job := client.JobRequest{URLs: urls, CFDomain: cdn.CFDomain, POPs: codes, Timeout: new(30.0)}
		for _, rates := range []*[]float64{&first, &again} {
			id, rate, err := srv.warm(ctx, job)
			if err != nil {
				return fmt.Errorf("POPs at %s: %w", label, err)
			}
			*rates = append(*rates, rate)
			if rates == &again && run == 0 && mixed(rtts) {
				b.remoteFinishes(ctx, srv, id, label)
			}
		}
	}
	// The bound: every fetch the agent may have in flight, each taking the
	// longest round trip (two for a first warm: the GET, then the request
	// that proves the copy cached).
	ceiling, far := float64(agent.DefaultConcurrency), rtts[len(rtts)-1]
	rss := float64(peakRSS(srv.PID())) / (1 << 20)
	for _, r := range []struct {
		what  string
		rates []float64
		trips float64
		bar   float64
	}{{"first warm (MISS, then verified)", first, 2, 2500}, {"re-warm (cached)", again, 1, 5000}} {
		m, bound := median(r.rates), ceiling/(r.trips*far.Seconds())
		b.add(row{
			what:     fmt.Sprintf("POPs at %s, default flags, %s, tasks/s (5,000 URLs × 4 POPs)", label, r.what),
			prewarm:  fmt.Sprintf("%.0f", m),
			baseline: fmt.Sprintf("%.0f (%.0f in flight ÷ %.0f × %s)", bound, ceiling, r.trips, far),
			ratio:    fmt.Sprintf("%.2f", m/bound),
			bar:      fmt.Sprintf("≥ %.0f: %s", r.bar, verdict(m >= r.bar)),
		})
	}
	b.add(row{what: fmt.Sprintf("serve peak RSS, POPs at %s", label), prewarm: fmt.Sprintf("%.0f MiB", rss),
		baseline: "—", ratio: "—", bar: fmt.Sprintf("< 256 MiB: %s", verdict(rss < 256))})
	return nil
}

// remoteFinishes reports when each POP of a job finished its tasks,
// against the job: a POP far away must not be starved by a near one.
func (b *bench) remoteFinishes(ctx context.Context, srv *serve, id, label string) {
	j, err := srv.Job(ctx, id)
	if err != nil {
		return
	}
	var parts []string
	for _, p := range j.POPs {
		parts = append(parts, fmt.Sprintf("%s %d/%d", p.Code, p.Done, j.TotalCount/int64(len(j.POPs))))
	}
	b.add(row{what: fmt.Sprintf("POPs at %s: tasks done per POP at the end", label), prewarm: strings.Join(parts, ", "),
		baseline: "—", ratio: "—", bar: "no POP starved"})
}

// mixed reports whether the POPs are at different distances.
func mixed(rtts []time.Duration) bool {
	for _, r := range rtts {
		if r != rtts[0] {
			return true
		}
	}
	return false
}
