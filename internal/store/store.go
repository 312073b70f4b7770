package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"prewarm/internal/warm"
)

// Enqueuer queues steps inside the store's transaction, so that state and the
// work it calls for commit together. The queue package implements it.
type Enqueuer interface {
	Enqueue(ctx context.Context, tx Tx, steps ...warm.Step) error
}

// Store keeps jobs, their URLs, POPs, batches, results and counters, and
// the fleet's state, over a DB. RecordResults is idempotent per job × POP ×
// URL × variant and keeps the counters in the same transaction.
type Store struct {
	db  DB
	enq Enqueuer
	now func() time.Time

	// full is when writes began to fail for want of room, while they do.
	full atomic.Pointer[fullSince]
}

type fullSince struct {
	at   time.Time // the first failure
	last time.Time // the latest
	err  error
}

// fullHold is how long after a write failed for want of room a heartbeat
// may not say there is room again. A heartbeat rewrites its agent's row in
// place and can go through on a disk that has no room for a job, so only
// a transaction (a job, results) clears the mark at once; a heartbeat
// clears it when nothing has failed for this long, which is how a node
// nobody sends jobs to (it is unready) finds out that room came back.
const fullHold = 10 * time.Second

var (
	_ warm.ServiceStore = (*Store)(nil)
	_ warm.PlannerStore = (*Store)(nil)
)

// New returns a store over db whose queued work goes through enq.
func New(db DB, enq Enqueuer, now func() time.Time) *Store {
	if now == nil {
		now = time.Now
	}
	return &Store{db: db, enq: enq, now: now}
}

// DB returns the database the store works on.
func (s *Store) DB() DB { return s.db }

// inTx runs fn in a transaction, committing if it returns nil, and notes
// how the write ended (see wrote).
func (s *Store) inTx(ctx context.Context, fn func(tx Tx) error) error {
	return s.transact(ctx, fn, func(err error) { s.wrote(err, 0) })
}

// transact runs fn in a transaction, committing if it returns nil (a
// commit after CommitWith does nothing); ended, if set, hears how the
// transaction ended once it had begun.
func (s *Store) transact(ctx context.Context, fn func(tx Tx) error, ended func(error)) (err error) {
	tx, err := s.db.Begin(ctx)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback(context.WithoutCancel(ctx))
		}
		if ended != nil {
			ended(err)
		}
	}()
	if err = fn(tx); err != nil {
		return err
	}
	if err = tx.Commit(ctx); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// wrote notes how a write ended: whether the database is out of room. A
// write that went through clears the mark if the last failure is at
// least hold old.
func (s *Store) wrote(err error, hold time.Duration) {
	now := s.now()
	switch f := s.full.Load(); {
	case errors.Is(err, warm.ErrStorageFull):
		since := now
		if f != nil {
			since = f.at
		}
		s.full.Store(&fullSince{at: since, last: now, err: err})
	case err == nil && f != nil && now.Sub(f.last) >= hold:
		s.full.CompareAndSwap(f, nil)
	}
}

// WritesFailing says, while writes fail for want of room, since when and
// why; nil while they go through and there is room.
func (s *Store) WritesFailing() error {
	f := s.full.Load()
	if f == nil {
		// A database on the node's own disk also says when that disk is
		// out of room, before a write finds out.
		if r, ok := s.db.(interface{ Room() error }); ok {
			return r.Room()
		}
		return nil
	}
	return fmt.Errorf("writes failing since %s: %w", f.at.UTC().Format(time.DateTime), f.err)
}

func micros(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

func fromMicros(us int64) time.Time {
	if us == 0 {
		return time.Time{}
	}
	return time.UnixMicro(us).UTC()
}

// notFound turns a missing row into warm.ErrNotFound.
func notFound(err error, what string) error {
	if errors.Is(err, ErrNoRows) {
		return fmt.Errorf("%s: %w", what, warm.ErrNotFound)
	}
	return err
}

// bulk runs stmt (whose %s is a VALUES list) once per chunk of n rows (see
// chunks). Each statement's parameters are fixed, then every row's; row is
// a row's VALUES tuple, its %d verbs numbered in order; add appends row i's
// parameters.
func (s *Store) bulk(ctx context.Context, tx Tx, n int, fixed []any, row string, add func(i int, args []any) []any, stmt string) error {
	width := strings.Count(row, "%d")
	args := make([]any, 0, len(fixed)+width*s.chunkRows(width))
	from := 0
	for _, size := range chunks(n, s.chunkRows(width)) {
		to := from + size
		args = append(args[:0], fixed...)
		values := make([]byte, 0, size*len(row))
		nums := make([]any, width)
		for i := from; i < to; i++ {
			if i > from {
				values = append(values, ',')
			}
			for k := range nums {
				nums[k] = len(args) + 1 + k
			}
			values = fmt.Appendf(values, row, nums...)
			args = add(i, args)
		}
		if _, err := tx.Exec(ctx, fmt.Sprintf(stmt, values), args...); err != nil {
			return err
		}
		from = to
	}
	return nil
}

// chunks splits n rows into statements of at most per rows, each a power
// of two, largest first: a statement's text then recurs, and the engine's
// prepared-statement cache keeps it. (SQLite parsing a fresh 200-row VALUES
// list cost more than inserting the rows.)
func chunks(n, per int) []int {
	top := 1
	for top*2 <= per {
		top *= 2
	}
	var out []int
	for ; n >= top; n -= top {
		out = append(out, top)
	}
	for size := top / 2; size > 0; size /= 2 {
		if n >= size {
			out = append(out, size)
			n -= size
		}
	}
	return out
}

// chunkRows is how many rows of width columns fit in one statement.
func (s *Store) chunkRows(width int) int {
	return max(1, min(1000, s.db.Dialect().MaxParams/width-1))
}
