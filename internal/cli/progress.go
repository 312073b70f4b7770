package cli

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/term"

	"prewarm/internal/warm"
)

// JobProgress is what a ProgressView shows of a job: its state and its task
// counters (a task is one URL through one POP).
type JobProgress struct {
	Status  string // CREATED, IN_PROGRESS, FINISHED, TIMEOUT, STOPPED, FAILED
	Done    int64  // tasks finished, ok or failed
	Total   int64  // tasks planned; 0 while planning
	OK      int64
	Failed  int64
	Bytes   int64 // bytes fetched
	Message string
}

// Percent is floor(100 × Done / Total), as the API's percentage_complete.
func (p JobProgress) Percent() int {
	if p.Total <= 0 {
		return 0
	}
	return int(min(100*p.Done/p.Total, 100))
}

// Terminal reports whether the job has ended: FINISHED, TIMEOUT, STOPPED or
// FAILED.
func (p JobProgress) Terminal() bool { return warm.Status(p.Status).Terminal() }

// Succeeded reports whether the job ended as hoped: every task done, none
// failed.
func (p JobProgress) Succeeded() bool {
	return warm.Status(p.Status) == warm.StatusFinished && p.Failed == 0
}

// plainEvery is how often a ProgressView writing to a log or a pipe repeats
// progress that only counted on: often enough to show a CI log that the job
// moves, seldom enough to keep the log readable.
const plainEvery = 5 * time.Second

// quietEvery is how many plainEvery intervals pass before progress that
// has not moved is written again.
const quietEvery = 6

// ProgressView renders a job's progress: a bar redrawn in place on a
// terminal, periodic plain lines otherwise (a pipe, a CI log), where carriage
// returns and escape sequences would be noise. Its methods may be called
// from several goroutines.
type ProgressView struct {
	mu    sync.Mutex
	w     io.Writer
	tty   bool
	fd    int // the terminal's descriptor, to follow its width; -1 when unknown
	now   func() time.Time
	every time.Duration
	start time.Time

	last   JobProgress // the state last shown
	lastAt time.Time   // when a plain line was last written
	shown  bool        // anything has been shown
	onLine bool        // a bar is on screen and its line not yet ended
}

// NewProgressView renders to w: a bar when isTerminal (see isTerminal),
// plain lines when not. Elapsed time counts from here.
func NewProgressView(w io.Writer, isTerminal bool) *ProgressView {
	v := &ProgressView{w: w, tty: isTerminal, fd: -1, now: time.Now, every: plainEvery}
	if f, ok := w.(interface{ Fd() uintptr }); ok && isTerminal {
		v.fd = int(f.Fd())
	}
	v.start = v.now()
	return v
}

// Update shows p. On a terminal the bar is redrawn; otherwise a line is
// written at once when the status or message changes, at most every 5
// seconds while only the counters move, and every 30 seconds when nothing
// does. Write errors are ignored: progress
// is a courtesy, and a closed terminal must not fail the job.
func (v *ProgressView) Update(p JobProgress) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.tty {
		v.draw(p, true)
		v.last, v.shown = p, true
		return
	}
	now := v.now()
	news := !v.shown || p.Status != v.last.Status || p.Message != v.last.Message
	since := now.Sub(v.lastAt)
	// Unchanged progress is repeated too, less often: a silent log reads
	// as a hung job, and some CI systems kill a step that prints nothing.
	if news || (p != v.last && since >= v.every) || since >= quietEvery*v.every {
		fmt.Fprintln(v.w, v.plainLine(p))
		v.last, v.lastAt, v.shown = p, now, true
	}
}

// Finish shows the final state p and ends the view's output: the bar's line
// is ended, with the message (the reason of a FAILED job) on its own line.
func (v *ProgressView) Finish(p JobProgress) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.tty {
		v.draw(p, false)
		fmt.Fprintln(v.w)
		v.onLine = false
		if m := flattenLine(p.Message); m != "" {
			fmt.Fprintln(v.w, "  "+m)
		}
	} else if !v.shown || p != v.last {
		fmt.Fprintln(v.w, v.plainLine(p))
	}
	v.last, v.shown = p, true
}

// breakLine ends a bar left on screen, so that what is written next (an
// error, after an interrupted watch) starts on a line of its own.
func (v *ProgressView) breakLine() {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.onLine {
		fmt.Fprintln(v.w)
		v.onLine = false
	}
}

func (v *ProgressView) elapsed() string { return humanDuration(v.now().Sub(v.start)) }

func (v *ProgressView) plainLine(p JobProgress) string {
	line := fmt.Sprintf("%s %d%% %d/%d tasks, %d ok, %d failed, %s, %s", p.Status, p.Percent(), p.Done, p.Total,
		p.OK, p.Failed, humanBytes(p.Bytes), v.elapsed())
	if m := flattenLine(p.Message); m != "" {
		line += " — " + m
	}
	return line
}

// draw redraws the bar line in place: back to the line's start, the line,
// then erase what a longer previous line left.
func (v *ProgressView) draw(p JobProgress, withMessage bool) {
	fmt.Fprintf(v.w, "\r%s\x1b[K", v.barLine(p, withMessage, v.columns()))
	v.onLine = true
}

// columns is the terminal's width, followed as it is resized.
func (v *ProgressView) columns() int {
	if v.fd >= 0 {
		if w, _, err := term.GetSize(v.fd); err == nil && w > 0 {
			return w
		}
	}
	return 80
}

// barLine fits "STATUS [=====>    ]  45%  450/1000  10 failed  1.2 GiB
// 1m05s" into cols, dropping the bar on narrow terminals. (The successes
// are the done tasks that did not fail; the bar leaves them out for room.)
func (v *ProgressView) barLine(p JobProgress, withMessage bool, cols int) string {
	// The last column stays empty: writing it makes some terminals wrap.
	cols--
	head := fmt.Sprintf("%-11s ", p.Status)
	// Done is padded to the width of Total, so that the numbers do not
	// shift as it grows.
	tail := fmt.Sprintf(" %3d%%  %*d/%d  %d failed  %s  %s", p.Percent(), len(formatCount(p.Total)), p.Done, p.Total,
		p.Failed, humanBytes(p.Bytes), v.elapsed())
	line := head
	// The bar's width depends on the terminal's only, not on the text
	// beside it, so that it does not jump as the counts grow; text that
	// does not fit is cut at the end.
	if width := min(40, cols-len(head)-barTextRoom-2); width >= 10 {
		line += "[" + drawBar(width, p) + "]"
	}
	line += tail
	if m := flattenLine(p.Message); withMessage && m != "" {
		line += "  " + m
	}
	return truncateRunes(line, cols)
}

// barTextRoom is the room kept right of the bar for its numbers.
const barTextRoom = 46

func drawBar(width int, p JobProgress) string {
	filled := 0
	if p.Total > 0 {
		filled = int(min(int64(width)*p.Done/p.Total, int64(width)))
	}
	if filled > 0 && filled < width {
		return strings.Repeat("=", filled-1) + ">" + strings.Repeat(" ", width-filled)
	}
	return strings.Repeat("=", filled) + strings.Repeat(" ", width-filled)
}

// isTerminal reports whether w is a terminal a bar can be drawn on: a file
// on a terminal whose TERM is not "dumb" (which has no escape sequences).
func isTerminal(w any) bool {
	f, ok := w.(interface{ Fd() uintptr })
	if !ok || os.Getenv("TERM") == "dumb" {
		return false
	}
	return term.IsTerminal(int(f.Fd()))
}

// flattenLine keeps a message on one line of the display.
func flattenLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

func truncateRunes(s string, n int) string {
	if n <= 0 {
		return ""
	}
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	if n == 1 {
		return "…"
	}
	return string(r[:n-1]) + "…"
}

// humanDuration writes a duration the way people read elapsed and remaining
// times: 45s, 3m05s, 2h04m, 3d04h.
func humanDuration(d time.Duration) string {
	if d < 0 {
		d = -d
	}
	d = d.Round(time.Second)
	const day = 24 * time.Hour
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d/time.Second))
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds", int(d/time.Minute), int(d%time.Minute/time.Second))
	case d < 2*day:
		return fmt.Sprintf("%dh%02dm", int(d/time.Hour), int(d%time.Hour/time.Minute))
	}
	return fmt.Sprintf("%dd%02dh", int(d/day), int(d%day/time.Hour))
}
