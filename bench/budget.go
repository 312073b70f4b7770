package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"

	"prewarm/client"
	"prewarm/internal/agent"
	"prewarm/internal/node"
)

// budget: what the fleet-wide budgets cost when they never bind. The small
// case's re-warm (5,000 URLs × 4 POPs of cached objects, one agent of 64)
// under three settings, run in turn on the embedded database: no budget at
// all (no lease is ever taken), the default per-host limit, and a job
// limit as high as the agent's own concurrency.
func (b *bench) budget() error {
	st, err := b.setUp("budgets that never bind", "budget-none", popSpecs(4, nil), "--host-concurrency", "0")
	if err != nil {
		return err
	}
	defer st.close()
	cdn, codes := st.cdn, st.codes
	urls := make([]string, 5000)
	for i := range urls {
		urls[i] = cdn.URL(fmt.Sprintf("/s/%d?size=1024", i))
	}
	host, err := b.startServe(append(fetchArgs(cdn, filepath.Join(b.dir, "budget-host"), ""),
		"--host-concurrency", strconv.Itoa(node.DefaultHostConcurrency))...)
	if err != nil {
		return err
	}
	defer host.stop()
	serves := map[string]*serve{"none": st.srv, "host": host}
	ceiling := agent.DefaultConcurrency
	settings := []struct {
		name, serve string
		limit       *int
	}{
		{"no budget (no lease)", "none", nil},
		{fmt.Sprintf("--host-concurrency %d (default)", node.DefaultHostConcurrency), "host", nil},
		{fmt.Sprintf("max_concurrency %d", ceiling), "none", &ceiling},
	}
	rates := make([][]float64, len(settings))
	ctx := context.Background()
	for run := 0; run <= b.runs; run++ { // run 0 fills the caches
		for i, st := range settings {
			job := client.JobRequest{URLs: urls, CFDomain: cdn.CFDomain, POPs: codes, Timeout: new(30.0), MaxConcurrency: st.limit}
			_, rate, err := serves[st.serve].warm(ctx, job)
			if err != nil {
				return fmt.Errorf("%s: %w", st.name, err)
			}
			if run > 0 {
				rates[i] = append(rates[i], rate)
			}
		}
	}
	base := median(rates[0])
	for i, st := range settings[1:] {
		r := median(rates[i+1])
		b.add(row{
			what:     "small cached objects, tasks/s, " + st.name,
			prewarm:  fmt.Sprintf("%.0f", r),
			baseline: fmt.Sprintf("%.0f (%s)", base, settings[0].name),
			ratio:    fmt.Sprintf("%.2f", r/base),
			bar:      "what a budget that never binds costs",
		})
	}
	return nil
}
