// Package report writes a job's tasks as CSV, the format of the original's
// failure report (one row per failed task, with why it failed).
package report

import (
	"encoding/csv"
	"io"
	"strconv"
	"strings"
	"time"

	"prewarm/client"
	"prewarm/internal/warm"
)

// Header is the CSV header row.
var Header = []string{"pop", "url", "status_code", "error", "attempts", "edge_ip", "cache_status",
	"served_by", "bytes", "ttfb_ms", "duration_ms", "ok", "at", "variant", "verified", "reason", "warning"}

// CSV writes tasks as CSV rows, flushing as it goes so a large report
// streams.
type CSV struct {
	w *csv.Writer
	n int
	// Flushed, when set, is called after each flush of a thousand rows
	// (the API moves the connection's write deadline on).
	Flushed func()
}

// NewCSV writes the header row to w.
func NewCSV(w io.Writer) (*CSV, error) {
	c := &CSV{w: csv.NewWriter(w)}
	return c, c.w.Write(Header)
}

// Write adds one task.
func (c *CSV) Write(t warm.TaskRow) error {
	at := ""
	if !t.At.IsZero() {
		at = t.At.UTC().Format(client.TimeLayout) // as the API writes times
	}
	status := ""
	if t.StatusCode != 0 {
		status = strconv.Itoa(t.StatusCode)
	}
	err := c.w.Write([]string{text(t.POP), text(t.URL), status, text(t.Error), strconv.Itoa(t.Attempts), text(t.EdgeIP),
		text(t.CacheStatus), text(t.ServedBy), strconv.FormatInt(t.Bytes, 10), ms(t.TTFB), ms(t.Duration),
		strconv.FormatBool(t.OK), at, text(t.Variant), strconv.FormatBool(t.Verified), text(t.Reason), text(t.Warning)})
	if err != nil {
		return err
	}
	if c.n++; c.n%1000 == 0 {
		c.w.Flush()
		if err := c.w.Error(); err != nil {
			return err
		}
		if c.Flushed != nil {
			c.Flushed()
		}
	}
	return nil
}

// text is a cell of text that came from outside (an edge's headers, a
// URL, an error): one that a spreadsheet would read as a formula (=, +,
// -, @, or a tab or carriage return first) is prefixed with a quote, which
// spreadsheets show as text.
func text(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// Close flushes what is left.
func (c *CSV) Close() error {
	c.w.Flush()
	return c.w.Error()
}

func ms(d time.Duration) string {
	return strconv.FormatFloat(float64(d.Microseconds())/1000, 'f', 1, 64)
}
