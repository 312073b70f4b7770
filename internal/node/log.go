package node

import (
	"context"
	"log/slog"
)

// quiet is the queue's logger: River reports its routine (leadership,
// producers) at info and debug, which drowns prewarm's own logs, so only
// its warnings and errors pass.
func quiet(log *slog.Logger) *slog.Logger {
	return slog.New(quieter{log.Handler(), slog.LevelWarn})
}

// quieter passes on only records at or above min.
type quieter struct {
	slog.Handler
	min slog.Level
}

func (q quieter) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= q.min && q.Handler.Enabled(ctx, l)
}

func (q quieter) WithAttrs(attrs []slog.Attr) slog.Handler {
	return quieter{q.Handler.WithAttrs(attrs), q.min}
}

func (q quieter) WithGroup(name string) slog.Handler {
	return quieter{q.Handler.WithGroup(name), q.min}
}
