// Command bench measures prewarm on the mini CDN of real caches and prints
// each figure beside a baseline measured in the same run:
//
//	go run ./bench                       # every case, 3 runs each, medians
//	go run ./bench -cases small -runs 5
//
// Cases: small (5,000 URLs × 4 POPs of cached 1 KiB objects, beside a
// curl process per task and wrk's ceiling), large (a 1 GiB object through
// one POP, beside curl -o /dev/null, with peak RSS), plan (a 100,000-URL ×
// 10-POP job: time to accept, time to plan, GET /prewarm latency), budget
// (the small re-warm with budgets that never bind, beside none), remote
// (POPs 20 to 300 ms away, behind latency proxies), latency (POST to
// FINISHED as a client sees it, for 1 URL and for 1 GiB), jobs (a small
// job beside a big one, a burst of small jobs), far (an agent 0 to 250 ms
// from its PostgreSQL, beside the same agent next to it), abuse (GET
// /prewarm latency beside report readers that stopped reading, peak RSS
// refusing 32 MiB bodies). With
// PostgreSQL installed (or -postgres URL) the small and plan cases also run
// on PostgreSQL.
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"
	"time"
)

func main() {
	if spec, ok := os.LookupEnv(samplerEnv); ok {
		if err := runSampler(spec); err != nil {
			fmt.Fprintln(os.Stderr, "bench sampler:", err)
			os.Exit(1)
		}
		return
	}
	cases := flag.String("cases", "small,large,plan,budget,remote,latency,jobs,far,abuse", "comma-separated cases to run: small, large, plan, budget, remote, latency, jobs, far, abuse")
	runs := flag.Int("runs", 3, "runs per measurement; the table shows medians")
	pgFlag := flag.String("postgres", "auto", "also run small and plan on PostgreSQL: auto (a private cluster), off, or a postgres://… URL")
	planURLs := flag.Int("plan-urls", 100_000, "URLs of the plan case")
	farRTTs := flag.String("far-rtts", "0s,20ms,100ms,250ms", "round trips between the far case's agent and its database (the first is the baseline)")
	flag.IntVar(&farURLs, "far-urls", farURLs, "URLs of the far case's jobs (× 4 POPs)")
	flag.StringVar(&agentLogs, "agent-logs", "", "write the debug log of each `prewarm agent` the bench starts into this directory, when it stops (to see what an agent waited on)")
	engines := flag.String("engines", "sqlite,postgres", "databases the small and plan cases run on: sqlite, postgres or both")
	flag.Parse()
	sqlite, postgres := false, false
	for _, e := range strings.Split(*engines, ",") {
		switch strings.TrimSpace(e) {
		case "sqlite":
			sqlite = true
		case "postgres":
			postgres = true
		default:
			fmt.Fprintf(os.Stderr, "bench: -engines: unknown database %q (use sqlite, postgres)\n", e)
			os.Exit(2)
		}
	}
	if !postgres {
		*pgFlag = "off"
	}

	for _, d := range strings.Split(*farRTTs, ",") {
		rtt, err := time.ParseDuration(strings.TrimSpace(d))
		if err != nil || rtt < 0 {
			fmt.Fprintf(os.Stderr, "bench: -far-rtts: %q is not a round trip such as 100ms\n", d)
			os.Exit(2)
		}
		farRTTList = append(farRTTList, rtt)
	}
	b, err := newBench(*runs)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
	defer b.close()
	pg, err := b.postgres(*pgFlag)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
	start := time.Now()
	for _, c := range strings.Split(*cases, ",") {
		if err := b.run(strings.TrimSpace(c), sqlite, pg, *planURLs); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			b.print(os.Stdout)
			os.Exit(1)
		}
	}
	b.print(os.Stdout)
	fmt.Printf("\n%d runs per figure, medians; total %s\n", *runs, time.Since(start).Round(time.Second))
}

// run runs one case, on each database it runs on (pg is nil without
// PostgreSQL).
func (b *bench) run(name string, sqlite bool, pg func() string, planURLs int) error {
	onEach := func(f func(database string) error) error {
		if sqlite {
			if err := f(""); err != nil {
				return err
			}
		}
		if pg != nil {
			return f(pg())
		}
		return nil
	}
	switch name {
	case "small":
		return onEach(b.small)
	case "plan":
		return onEach(func(database string) error { return b.plan(database, planURLs) })
	case "large":
		var database string
		if pg != nil {
			database = pg()
		}
		return b.large(database)
	case "budget":
		return b.budget()
	case "remote":
		return b.remote()
	case "latency":
		return b.latency()
	case "jobs":
		return b.jobs()
	case "far":
		return b.far(pg)
	case "abuse":
		return b.abuse()
	}
	return fmt.Errorf("unknown case %q", name)
}
