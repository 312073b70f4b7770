package agent

import (
	"context"
	"errors"
	"hash/fnv"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"prewarm/internal/warm"
)

// RecordStore is what the writer writes to.
type RecordStore interface {
	// RecordBatches writes many batches' claims, results and states in one
	// transaction and returns their jobs' statuses afterwards.
	RecordBatches(ctx context.Context, ups []warm.BatchUpdate) (map[string]warm.Status, error)
}

// Writer records what every batch of an agent fetched, in bulk: the
// batches hand it their claims, results and states, and it writes all that
// is waiting in one transaction. While a write is on its way the next one
// gathers, so a database one round trip away or 250 ms away costs the same
// few round trips per write, and the more results per write the farther it
// is: the fetches never wait for the database. Writes go in lanes, each one
// write at a time: a batch's updates always take the same lane, so they are
// written in the order it sent them, and the lanes' writes overlap (the
// store locks the rows they share only for a write's last round trip). A
// write that fails is tried again, with what arrived meanwhile, until it
// goes through.
type Writer struct {
	store RecordStore
	log   *slog.Logger
	// ended hears of each job the writes find ended, once per write.
	ended func(ctx context.Context, jobID string)

	lanes []chan writeReq
	using atomic.Int32 // lanes in use, from the first

	mu      sync.Mutex
	status  map[string]warm.Status // as the last write that had the job saw it
	lastErr error                  // of the last write, while it keeps failing
}

type writeReq struct {
	up   warm.BatchUpdate
	done chan error // nil: the sender does not wait
}

// Bounds of the writer: the updates waiting before a sender blocks, the
// results one write carries, and the pauses between failed writes.
const (
	writerQueue       = 4096
	writerMaxResults  = 20000
	writerRetryFirst  = 100 * time.Millisecond
	writerRetryMost   = 5 * time.Second
	writerWriteBudget = time.Minute
)

// NewWriter returns a writer to st, writing in one lane (see SetLanes);
// Run writes. ended, if not nil, is told of each job a write finds ended.
func NewWriter(st RecordStore, log *slog.Logger, ended func(ctx context.Context, jobID string)) *Writer {
	w := &Writer{store: st, log: log, ended: ended, status: map[string]warm.Status{}}
	for range maxLanes {
		w.lanes = append(w.lanes, make(chan writeReq, writerQueue))
	}
	w.using.Store(1)
	return w
}

// SetLanes sets how many lanes the updates of the batches started from now
// on go to (1 to maxLanes; see LanesFor). A batch keeps its lane: call it
// only while no batch runs, as an agent does when it turns active.
func (w *Writer) SetLanes(n int) { w.using.Store(int32(min(max(n, 1), maxLanes))) }

// lane is where the batch's updates go.
func (w *Writer) lane(b warm.Batch) chan writeReq {
	n := uint32(w.using.Load())
	if n == 1 {
		return w.lanes[0]
	}
	h := fnv.New32a()
	h.Write([]byte(b.JobID))
	return w.lanes[(h.Sum32()+uint32(b.Seq))%n]
}

// Send queues an update without waiting for it to be written. It blocks
// only while the queue is full, until ctx ends.
func (w *Writer) Send(ctx context.Context, up warm.BatchUpdate) error {
	select {
	case w.lane(up.Batch) <- writeReq{up: up}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Write queues an update and waits until it, and every update the batch
// sent before it, is written; it returns the job's status then.
func (w *Writer) Write(ctx context.Context, up warm.BatchUpdate) (warm.Status, error) {
	done := make(chan error, 1)
	select {
	case w.lane(up.Batch) <- writeReq{up: up, done: done}:
	case <-ctx.Done():
		return "", ctx.Err()
	}
	select {
	case err := <-done:
		if err != nil {
			return "", err
		}
		return w.Status(up.Batch.JobID), nil
	case <-ctx.Done():
		w.mu.Lock()
		defer w.mu.Unlock()
		return "", errors.Join(ctx.Err(), w.lastErr)
	}
}

// Status is a job's status as the last write that carried it saw it; ""
// when none has yet.
func (w *Writer) Status(jobID string) warm.Status {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.status[jobID]
}

// Run writes until ctx ends; updates still queued then are written with
// one last try.
func (w *Writer) Run(ctx context.Context) {
	var wg sync.WaitGroup
	for _, in := range w.lanes {
		wg.Go(func() { w.runLane(ctx, in) })
	}
	wg.Wait()
}

func (w *Writer) runLane(ctx context.Context, in chan writeReq) {
	for {
		select {
		case r := <-in:
			w.writeAll(ctx, w.gather(in, []writeReq{r}))
		case <-ctx.Done():
			w.drain(in)
			return
		}
	}
}

// drain writes, once each, what is queued when the writer stops.
func (w *Writer) drain(in chan writeReq) {
	for {
		select {
		case r := <-in:
			reqs := w.gather(in, []writeReq{r})
			ctx, cancel := context.WithTimeout(context.Background(), writerWriteBudget)
			err := w.write(ctx, reqs)
			cancel()
			w.answer(reqs, err)
		default:
			return
		}
	}
}

// gather adds what is queued to reqs, up to a write's worth of results.
func (w *Writer) gather(in chan writeReq, reqs []writeReq) []writeReq {
	n := len(reqs[0].up.Results)
	for n < writerMaxResults {
		select {
		case r := <-in:
			reqs = append(reqs, r)
			n += len(r.up.Results)
		default:
			return reqs
		}
	}
	return reqs
}

// writeAll writes reqs, trying again after a pause while it fails, and
// answers their senders.
func (w *Writer) writeAll(ctx context.Context, reqs []writeReq) {
	pause := writerRetryFirst
	for {
		wctx, cancel := context.WithTimeout(ctx, writerWriteBudget)
		err := w.write(wctx, reqs)
		cancel()
		w.mu.Lock()
		w.lastErr = err
		w.mu.Unlock()
		if err == nil || ctx.Err() != nil {
			w.answer(reqs, err)
			return
		}
		w.log.Warn("recording results; trying again", "updates", len(reqs), "in", pause, "err", err)
		select {
		case <-time.After(pause):
		case <-ctx.Done():
			w.answer(reqs, ctx.Err())
			return
		}
		pause = min(2*pause, writerRetryMost)
	}
}

// write merges the updates batch by batch, in the order they came, and
// writes them; it keeps the statuses it reads and tells of ended jobs.
func (w *Writer) write(ctx context.Context, reqs []writeReq) error {
	ups := mergeUpdates(reqs)
	start := time.Now()
	statuses, err := w.store.RecordBatches(ctx, ups)
	if err != nil {
		return err
	}
	if w.log.Enabled(ctx, slog.LevelDebug) {
		n := 0
		for _, u := range ups {
			n += len(u.Results)
		}
		w.log.Debug("results written", "batches", len(ups), "results", n, "took", time.Since(start).Round(time.Millisecond))
	}
	w.mu.Lock()
	for id, st := range statuses {
		w.status[id] = st
	}
	w.mu.Unlock()
	if w.ended != nil {
		for id, st := range statuses {
			if st.Terminal() {
				w.ended(ctx, id)
			}
		}
	}
	return nil
}

func (w *Writer) answer(reqs []writeReq, err error) {
	for _, r := range reqs {
		if r.done != nil {
			r.done <- err
		}
	}
}

// mergeUpdates folds the updates of each batch into one: its claim, all
// its results in order, its last state.
func mergeUpdates(reqs []writeReq) []warm.BatchUpdate {
	type key struct {
		job string
		seq int
	}
	at := map[key]int{}
	var out []warm.BatchUpdate
	for _, r := range reqs {
		k := key{r.up.Batch.JobID, r.up.Batch.Seq}
		i, seen := at[k]
		if !seen {
			at[k] = len(out)
			up := r.up
			up.Results = append([]warm.Result(nil), r.up.Results...)
			out = append(out, up)
			continue
		}
		m := &out[i]
		if r.up.Agent != "" {
			m.Agent, m.Tasks = r.up.Agent, r.up.Tasks
		}
		m.Results = append(m.Results, r.up.Results...)
		if r.up.State != "" {
			m.State = r.up.State
		}
	}
	return out
}

// LanesFor is how many writes an agent whose database is rtt away has on
// their way at once: one next to the database, where a second lane only
// splits the same work into smaller writes that wait for each other's
// locks (the re-warm bench lost a fifth), and two from farWrites on, where
// a write's round trips are most of its time.
func LanesFor(rtt time.Duration) int {
	if rtt >= farWrites {
		return maxLanes
	}
	return 1
}

// Bounds of LanesFor.
const (
	maxLanes  = 2
	farWrites = 10 * time.Millisecond
)
