package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"prewarm/client"
	"prewarm/internal/minicdn"
)

// latency: what a user waits for. A 1-URL job on a cached object, from
// POST until a client polling every 5 ms sees it FINISHED (20 jobs,
// median); and a 1 GiB object the same way, polled every 20 ms, beside the
// wall time of curl -o /dev/null through the same POP (pairs, median of
// the ratios).
func (b *bench) latency() error {
	st, err := b.setUp("time to FINISHED", "latency", popSpecs(1, nil))
	if err != nil {
		return err
	}
	defer st.close()
	cdn, codes, srv, ctx := st.cdn, st.codes, st.srv, context.Background()
	small := cdn.URL("/one?size=1024")
	if _, err := curlSpeed(cdn, small); err != nil { // cached
		return err
	}
	var took []float64
	for range 20 {
		d, err := untilFinished(ctx, srv, client.JobRequest{URLs: []string{small}, CFDomain: cdn.CFDomain, POPs: codes}, 5*time.Millisecond)
		if err != nil {
			return err
		}
		took = append(took, float64(d.Microseconds())/1000)
	}
	m := median(took)
	b.add(row{what: "1-URL job on a cached object, POST → FINISHED seen (polled every 5 ms), ms (20 jobs)",
		prewarm: fmt.Sprintf("%.1f (p90 %.1f)", m, percentile(took, 0.9)), baseline: "—", ratio: "—",
		bar: fmt.Sprintf("≤ 50 ms: %s", verdict(m <= 50))})
	return b.largeEndToEnd(ctx, srv, cdn, codes)
}

// largeEndToEnd times a 1 GiB warm as a user sees it beside curl's.
func (b *bench) largeEndToEnd(ctx context.Context, srv *serve, cdn *minicdn.CDN, codes []string) error {
	const size = 1 << 30
	u := cdn.URL(fmt.Sprintf("/big/e2e.bin?size=%d", size))
	if _, err := curlSpeed(cdn, u); err != nil { // cached
		return err
	}
	var ours, curls, ratios []float64
	for range max(b.runs, 5) {
		d, err := untilFinished(ctx, srv, client.JobRequest{URLs: []string{u}, CFDomain: cdn.CFDomain, POPs: codes}, 20*time.Millisecond)
		if err != nil {
			return err
		}
		start := time.Now()
		if _, err := curlSpeed(cdn, u); err != nil {
			return err
		}
		c := time.Since(start)
		ours, curls = append(ours, d.Seconds()), append(curls, c.Seconds())
		ratios = append(ratios, c.Seconds()/d.Seconds())
		fmt.Fprintf(os.Stderr, "  pair %d: prewarm %v, curl %v\n", len(ours), d.Round(time.Millisecond), c.Round(time.Millisecond))
	}
	r := median(ratios)
	b.add(row{what: fmt.Sprintf("1 GiB, POST → FINISHED seen (polled every 20 ms), s (%d pairs)", len(ratios)),
		prewarm: fmt.Sprintf("%.3f", median(ours)), baseline: fmt.Sprintf("%.3f (curl -o /dev/null, wall time)", median(curls)),
		ratio: fmt.Sprintf("%.2f (curl's time ÷ ours, median of the pairs')", r), bar: fmt.Sprintf("≥ 0.9: %s", verdict(r >= 0.9))})
	return nil
}

// untilFinished is the time from POST until a client polling every
// interval sees the job FINISHED.
func untilFinished(ctx context.Context, srv *serve, job client.JobRequest, interval time.Duration) (time.Duration, error) {
	start := time.Now()
	ans, err := srv.Submit(ctx, job)
	if err != nil {
		return 0, err
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	p, err := srv.Wait(ctx, ans.RequestID, &client.WaitOptions{Interval: interval})
	if err != nil {
		return 0, err
	}
	if p.Status != client.StatusFinished || p.FailedCount != 0 {
		return 0, fmt.Errorf("job %s: %+v", ans.RequestID, p)
	}
	return time.Since(start), nil
}
