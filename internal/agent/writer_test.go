package agent

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"prewarm/internal/warm"
)

// lanesStore records the writes a writer makes, each taking 100 ms.
type lanesStore struct {
	mu       sync.Mutex
	inFlight int
	most     int
	seen     map[int][]string // per batch, its updates in the order written
}

func (s *lanesStore) RecordBatches(ctx context.Context, ups []warm.BatchUpdate) (map[string]warm.Status, error) {
	s.mu.Lock()
	s.inFlight++
	s.most = max(s.most, s.inFlight)
	s.mu.Unlock()
	time.Sleep(100 * time.Millisecond)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.inFlight--
	for _, u := range ups {
		switch {
		case u.Agent != "":
			s.seen[u.Batch.Seq] = append(s.seen[u.Batch.Seq], "claim")
		}
		for _, r := range u.Results {
			s.seen[u.Batch.Seq] = append(s.seen[u.Batch.Seq], fmt.Sprint(r.URLIndex))
		}
		if u.State == warm.BatchDone {
			s.seen[u.Batch.Seq] = append(s.seen[u.Batch.Seq], "done")
		}
	}
	return map[string]warm.Status{"j": warm.StatusInProgress}, nil
}

// A writer far from its database has two writes on their way at once, and
// still writes each batch's updates in the order the batch sent them;
// next to it, one.
func TestWriterLanes(t *testing.T) {
	for _, lanes := range []int{1, 2} {
		t.Run(fmt.Sprint(lanes), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				st := &lanesStore{seen: map[int][]string{}}
				w := NewWriter(st, discard, nil)
				w.SetLanes(lanes)
				ctx, cancel := context.WithCancel(t.Context())
				defer cancel()
				go w.Run(ctx)
				var wg sync.WaitGroup
				for seq := range 20 {
					wg.Go(func() {
						b := warm.Batch{JobID: "j", Seq: seq}
						must(t, w.Send(ctx, warm.BatchUpdate{Batch: b, Agent: "a", Tasks: 3}))
						for i := range 3 {
							must(t, w.Send(ctx, warm.BatchUpdate{Batch: b, Results: []warm.Result{{URLIndex: i}}, State: warm.BatchRunning}))
							time.Sleep(30 * time.Millisecond)
						}
						if _, err := w.Write(ctx, warm.BatchUpdate{Batch: b, State: warm.BatchDone}); err != nil {
							t.Error(err)
						}
					})
				}
				wg.Wait()
				if st.most != lanes {
					t.Errorf("%d writes on their way at once, want %d", st.most, lanes)
				}
				for seq := range 20 {
					if got := fmt.Sprint(st.seen[seq]); got != "[claim 0 1 2 done]" {
						t.Errorf("batch %d written as %s", seq, got)
					}
				}
			})
		})
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Error(err)
	}
}
