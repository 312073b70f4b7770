package migrations

import (
	"io/fs"
	"strings"
	"testing"
)

func TestForFillsTheTemplates(t *testing.T) {
	// The tables keyed by their primary key alone: job_urls, job_pops,
	// batches, results; then budget_shares, job_warnings; rewarms; keep_counts.
	rowids := map[string]int{"00001_schema.sql": 4, "00002_origin_safety.sql": 2, "00010_keep_warm.sql": 1,
		"00012_rewarm_backoff_counts.sql": 1}
	for engine, on := range map[string]bool{"sqlite": true, "postgres": false} {
		fsys, err := For(engine)
		if err != nil {
			t.Fatal(err)
		}
		names, err := fs.Glob(fsys, "*.sql")
		if err != nil || len(names) == 0 || names[0] != "00001_schema.sql" {
			t.Fatalf("%s: migrations %q (%v)", engine, names, err)
		}
		for _, name := range names {
			b, err := fs.ReadFile(fsys, name)
			if err != nil {
				t.Fatal(err)
			}
			sql := string(b)
			if !strings.Contains(sql, "-- +goose Up") || strings.Contains(sql, "{{") {
				t.Errorf("%s %s: not a filled goose migration:\n%s", engine, name, sql)
			}
			want := rowids[name]
			if !on {
				want = 0
			}
			if got := strings.Count(sql, ") WITHOUT ROWID;"); got != want {
				t.Errorf("%s %s: %d tables WITHOUT ROWID, want %d", engine, name, got, want)
			}
		}
	}
	if _, err := For("mysql"); err == nil {
		t.Error("an unknown engine got migrations")
	}
}
