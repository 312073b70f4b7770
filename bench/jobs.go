package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	"prewarm/client"
)

// jobs: many jobs at once, on the embedded database with one agent. A
// 1-URL job submitted while a 200,000-task job runs (50,000 URLs × 4
// POPs), from POST until a client sees it FINISHED, beside the big job's
// throughput alone; a burst of 2,000 one-URL jobs, until the last is
// FINISHED; and a high and a normal job of equal size started together.
func (b *bench) jobs() error {
	st, err := b.setUp("many jobs at once", "jobs", popSpecs(4, nil), "--api-key", secondKey)
	if err != nil {
		return err
	}
	defer st.close()
	cdn, codes, srv, ctx := st.cdn, st.codes, st.srv, context.Background()
	small := cdn.URL("/one/cached?size=1024")
	if _, err := curlSpeed(cdn, small); err != nil {
		return err
	}
	one := client.JobRequest{URLs: []string{small}, CFDomain: cdn.CFDomain, POPs: codes[:1]}
	if err := b.smallBesideBig(ctx, srv, cdn.URL, codes, one); err != nil {
		return err
	}
	if err := b.highBesideNormal(ctx, srv, cdn.URL, cdn.CFDomain, codes); err != nil {
		return err
	}
	if err := b.keysShare(ctx, srv, cdn.URL, cdn.CFDomain, codes); err != nil {
		return err
	}
	return b.burst(ctx, srv, one, 2000)
}

// highBesideNormal starts a normal and a high job of equal size together
// (the normal one first) and reports when each finished.
func (b *bench) highBesideNormal(ctx context.Context, srv *serve, url func(string) string, cf string, codes []string) error {
	ends := map[string]time.Duration{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	start := time.Now()
	var firstErr error
	for _, prio := range []string{"normal", "high"} {
		urls := make([]string, 10_000)
		for i := range urls {
			urls[i] = url(fmt.Sprintf("/prio-%s/%d?size=1024", prio, i))
		}
		ans, err := srv.Submit(ctx, client.JobRequest{URLs: urls, CFDomain: cf, POPs: codes, Priority: prio})
		if err != nil {
			return err
		}
		wg.Go(func() {
			_, err := srv.wait(ctx, ans.RequestID, 20*time.Minute)
			mu.Lock()
			defer mu.Unlock()
			if err != nil && firstErr == nil {
				firstErr = err
			}
			ends[prio] = time.Since(start)
		})
	}
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	b.add(row{what: "a high and a normal job of 40,000 tasks started together (normal first): FINISHED after",
		prewarm:  fmt.Sprintf("high %.1f s, normal %.1f s", ends["high"].Seconds(), ends["normal"].Seconds()),
		baseline: "—", ratio: "—", bar: fmt.Sprintf("the high one first: %s", verdict(ends["high"] < ends["normal"]))})
	return nil
}

// secondKey is a second key of the jobs case's server (named key-2): jobs
// of two keys.
const secondKey = "bench-key-second-0123456789"

// keysShare starts three jobs with one key, then one of the same size with
// another, and reports how much of the agents the second key's job got
// while it ran: about half when keys share alike, a quarter when the four
// jobs do.
func (b *bench) keysShare(ctx context.Context, srv *serve, url func(string) string, cf string, codes []string) error {
	other, err := client.New(srv.URL, secondKey)
	if err != nil {
		return err
	}
	submit := func(c *client.Client, name string) (string, error) {
		urls := make([]string, 10_000)
		for i := range urls {
			urls[i] = url(fmt.Sprintf("/keys-%s/%d?size=1024", name, i))
		}
		ans, err := c.Submit(ctx, client.JobRequest{URLs: urls, CFDomain: cf, POPs: codes, Name: name})
		if err != nil {
			return "", err
		}
		return ans.RequestID, nil
	}
	var first []string
	for i := range 3 {
		id, err := submit(srv.Client, fmt.Sprintf("first%d", i))
		if err != nil {
			return err
		}
		first = append(first, id)
	}
	doneFirst := func() (int64, error) {
		var done int64
		for _, f := range first {
			fp, err := srv.Progress(ctx, f)
			if err != nil {
				return 0, err
			}
			done += fp.DownloadCount
		}
		return done, nil
	}
	id, err := submit(other, "second")
	if err != nil {
		return err
	}
	start := time.Now()
	// The share is taken while the second job is between a quarter and
	// three quarters done: its start waits for the windows the first
	// key's jobs queued before it existed, and its end has no rival.
	var from, to [2]int64 // the second job's tasks done, the first's
	for {
		p, err := srv.Progress(ctx, id)
		if err != nil {
			return err
		}
		firstDone, err := doneFirst()
		if err != nil {
			return err
		}
		switch {
		case from[0] == 0 && p.DownloadCount*4 >= p.TotalCount && p.Planned:
			from = [2]int64{p.DownloadCount, firstDone}
		case to[0] == 0 && p.DownloadCount*4 >= 3*p.TotalCount && p.Planned:
			to = [2]int64{p.DownloadCount, firstDone}
		}
		if p.Ended() {
			break
		}
		time.Sleep(100 * time.Millisecond) // a poll interval
	}
	took := time.Since(start)
	for _, f := range first {
		if _, err := srv.wait(ctx, f, 20*time.Minute); err != nil {
			return err
		}
	}
	second, firstKey := to[0]-from[0], to[1]-from[1]
	if second <= 0 {
		return fmt.Errorf("keys: the second job was never seen between a quarter and three quarters done")
	}
	share := float64(second) / float64(second+firstKey)
	b.add(row{what: "3 jobs of one key, then 1 of another (40,000 tasks each): the second key's part of the tasks done while its job went from 25 to 75 %",
		prewarm: fmt.Sprintf("%.0f %% (FINISHED after %.1f s)", 100*share, took.Seconds()), baseline: "25 % (shared by job)",
		ratio: fmt.Sprintf("%.2f", share/0.25), bar: fmt.Sprintf("about half: %s", verdict(share >= 0.4))})
	return nil
}

// smallBesideBig times a 1-URL job submitted 3 s into a big job.
func (b *bench) smallBesideBig(ctx context.Context, srv *serve, url func(string) string, codes []string, one client.JobRequest) error {
	urls := make([]string, 50_000)
	for i := range urls {
		urls[i] = url(fmt.Sprintf("/big-job/%d?size=1024", i))
	}
	big := client.JobRequest{URLs: urls, CFDomain: one.CFDomain, POPs: codes, Timeout: new(30.0)}
	start := time.Now()
	ans, err := srv.Submit(ctx, big)
	if err != nil {
		return err
	}
	time.Sleep(3 * time.Second) // the big job well under way: a measurement's setting, not a wait for a condition
	took, err := untilFinished(ctx, srv, one, 5*time.Millisecond)
	if err != nil {
		return err
	}
	p, err := srv.wait(ctx, ans.RequestID, 20*time.Minute)
	if err != nil {
		return err
	}
	bigRate := float64(p.TotalCount) / time.Since(start).Seconds()
	b.add(row{what: "1-URL job submitted 3 s into a 200,000-task job, POST → FINISHED seen",
		prewarm: fmt.Sprintf("%.3f s", took.Seconds()), baseline: fmt.Sprintf("big job: %.0f tasks/s", bigRate),
		ratio: "—", bar: fmt.Sprintf("≤ 1 s: %s", verdict(took <= time.Second))})
	return nil
}

// burst submits n one-URL jobs as fast as it can and times until the last
// is FINISHED.
func (b *bench) burst(ctx context.Context, srv *serve, one client.JobRequest, n int) error {
	ids := make([]string, n)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	start := time.Now()
	for w := range 16 {
		wg.Go(func() {
			for i := w; i < n; i += 16 {
				ans, err := srv.Submit(ctx, one)
				mu.Lock()
				if err != nil && firstErr == nil {
					firstErr = err
				}
				if err == nil {
					ids[i] = ans.RequestID
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	posted := time.Since(start)
	lastPost := time.Now()
	for _, id := range ids {
		p, err := srv.wait(ctx, id, 10*time.Minute)
		if err != nil {
			return err
		}
		if p.Status != client.StatusFinished {
			return fmt.Errorf("burst job %s: %+v", id, p)
		}
	}
	after := time.Since(lastPost)
	rate := float64(n) / time.Since(start).Seconds()
	b.add(row{what: fmt.Sprintf("burst of %d one-URL jobs: last FINISHED after the last POST (POSTs took %.1f s)", n, posted.Seconds()),
		prewarm: fmt.Sprintf("%.1f s (%.0f jobs/s end to end)", after.Seconds(), rate), baseline: "—", ratio: "—",
		bar: fmt.Sprintf("≤ 4 s, ≥ 500 jobs/s: %s", verdict(after <= 4*time.Second && rate >= 500))})
	return nil
}
