package node

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// quiet is the queue's logger: River reports its routine (leadership,
// producers) at info and debug, which drowns prewarm's own logs, so only
// its warnings and errors pass; and while the database fails (a full disk,
// a lost connection) it reports the same error at every poll, so each
// message passes at most once per repeatEvery, the next one counting those
// left out.
func quiet(log *slog.Logger) *slog.Logger {
	return slog.New(quieter{log.Handler(), slog.LevelWarn, &repeats{every: repeatEvery, last: map[string]repeat{}}})
}

const repeatEvery = 10 * time.Second

// quieter passes on only records at or above min, and not too often.
type quieter struct {
	slog.Handler
	min  slog.Level
	seen *repeats
}

type repeats struct {
	every time.Duration
	mu    sync.Mutex
	last  map[string]repeat // by level and message
}

type repeat struct {
	at      time.Time
	dropped int
}

// admit says whether a record may pass, and how many like it were left
// out since the last that did.
func (rs *repeats) admit(r slog.Record) (dropped int, ok bool) {
	key := r.Level.String() + " " + r.Message
	rs.mu.Lock()
	defer rs.mu.Unlock()
	prev, seen := rs.last[key]
	if seen && r.Time.Sub(prev.at) < rs.every {
		prev.dropped++
		rs.last[key] = prev
		return 0, false
	}
	if len(rs.last) > 1000 { // messages are few; this only bounds the map
		clear(rs.last)
	}
	rs.last[key] = repeat{at: r.Time}
	return prev.dropped, true
}

func (q quieter) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= q.min && q.Handler.Enabled(ctx, l)
}

func (q quieter) Handle(ctx context.Context, r slog.Record) error {
	dropped, ok := q.seen.admit(r)
	if !ok {
		return nil
	}
	if dropped > 0 {
		r = r.Clone()
		r.AddAttrs(slog.Int("repeats_left_out", dropped))
	}
	return q.Handler.Handle(ctx, r)
}

func (q quieter) WithAttrs(attrs []slog.Attr) slog.Handler {
	return quieter{q.Handler.WithAttrs(attrs), q.min, q.seen}
}

func (q quieter) WithGroup(name string) slog.Handler {
	return quieter{q.Handler.WithGroup(name), q.min, q.seen}
}
