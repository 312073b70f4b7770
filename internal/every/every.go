// Package every runs a piece of background work on a period: the sweeps,
// reapers and pollers of a node, each a loop that waits, works, and stops
// with its context.
package every

import (
	"context"
	"time"
)

// Tick calls fn every d, the first time d from now, until ctx ends.
func Tick(ctx context.Context, d time.Duration, fn func(ctx context.Context)) {
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		fn(ctx)
	}
}
