package every

import (
	"context"
	"testing"
	"testing/synctest"
	"time"
)

// fn runs once per period, the first time after one, and not after its
// context ends.
func TestTick(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		var at []time.Duration
		start := time.Now()
		done := make(chan struct{})
		go func() {
			defer close(done)
			Tick(ctx, time.Second, func(context.Context) { at = append(at, time.Since(start)) })
		}()
		time.Sleep(3500 * time.Millisecond)
		cancel()
		<-done
		if len(at) != 3 || at[0] != time.Second || at[2] != 3*time.Second {
			t.Fatalf("ran at %v, want at 1s, 2s and 3s", at)
		}
	})
}
