package cli

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
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

// ProgressView renders a job's progress: on a terminal, a bar (drawn by
// schollz/progressbar) redrawn in place; otherwise (a pipe, a CI log)
// periodic plain lines, where carriage returns and escape sequences would be
// noise. It draws only when called, never from a goroutine of its own, so
// nothing overwrites what its caller writes once it stops calling. Its
// methods may be called from several goroutines.
type ProgressView struct {
	mu    sync.Mutex
	w     io.Writer
	tty   bool
	fd    int // the terminal's descriptor, to follow its width; -1 when unknown
	now   func() time.Time
	every time.Duration
	start time.Time

	bar      *progressbar.ProgressBar // on screen, its line not yet ended; nil otherwise
	barTotal int64                    // the bar's total; -1 while the job's is unknown

	last   JobProgress // the state last shown
	lastAt time.Time   // when a plain line was last written
	shown  bool        // anything has been shown
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
		v.endLine()
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
	v.endLine()
}

func (v *ProgressView) endLine() {
	if v.bar != nil {
		_ = v.bar.Exit()
		fmt.Fprintln(v.w)
		v.bar = nil
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

// barTheme draws "[=====>    ]", which every terminal font has.
var barTheme = progressbar.Theme{Saucer: "=", SaucerHead: ">", SaucerPadding: " ", BarStart: "[", BarEnd: "]"}

// draw redraws the bar in place: "  45% [====>     ] (450/1000) IN_PROGRESS
// 10 failed  5.0 GiB  1m05s", the text after the counts cut to the
// terminal's width.
func (v *ProgressView) draw(p JobProgress, withMessage bool) {
	total := p.Total
	if total <= 0 {
		total = -1 // not planned yet: the bar spins
	}
	// The library ends a bar whose count reaches its total and draws it no
	// more, and counts a spinner's turns in its count: a job that adds
	// tasks or ends after that, or whose total becomes known, gets a new one.
	if v.bar == nil || v.bar.IsFinished() || total != v.barTotal {
		v.bar = progressbar.NewOptions64(total,
			progressbar.OptionSetWriter(v.w),
			progressbar.OptionSetTheme(barTheme),
			progressbar.OptionSetWidth(barWidth),
			progressbar.OptionShowCount(),
			progressbar.OptionShowDescriptionAtLineEnd(),
			// Elapsed time is the view's, which counts from its start, not
			// from this bar's; no estimate: tasks do not finish at a steady rate.
			progressbar.OptionSetElapsedTime(false),
			progressbar.OptionSetPredictTime(false),
			progressbar.OptionUseANSICodes(true),
			// The spinner turns as the view redraws, not from a timer goroutine.
			progressbar.OptionSetSpinnerChangeInterval(0),
		)
		v.barTotal = total
	}
	// The text first: reaching the total draws the bar for the last time.
	v.bar.Describe(v.barText(p, withMessage, v.columns()))
	_ = v.bar.Set64(min(p.Done, max(p.Total, 0)))
}

// barWidth is the bar's width on a terminal wide enough; the library
// narrows it to fit a narrower one.
const barWidth = 40

// barText is what follows the bar's counts on a terminal cols wide: the
// state, the failures, the bytes and the elapsed time, then the message
// while the job runs. The message gives way first, keeping the bar msgBar
// columns; the rest only to keep a bar of minBar.
func (v *ProgressView) barText(p JobProgress, withMessage bool, cols int) string {
	text := fmt.Sprintf("%s  %d failed  %s  %s", p.Status, p.Failed, humanBytes(p.Bytes), v.elapsed())
	// The room for the bar and the text on "  45% [] (450/1000) text " (on
	// "| (0/-) text " while the total is unknown), the last column left
	// empty: writing it makes some terminals wrap.
	room := cols - len(fmt.Sprintf("(%d/%d)", p.Done, p.Total)) - len("  ") - 1
	least, leastWithMessage := 0, 0
	if p.Total > 0 {
		room -= len("  45% [] ")
		least, leastWithMessage = minBar, msgBar
	} else {
		room -= len("| ")
	}
	if m := flattenLine(p.Message); withMessage && m != "" && room-leastWithMessage-len(text)-2 > 0 {
		return text + "  " + truncateRunes(m, room-leastWithMessage-len(text)-2)
	}
	return truncateRunes(text, room-least)
}

// minBar is the narrowest bar the text leaves room for; msgBar the
// narrowest a message leaves.
const minBar, msgBar = 10, 20

// columns is the terminal's width, followed as it is resized.
func (v *ProgressView) columns() int {
	if v.fd >= 0 {
		if w, _, err := term.GetSize(v.fd); err == nil && w > 0 {
			return w
		}
	}
	return 80
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
