package node

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// The queue's logger passes warnings, not routine, and an error repeated
// at every poll once per repeatEvery, counting what it left out.
func TestQuietLeavesOutRepeats(t *testing.T) {
	var buf bytes.Buffer
	log := quiet(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		}})))
	start := time.Unix(1700000000, 0)
	emit := func(at time.Duration, level slog.Level, msg string) {
		r := slog.NewRecord(start.Add(at), level, msg, 0)
		r.AddAttrs(slog.String("component", "river"))
		if log.Handler().Enabled(context.Background(), level) {
			_ = log.Handler().Handle(context.Background(), r)
		}
	}
	emit(0, slog.LevelInfo, "elected leader")
	for i := range 500 { // 20 ms polls for 10 s
		emit(time.Duration(i)*20*time.Millisecond, slog.LevelError, "producer: Error fetching jobs")
	}
	emit(repeatEvery, slog.LevelError, "producer: Error fetching jobs")
	emit(repeatEvery, slog.LevelWarn, "another warning")
	want := "level=ERROR msg=\"producer: Error fetching jobs\" component=river\n" +
		"level=ERROR msg=\"producer: Error fetching jobs\" component=river repeats_left_out=499\n" +
		"level=WARN msg=\"another warning\" component=river\n"
	if got := buf.String(); got != want {
		t.Fatalf("logged:\n%s\nwant:\n%s", got, want)
	}
	if strings.Contains(buf.String(), "elected") {
		t.Fatal("routine passed")
	}
}
