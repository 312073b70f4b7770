package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"prewarm/client"
	"prewarm/internal/minicdn"
)

func startCDN(n int) (*minicdn.CDN, []string, error) {
	specs := make([]minicdn.POPSpec, n)
	codes := make([]string, n)
	for i := range specs {
		codes[i] = fmt.Sprintf("BEN%d-P1", i+1)
		specs[i] = minicdn.POPSpec{Code: codes[i]}
	}
	cdn, err := minicdn.Start(context.Background(), minicdn.Options{POPs: specs})
	return cdn, codes, err
}

// cdnArgs are the fetch flags that point any prewarm process at the CDN.
func cdnArgs(cdn *minicdn.CDN) []string {
	return []string{"--dns-server", cdn.DNSAddr, "--ca-file", cdn.CAFile, "--allow-private-edges"}
}

func fetchArgs(cdn *minicdn.CDN, dataDir, database string) []string {
	args := append(cdnArgs(cdn), "--data-dir", dataDir)
	if database != "" {
		args = append(args, "--database", database)
	}
	return args
}

func engine(database string) string {
	if database != "" {
		return "PostgreSQL"
	}
	return "SQLite"
}

// small: 5,000 cached 1 KiB objects × 4 POPs, re-warmed, beside a curl
// process per task (6 in parallel, the original agent's way, without its
// 1 s sleep) and wrk's ceiling on one object.
func (b *bench) small(database string) error {
	fmt.Fprintf(os.Stderr, "small objects on %s\n", engine(database))
	cdn, codes, err := startCDN(4)
	if err != nil {
		return err
	}
	defer cdn.Close()
	const nURLs = 5000
	urls := make([]string, nURLs)
	for i := range urls {
		urls[i] = cdn.URL(fmt.Sprintf("/s/%d?size=1024", i))
	}
	srv, err := b.startServe(fetchArgs(cdn, filepath.Join(b.dir, "small-"+engine(database)), database)...)
	if err != nil {
		return err
	}
	defer srv.stop()
	ctx := context.Background()
	job := client.JobRequest{URLs: urls, CFDomain: cdn.CFDomain, POPs: codes, Timeout: new(30.0)}
	// The first job fills the caches; the measured ones re-warm.
	var rates []float64
	for run := 0; run <= b.runs; run++ {
		_, rate, err := srv.warm(ctx, job)
		if err != nil {
			return err
		}
		if run > 0 {
			rates = append(rates, rate)
		}
	}
	prewarm := median(rates)

	// The baseline does not depend on prewarm's database: measured once.
	if b.curlRate == 0 {
		var curlRates []float64
		for range b.runs {
			r, err := curlPerTask(cdn, urls[:300], 6)
			if err != nil {
				return err
			}
			curlRates = append(curlRates, r)
		}
		b.curlRate = median(curlRates)
	}
	curlRate := b.curlRate
	b.add(row{
		what:     fmt.Sprintf("small cached objects, tasks/s (5,000 URLs × 4 POPs, %s, POST to FINISHED)", engine(database)),
		prewarm:  fmt.Sprintf("%.0f", prewarm),
		baseline: fmt.Sprintf("%.0f (curl process per task, 6 parallel)", curlRate),
		ratio:    fmt.Sprintf("%.1f×", prewarm/curlRate),
		bar:      fmt.Sprintf("≥ 5,000: %s", verdict(prewarm >= 5000)),
	})
	if database == "" {
		var wrkRates []float64
		for range b.runs {
			r, err := wrk(cdn, urls[0])
			if err != nil {
				return err
			}
			wrkRates = append(wrkRates, r)
		}
		w := median(wrkRates)
		b.add(row{
			what:     "nginx ceiling on one object (wrk, 64 connections, 5 s)",
			prewarm:  fmt.Sprintf("%.0f tasks/s", prewarm),
			baseline: fmt.Sprintf("%.0f requests/s", w),
			ratio:    fmt.Sprintf("%.2f", prewarm/w),
			bar:      "toward 15,000 tasks/s",
		})
	}
	return nil
}

// curlPerTask runs `curl -o /dev/null` once per task (URL × POP), with par
// processes at once, and returns tasks/s.
func curlPerTask(cdn *minicdn.CDN, urls []string, par int) (float64, error) {
	type task struct{ url, ip string }
	var tasks []task
	for _, pop := range cdn.POPs {
		for _, u := range urls {
			tasks = append(tasks, task{u, pop.IP})
		}
	}
	work := make(chan task)
	errs := make(chan error, par)
	var wg sync.WaitGroup
	start := time.Now()
	for range par {
		wg.Go(func() {
			for t := range work {
				resolve := fmt.Sprintf("%s:%d:%s", minicdn.SiteHost, cdn.HTTPPort, t.ip)
				if out, err := exec.Command("curl", "-sS", "-o", "/dev/null", "--resolve", resolve, t.url).CombinedOutput(); err != nil {
					errs <- fmt.Errorf("curl: %v %s", err, out)
					return
				}
			}
		})
	}
	for _, t := range tasks {
		work <- t
	}
	close(work)
	wg.Wait()
	select {
	case err := <-errs:
		return 0, err
	default:
	}
	return float64(len(tasks)) / time.Since(start).Seconds(), nil
}

var wrkRate = regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`)

func wrk(cdn *minicdn.CDN, u string) (float64, error) {
	direct := strings.Replace(u, minicdn.SiteHost, cdn.POPs[0].IP, 1)
	out, err := exec.Command("wrk", "-t2", "-c64", "-d5s", "-H", fmt.Sprintf("Host: %s:%d", minicdn.SiteHost, cdn.HTTPPort), direct).CombinedOutput()
	if err != nil {
		return 0, fmt.Errorf("wrk: %v %s", err, out)
	}
	m := wrkRate.FindSubmatch(out)
	if m == nil {
		return 0, fmt.Errorf("wrk output: %s", out)
	}
	return strconv.ParseFloat(string(m[1]), 64)
}

// large: a 1 GiB object through one POP from a warm cache, beside
// curl -o /dev/null, and the peak RSS of the process that fetched it; with
// PostgreSQL, also of a lone agent process.
func (b *bench) large(database string) error {
	fmt.Fprintln(os.Stderr, "1 GiB object")
	cdn, codes, err := startCDN(1)
	if err != nil {
		return err
	}
	defer cdn.Close()
	const size = 1 << 30
	u := cdn.URL(fmt.Sprintf("/big/1g.bin?size=%d", size))
	if _, err := curlSpeed(cdn, u); err != nil { // fill the cache
		return err
	}
	srv, err := b.startServe(fetchArgs(cdn, filepath.Join(b.dir, "large"), "")...)
	if err != nil {
		return err
	}
	defer srv.stop()
	ctx := context.Background()
	// Each pair of fetches, prewarm's then curl's, shares the machine's
	// state of the moment; single fetches here swing by 2x either way, so
	// the ratio is the median of at least 7 pairs' ratios.
	var ours, curls, ratios []float64
	for range max(b.runs, 7) {
		id, err := warmOne(ctx, srv, cdn, codes, u, size)
		if err != nil {
			return err
		}
		d, err := taskDuration(ctx, srv, id)
		if err != nil {
			return err
		}
		ours = append(ours, size/d.Seconds()/1e6)
		c, err := curlSpeed(cdn, u)
		if err != nil {
			return err
		}
		curls = append(curls, c/1e6)
		ratios = append(ratios, ours[len(ours)-1]/curls[len(curls)-1])
		fmt.Fprintf(os.Stderr, "  pair %d: prewarm %.0f MB/s, curl %.0f MB/s\n", len(ours), ours[len(ours)-1], c/1e6)
	}
	r := median(ratios)
	b.add(row{
		what:     fmt.Sprintf("1 GiB object through one POP, warm cache, MB/s (%d pairs)", len(ratios)),
		prewarm:  fmt.Sprintf("%.0f", median(ours)),
		baseline: fmt.Sprintf("%.0f (curl -o /dev/null)", median(curls)),
		ratio:    fmt.Sprintf("%.2f (median of the pairs')", r),
		bar:      fmt.Sprintf("≥ 0.9× curl: %s", verdict(r >= 0.9)),
	})
	b.addRSS("peak RSS of the serve process that fetched it (API + agent)", srv.PID(), 128)
	if database == "" {
		return nil
	}
	// A fleet: the API alone, and one agent process that does the fetching.
	api, err := b.startServe(append(fetchArgs(cdn, filepath.Join(b.dir, "large-fleet"), database), "--agents", "0")...)
	if err != nil {
		return err
	}
	defer api.stop()
	agent, err := b.startAgent(append([]string{"--database", database}, cdnArgs(cdn)...)...)
	if err != nil {
		return err
	}
	defer agent.Kill()
	for range b.runs {
		if _, err := warmOne(ctx, api, cdn, codes, u, size); err != nil {
			return err
		}
	}
	b.addRSS("peak RSS of a prewarm agent process fetching it (PostgreSQL fleet)", agent.PID(), 64)
	return nil
}

// addRSS adds a row of process pid's peak RSS against a bar of maxMiB.
func (b *bench) addRSS(what string, pid int, maxMiB int64) {
	rss := peakRSS(pid)
	b.add(row{
		what:     what,
		prewarm:  fmt.Sprintf("%.1f MiB", float64(rss)/(1<<20)),
		baseline: "—",
		ratio:    "—",
		bar:      fmt.Sprintf("< %d MiB: %s", maxMiB, verdict(rss < maxMiB<<20)),
	})
}

// warmOne warms one URL of a known size and waits for it to be done.
func warmOne(ctx context.Context, srv *serve, cdn *minicdn.CDN, codes []string, u string, size int64) (string, error) {
	id, _, err := srv.submit(ctx, client.JobRequest{URLs: []string{u}, CFDomain: cdn.CFDomain, POPs: codes})
	if err != nil {
		return "", err
	}
	p, err := srv.wait(ctx, id, 5*time.Minute)
	if err != nil {
		return "", fmt.Errorf("warming %s: %w", u, err)
	}
	if p.Status != client.StatusFinished || p.DownloadSize != size {
		return "", fmt.Errorf("warming %s: %+v", u, p)
	}
	return id, nil
}

func curlSpeed(cdn *minicdn.CDN, u string) (float64, error) {
	resolve := fmt.Sprintf("%s:%d:%s", minicdn.SiteHost, cdn.HTTPPort, cdn.POPs[0].IP)
	out, err := exec.Command("curl", "-sS", "-o", "/dev/null", "-w", "%{speed_download}", "--resolve", resolve, u).CombinedOutput()
	if err != nil {
		return 0, fmt.Errorf("curl: %v %s", err, out)
	}
	return strconv.ParseFloat(strings.TrimSpace(string(out)), 64)
}

// taskDuration reads the only task's duration from the job's full report.
func taskDuration(ctx context.Context, srv *serve, id string) (time.Duration, error) {
	var report bytes.Buffer
	if err := srv.Report(ctx, id, client.ReportOptions{AllTasks: true}, &report); err != nil {
		return 0, err
	}
	rows, err := csv.NewReader(&report).ReadAll()
	if err != nil || len(rows) != 2 {
		return 0, fmt.Errorf("report: %v %v", rows, err)
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	ms, err := strconv.ParseFloat(rows[1][col["duration_ms"]], 64)
	return time.Duration(ms * float64(time.Millisecond)), err
}

// plan: a 100,000-URL × 10-POP job: time to accept the POST, time until
// every task is planned, and GET /prewarm latency meanwhile.
func (b *bench) plan(database string, nURLs int) error {
	fmt.Fprintf(os.Stderr, "%d URLs × 10 POPs on %s\n", nURLs, engine(database))
	cdn, codes, err := startCDN(10)
	if err != nil {
		return err
	}
	defer cdn.Close()
	ctx := context.Background()
	var accepts, plans, probes, rss []float64
	var lat, static, health []float64
	for run := range b.runs {
		srv, err := b.startServe(fetchArgs(cdn, filepath.Join(b.dir, fmt.Sprintf("plan-%s-%d", engine(database), run)), database)...)
		if err != nil {
			return err
		}
		urls := make([]string, nURLs)
		for i := range urls {
			urls[i] = cdn.URL(fmt.Sprintf("/p%d/%d.bin?size=1024", run, i))
		}
		start := time.Now()
		id, took, err := srv.submit(ctx, client.JobRequest{URLs: urls, CFDomain: cdn.CFDomain, POPs: codes, Timeout: new(60.0)})
		if err != nil {
			srv.stop()
			return err
		}
		accepts = append(accepts, took.Seconds())
		progress := "/prewarm?req_id=" + id
		// Latency is read by a process of its own, beside two baselines
		// from the same server at the same moments: /openapi.yaml touches
		// no database (the process's own floor), /healthz makes one
		// database read (what a round trip costs under this load).
		smp, err := startSampler(srv.URL, progress, "/openapi.yaml", "/healthz")
		if err != nil {
			srv.stop()
			return err
		}
		planned, probed, err := planTimes(ctx, srv, id, start, int64(nURLs*10))
		if err != nil {
			smp.stop()
			srv.stop()
			return err
		}
		plans = append(plans, planned.Seconds())
		probes = append(probes, probed.Seconds())
		// Keep reading while the million tasks are worked on: a sampling
		// window, not a wait for anything.
		time.Sleep(10 * time.Second)
		samples, err := smp.stop()
		if err != nil {
			srv.stop()
			return err
		}
		// The figures are of a server at work: once, later runs queued
		// their batches behind those the last run's stopped job had left,
		// and measured a server whose agent fetched nothing.
		if p, err := srv.Progress(ctx, id); err != nil || p.DownloadCount == 0 {
			srv.stop()
			return fmt.Errorf("plan, run %d: the job did no task while its latency was sampled (%v): the figures would be of an idle server", run+1, err)
		}
		lat = append(lat, samples[progress]...)
		static = append(static, samples["/openapi.yaml"]...)
		health = append(health, samples["/healthz"]...)
		rss = append(rss, float64(peakRSS(srv.PID()))/(1<<20))
		_, _ = srv.SetInstances(ctx, client.InstancesRequest{DesiredCapacity: 1, ReqID: id, ForceStop: true})
		srv.stop()
	}
	a, p := median(accepts), median(plans)
	e := engine(database)
	b.add(row{what: fmt.Sprintf("accept a %d-URL × 10-POP job (%s)", nURLs, e), prewarm: fmt.Sprintf("%.3f s", a),
		baseline: "—", ratio: "—", bar: fmt.Sprintf("< 1 s: %s", verdict(a < 1))})
	b.add(row{what: fmt.Sprintf("all %d tasks planned: queued, total_count final (%s)", nURLs*10, e), prewarm: fmt.Sprintf("%.1f s", p),
		baseline: "—", ratio: "—", bar: fmt.Sprintf("< 30 s: %s", verdict(p < 30))})
	b.add(row{what: fmt.Sprintf("every URL's size probed while warming: total_size final (%s)", e), prewarm: fmt.Sprintf("%.1f s", median(probes)),
		baseline: "—", ratio: "—", bar: "—"})
	b.add(row{what: fmt.Sprintf("peak RSS of serve (API, planner, one agent) meanwhile (%s)", e), prewarm: fmt.Sprintf("%.0f MiB", median(rss)),
		baseline: "—", ratio: "—", bar: "—"})
	p50, p99 := percentile(lat, 0.5), percentile(lat, 0.99)
	s50, s99 := percentile(static, 0.5), percentile(static, 0.99)
	b.add(row{what: fmt.Sprintf("GET /prewarm latency while the job runs, p50 / p99 (%s, %d samples)", e, len(lat)),
		prewarm: fmt.Sprintf("%.1f / %.1f ms", p50, p99), baseline: fmt.Sprintf("%.1f / %.1f ms (GET /openapi.yaml: no database)", s50, s99),
		ratio: fmt.Sprintf("%.2f (p99)", p99/s99), bar: fmt.Sprintf("p99 < 50 ms: %s", verdict(p99 < 50))})
	b.add(row{what: fmt.Sprintf("GET /healthz meanwhile: one database read, p50 / p99 (%s)", e),
		prewarm: fmt.Sprintf("%.1f / %.1f ms", percentile(health, 0.5), percentile(health, 0.99)), baseline: "—", ratio: "—", bar: "—"})
	return nil
}

// planTimes follows a job from start until its tasks are all queued and its
// URLs' sizes all probed, and returns when each happened.
func planTimes(ctx context.Context, srv *serve, id string, start time.Time, tasks int64) (planned, probed time.Duration, err error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	var wrong error
	_, err = srv.Wait(ctx, id, &client.WaitOptions{Interval: 100 * time.Millisecond,
		OnProgress: func(p *client.ProgressResponse) {
			if p.Probed && probed == 0 {
				probed = time.Since(start)
			}
			if p.Planned && planned == 0 {
				planned = time.Since(start)
				if p.TotalCount != tasks {
					wrong = fmt.Errorf("planned %d tasks, want %d", p.TotalCount, tasks)
				}
			}
		},
		Until: func(*client.ProgressResponse) bool { return wrong != nil || planned > 0 && probed > 0 }})
	switch {
	case err != nil:
		return 0, 0, err
	case wrong != nil:
		return 0, 0, wrong
	case planned == 0 || probed == 0:
		return 0, 0, fmt.Errorf("job %s ended before it was planned and probed", id)
	}
	return planned, probed, nil
}
