package report

import (
	"bytes"
	"encoding/csv"
	"testing"

	"prewarm/internal/warm"
)

// What an edge or a user wrote is never read back by a spreadsheet as a
// formula: such cells get a leading quote; other cells are as they were.
func TestCSVCellsAreNeverFormulas(t *testing.T) {
	var buf bytes.Buffer
	c, err := NewCSV(&buf)
	if err != nil {
		t.Fatal(err)
	}
	row := warm.TaskRow{URL: "https://a.test/x", Result: warm.Result{POP: "SIN2-P1", StatusCode: 200, OK: true,
		ServedBy: `=HYPERLINK("http://evil.test","x")`, CacheStatus: "+A1", Error: "-1+1", Reason: "@SUM(A1)",
		Warning: "\tx", EdgeIP: "192.0.2.1", Variant: "br"}}
	if err := c.Write(row); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(&buf).ReadAll()
	if err != nil || len(recs) != 2 {
		t.Fatalf("%v %v", recs, err)
	}
	got := map[string]string{}
	for i, h := range Header {
		got[h] = recs[1][i]
	}
	want := map[string]string{"served_by": `'=HYPERLINK("http://evil.test","x")`, "cache_status": "'+A1", "error": "'-1+1",
		"reason": "'@SUM(A1)", "warning": "'\tx", "url": "https://a.test/x", "pop": "SIN2-P1", "edge_ip": "192.0.2.1",
		"variant": "br", "status_code": "200"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %q, want %q", k, got[k], v)
		}
	}
}
