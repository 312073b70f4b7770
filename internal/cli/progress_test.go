package cli

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// lastDraw is the line a terminal shows after out: what follows the last
// carriage return.
func lastDraw(out string) string { return out[strings.LastIndex(out, "\r")+1:] }

func TestProgressViewTerminal(t *testing.T) {
	var buf bytes.Buffer
	v := NewProgressView(&buf, true)
	v.now = func() time.Time { return v.start.Add(65 * time.Second) }
	const clear = " \x1b[0K" // the library's trailing space and erase-to-end

	// While the job is planned its total is unknown: a spinner, and room
	// for the message.
	v.Update(JobProgress{Status: "IN_PROGRESS", Message: "waiting for\ninvalidation I2J0I21"})
	if got, want := lastDraw(buf.String())[1:], " (0/-) IN_PROGRESS  0 failed  0 B  1m05s  waiting for invalidation I2J0I21"+clear; got != want {
		t.Errorf("planning\n got %q\nwant %q", got, want)
	}
	v.Update(JobProgress{Status: "IN_PROGRESS", Done: 450, Total: 1000, OK: 440, Failed: 10, Bytes: 5 << 30})
	bar := "[=================>" + strings.Repeat(" ", 22) + "]"
	if got, want := lastDraw(buf.String()), "  45% "+bar+" (450/1000) IN_PROGRESS  10 failed  5.0 GiB  1m05s"+clear; got != want {
		t.Errorf("running\n got %q\nwant %q", got, want)
	}
	// Every planned task done while planning adds more: the bar goes on.
	v.Update(JobProgress{Status: "IN_PROGRESS", Done: 1000, Total: 1000, OK: 990, Failed: 10})
	v.Update(JobProgress{Status: "IN_PROGRESS", Done: 1000, Total: 2000, OK: 990, Failed: 10})
	if got := lastDraw(buf.String()); !strings.HasPrefix(got, "  50% [===================>") || !strings.Contains(got, "(1000/2000)") {
		t.Errorf("after the total grew: %q", got)
	}
	if strings.Contains(buf.String(), "\n") {
		t.Errorf("a line ended before the job did: %q", buf.String())
	}
	buf.Reset()
	v.Finish(JobProgress{Status: "STOPPED", Done: 1500, Total: 2000, OK: 1490, Failed: 10, Message: "stopped\nby request"})
	want := "  75% [" + strings.Repeat("=", 29) + ">" + strings.Repeat(" ", 10) + "] (1500/2000) STOPPED  10 failed  0 B  1m05s" + clear + "\n" +
		"  stopped by request\n"
	if got := buf.String(); !strings.HasSuffix(got, "\r"+want) {
		t.Errorf("final output\n got %q\nwant it to end with %q", got, want)
	}
}

// A job that ends with every task done shows the full bar with its final
// state, even when the bar was already full while the job ran.
func TestProgressViewTerminalFinished(t *testing.T) {
	var buf bytes.Buffer
	v := NewProgressView(&buf, true)
	v.now = func() time.Time { return v.start.Add(3 * time.Second) }
	p := JobProgress{Status: "IN_PROGRESS", Done: 4, Total: 4, OK: 4, Bytes: 2048}
	v.Update(p)
	p.Status = "FINISHED"
	v.Finish(p)
	want := " 100% [" + strings.Repeat("=", 40) + "] (4/4) FINISHED  0 failed  2.0 KiB  3s \x1b[0K\n"
	if got := buf.String(); !strings.HasSuffix(got, "\r"+want) {
		t.Errorf("final output\n got %q\nwant it to end with %q", got, want)
	}
}

// An interrupted watch ends the bar's line once, so that the error written
// next stands on a line of its own.
func TestProgressViewBreakLine(t *testing.T) {
	var buf bytes.Buffer
	v := NewProgressView(&buf, true)
	v.breakLine()
	if buf.Len() != 0 {
		t.Fatalf("nothing on screen, yet %q written", buf.String())
	}
	v.Update(JobProgress{Status: "IN_PROGRESS", Done: 1, Total: 2})
	v.breakLine()
	v.breakLine()
	if out := buf.String(); !strings.HasSuffix(out, "\x1b[0K\n") || strings.Count(out, "\n") != 1 {
		t.Errorf("output %q", out)
	}
}

// The text beside the bar fits the terminal: the message gives way first,
// then the rest, never the start.
func TestProgressViewBarTextFits(t *testing.T) {
	v := NewProgressView(&bytes.Buffer{}, true)
	v.now = func() time.Time { return v.start }
	p := JobProgress{Status: "IN_PROGRESS", Done: 1, Total: 2, Message: "waiting for invalidation I2J0I21PCUYOIK"}
	if got := v.barText(p, true, 200); got != "IN_PROGRESS  0 failed  0 B  0s  waiting for invalidation I2J0I21PCUYOIK" {
		t.Errorf("wide: %q", got)
	}
	// 80 columns: "  50% [" + bar + "] (1/2) " + text + " " within 79.
	got := v.barText(p, true, 80)
	if !strings.HasPrefix(got, "IN_PROGRESS  0 failed  0 B  0s  waiting") || !strings.HasSuffix(got, "…") ||
		len("  50% [] (1/2) ")+msgBar+len([]rune(got))+1 != 79 {
		t.Errorf("80 columns: %q", got)
	}
	if got := v.barText(p, false, 80); got != "IN_PROGRESS  0 failed  0 B  0s" {
		t.Errorf("without the message: %q", got)
	}
	// Narrow: the message goes, the state's start stays, the bar keeps minBar.
	got = v.barText(p, true, 40)
	if !strings.HasPrefix(got, "IN_PROGRESS") || strings.Contains(got, "waiting") ||
		len("  50% [] (1/2) ")+minBar+len([]rune(got))+1 != 39 {
		t.Errorf("40 columns: %q", got)
	}
}
