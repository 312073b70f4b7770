package cli

import (
	"bytes"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"

	"prewarm/client"
)

// POPRow is one line of a per-POP table.
type POPRow struct {
	POP    string
	Tasks  int64 // tasks counted at the POP (finished ones, for a job's /jobs/{id} POPs)
	OK     int64
	Failed int64
	Bytes  int64
	// Hit is the caller's measure of the cache after the warm ("98%"); the
	// column is left out when no row has one.
	Hit string
	// Error is why the POP could not be used; the column is left out when
	// no row has one.
	Error string
}

// WritePOPTable writes rows as an aligned table: POP, TASKS, OK, FAILED,
// BYTES (human), then HIT and ERROR when any row fills them.
func WritePOPTable(w io.Writer, rows []POPRow) error {
	var withHit, withError bool
	for _, r := range rows {
		withHit = withHit || r.Hit != ""
		withError = withError || r.Error != ""
	}
	header := []string{"POP", "TASKS", "OK", "FAILED", "BYTES"}
	if withHit {
		header = append(header, "HIT")
	}
	if withError {
		header = append(header, "ERROR")
	}
	t := newTextTable(w, header...)
	for _, r := range rows {
		cells := []string{r.POP, formatCount(r.Tasks), formatCount(r.OK), formatCount(r.Failed), humanBytes(r.Bytes)}
		if withHit {
			cells = append(cells, r.Hit)
		}
		if withError {
			cells = append(cells, r.Error)
		}
		t.row(cells...)
	}
	if err := t.flush(); err != nil {
		return fmt.Errorf("writing the POP table: %w", err)
	}
	return nil
}

// popRows turns the POPs of GET /jobs/{id} into table rows. A skipped POP
// (an implicit target that did not resolve) and an unreachable one say so in
// the error column, so that an empty row is not mistaken for a POP that did
// nothing. HIT is the share of verified tasks among those the verification
// judged, when it judged any.
func popRows(pops []client.POP) []POPRow {
	rows := make([]POPRow, 0, len(pops))
	for _, p := range pops {
		msg := p.Error
		switch {
		case msg != "":
		case p.Skipped:
			msg = "skipped: does not resolve"
		case p.Unreachable && p.LastError != "":
			msg = "unreachable: " + p.LastError
		case p.Unreachable:
			msg = "unreachable"
		}
		var hit string
		if judged := p.Verified + p.NotCached; judged > 0 {
			hit = fmt.Sprintf("%d%%", 100*p.Verified/judged)
		}
		rows = append(rows, POPRow{POP: p.Code, Tasks: p.Done, OK: p.OK, Failed: p.Failed, Bytes: p.Bytes, Hit: hit, Error: msg})
	}
	return rows
}

// writeAgentTable writes the agents of GET /instances. Heartbeats are shown
// as ages against the answer's own timestamp, so that the client's clock,
// which may be off, plays no part.
func writeAgentTable(w io.Writer, agents []client.Agent, serverNow string) error {
	now, nowOK := parseAPITime(serverNow)
	t := newTextTable(w, "NAME", "HOST", "STATE", "CONCURRENCY", "BUSY", "LAST HEARTBEAT")
	for _, a := range agents {
		beat := a.LastHeartbeat
		if at, ok := parseAPITime(a.LastHeartbeat); ok && nowOK {
			beat = humanDuration(now.Sub(at)) + " ago"
		}
		t.row(a.Name, a.Host, a.State, strconv.Itoa(a.Concurrency), strconv.Itoa(a.Busy), beat)
	}
	if err := t.flush(); err != nil {
		return fmt.Errorf("writing the agent table: %w", err)
	}
	return nil
}

// textTable is an aligned table whose cells cannot break its layout: a tab
// or a newline inside a cell (an error message) would start a column or a
// row. Lines are trimmed on the right, where tabwriter pads an empty last
// cell with spaces.
type textTable struct {
	w   io.Writer
	buf bytes.Buffer
	tw  *tabwriter.Writer
	err error
}

// cellText keeps a cell within its column and row.
func cellText(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '\t' || r == '\n' || r == '\r' {
			return ' '
		}
		return r
	}, s)
}

func newTextTable(w io.Writer, header ...string) *textTable {
	t := &textTable{w: w}
	t.tw = tabwriter.NewWriter(&t.buf, 0, 4, 2, ' ', 0)
	if len(header) > 0 {
		t.row(header...)
	}
	return t
}

func (t *textTable) row(cells ...string) {
	if t.err != nil {
		return
	}
	for i, c := range cells {
		cells[i] = cellText(c)
	}
	_, t.err = fmt.Fprintln(t.tw, strings.Join(cells, "\t"))
}

func (t *textTable) flush() error {
	if t.err != nil {
		return t.err
	}
	if err := t.tw.Flush(); err != nil {
		return err
	}
	var out bytes.Buffer
	for line := range strings.Lines(t.buf.String()) {
		out.WriteString(strings.TrimRight(line, " \n"))
		out.WriteByte('\n')
	}
	t.buf.Reset()
	_, err := t.w.Write(out.Bytes())
	return err
}

// kvWriter writes "name  value" lines aligned, for a status or a summary.
type kvWriter struct{ t *textTable }

func newKVWriter(w io.Writer) *kvWriter { return &kvWriter{t: newTextTable(w)} }

func (f *kvWriter) add(name, value string) { f.t.row(name, value) }

func (f *kvWriter) flush() error { return f.t.flush() }

func formatCount(n int64) string { return strconv.FormatInt(n, 10) }

// humanBytes writes a byte count in binary units: 512 B, 1.5 KiB, 2.0 GiB.
func humanBytes(n int64) string {
	if n < 1024 {
		return fmt.Sprintf("%d B", n)
	}
	const units = "KMGTPE"
	v, i := float64(n)/1024, 0
	for v >= 1024 && i < len(units)-1 {
		v /= 1024
		i++
	}
	return fmt.Sprintf("%.1f %ciB", v, units[i])
}
