package invalidate

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"prewarm/internal/warm"
)

// Clearer clears a job's URLs from its POPs before a re-warm: one batched
// CloudFront invalidation for the CloudFront POPs (waited for until
// Completed), and an HTTP purge to every address of every edges-file edge.
type Clearer struct {
	// NewCloudFront makes the CloudFront client on first use, so a server
	// whose jobs never invalidate needs no AWS configuration.
	NewCloudFront func(ctx context.Context) (*CloudFront, error)
	Purger        *Purger

	mu sync.Mutex
	cf *CloudFront
}

var _ warm.Invalidator = (*Clearer)(nil)

// Invalidate clears urls from pops and says what it did.
func (c *Clearer) Invalidate(ctx context.Context, job *warm.Job, pops []warm.POPState, urls []string) (string, error) {
	var cloudFront bool
	var edges []PurgeTarget
	for _, p := range pops {
		if p.PurgeMethod == "" {
			cloudFront = true
			continue
		}
		edges = append(edges, PurgeTarget{Code: p.Code, Method: p.PurgeMethod, Addresses: p.Addresses})
	}
	var notes []string
	if cloudFront {
		cf, err := c.cloudFront(ctx)
		if err != nil {
			return "", err
		}
		res, err := cf.Invalidate(ctx, job.CFDomain, job.DistributionID, urls)
		if err != nil {
			return "", err
		}
		notes = append(notes, fmt.Sprintf("CloudFront invalidation %s of %d paths on distribution %s completed",
			strings.Join(res.InvalidationIDs, ", "), res.Paths, res.DistributionID))
	}
	if len(edges) > 0 {
		if err := c.Purger.Purge(ctx, edges, urls); err != nil {
			return "", err
		}
		notes = append(notes, fmt.Sprintf("purged %d URLs at %d edges", len(urls), len(edges)))
	}
	return strings.Join(notes, "; ") + " before warming", nil
}

func (c *Clearer) cloudFront(ctx context.Context) (*CloudFront, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cf == nil {
		cf, err := c.NewCloudFront(ctx)
		if err != nil {
			return nil, fmt.Errorf("CloudFront client: %w", err)
		}
		c.cf = cf
	}
	return c.cf, nil
}
