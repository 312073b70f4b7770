// Package report writes a job's tasks as CSV, the format of the original's
// failure report (one row per failed task, with why it failed).
package report

import (
	"encoding/csv"
	"io"
	"strconv"
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
	err := c.w.Write([]string{t.POP, t.URL, status, t.Error, strconv.Itoa(t.Attempts), t.EdgeIP, t.CacheStatus,
		t.ServedBy, strconv.FormatInt(t.Bytes, 10), ms(t.TTFB), ms(t.Duration), strconv.FormatBool(t.OK), at,
		t.Variant, strconv.FormatBool(t.Verified), t.Reason, t.Warning})
	if err != nil {
		return err
	}
	if c.n++; c.n%1000 == 0 {
		c.w.Flush()
		return c.w.Error()
	}
	return nil
}

// Close flushes what is left.
func (c *CSV) Close() error {
	c.w.Flush()
	return c.w.Error()
}

func ms(d time.Duration) string {
	return strconv.FormatFloat(float64(d.Microseconds())/1000, 'f', 1, 64)
}
