package warm

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"
)

// DirectProber asks a URL's size the way any client reaches it (its host's
// public DNS), not through a chosen POP: a dry run sends nothing through
// the POPs it plans for.
type DirectProber interface {
	ProbeDirect(ctx context.Context, r FetchRequest) (size int64, res Result)
}

// DryRun is the plan of a job, made without fetching anything through its
// POPs.
type DryRun struct {
	URLCount   int
	TotalCount int64      // tasks: URLs × usable POPs × variants
	TotalSize  int64      // bytes the warm fetches: the known sizes × usable POPs × variants
	POPs       []POPState // resolved, with their tiers
	// SizeUnknown URLs said no size (or did not answer in time); Failed
	// URLs answered an error and would fail at every POP.
	SizeUnknown int
	Failed      []string
	// EstimatedOriginFetches is how many requests reach the origin, if
	// every POP misses once: per URL, one per top-tier POP (every POP
	// without tiers).
	EstimatedOriginFetches int64
	// EstimatedEdgeBytes is what the POPs send the agents: the transfer a
	// CDN bills.
	EstimatedEdgeBytes int64
	Notes              []string
}

// Bounds of a dry run's size probe: it answers within an API request.
const (
	dryRunProbeTime     = 20 * time.Second
	dryRunProbeParallel = 64
)

// DryRun checks a job request and plans it as Submit would, without
// recording it and without sending anything through a POP: POPs are
// resolved, and each URL's size is asked with a HEAD to the URL itself.
func (s *Service) DryRun(ctx context.Context, spec JobSpec) (*DryRun, error) {
	job, urls, err := NewJob(spec, s.Selector, s.Limits, "dry-run", s.Now())
	if err != nil {
		return nil, err
	}
	if s.Resolver == nil || s.Direct == nil {
		return nil, errors.New("dry run: this server cannot resolve POPs")
	}
	pops := s.Resolver.Resolve(ctx, job.CFDomain, job.Targets)
	if job.TierFirst {
		assignTiers(pops)
	}
	usable := usablePOPs(pops)
	d := &DryRun{URLCount: len(urls), POPs: pops}
	variants := int64(len(job.Variants()))
	d.TotalCount = int64(len(urls)) * int64(len(usable)) * variants
	known := s.probeDirect(ctx, job, urls, d)
	d.TotalSize = known * int64(len(usable)) * variants
	d.EstimatedEdgeBytes = d.TotalSize
	okURLs := int64(len(urls) - len(d.Failed))
	d.EstimatedOriginFetches = okURLs * int64(len(topTier(usable))) * variants
	if len(job.Expand) > 0 {
		d.Notes = append(d.Notes, "expand is not applied in a dry run: its documents are read through a POP")
	}
	if len(usable) == 0 {
		d.Notes = append(d.Notes, noPOPMessage(pops))
	}
	if w := SameEdgeWarning(pops); job.Discover() != "" && w != "" {
		d.Notes = append(d.Notes, w)
	}
	if d.SizeUnknown > 0 {
		d.Notes = append(d.Notes, fmt.Sprintf("the size of %d URLs is unknown (no Content-Length, or no answer within %s); the totals leave them out",
			d.SizeUnknown, dryRunProbeTime))
	}
	return d, nil
}

// probeDirect asks every URL's size, in parallel and within the dry run's
// time, and returns the sum of the sizes of the URLs that answered fine.
func (s *Service) probeDirect(ctx context.Context, job *Job, urls []string, d *DryRun) int64 {
	ctx, cancel := context.WithTimeout(ctx, dryRunProbeTime)
	defer cancel()
	var mu sync.Mutex
	var total int64
	work := make(chan string)
	var wg sync.WaitGroup
	for range min(dryRunProbeParallel, len(urls)) {
		wg.Go(func() {
			for u := range work {
				size, res := s.Direct.ProbeDirect(ctx, FetchRequest{URL: u, Headers: job.Headers})
				mu.Lock()
				switch {
				case res.StatusCode >= 400 && !res.Throttled():
					d.Failed = append(d.Failed, u)
				case size < 0 || !res.OK:
					d.SizeUnknown++
				default:
					total += size
				}
				mu.Unlock()
			}
		})
	}
	for _, u := range urls {
		work <- u
	}
	close(work)
	wg.Wait()
	slices.Sort(d.Failed)
	return total
}
