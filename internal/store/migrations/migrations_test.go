package migrations

import (
	"io/fs"
	"strings"
	"testing"
)

func TestForFillsTheTemplates(t *testing.T) {
	// The tables keyed by their primary key alone: job_urls, job_pops,
	// batches, results.
	for engine, rowid := range map[string]int{"sqlite": 4, "postgres": 0} {
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
			if got := strings.Count(sql, ") WITHOUT ROWID;"); got != rowid {
				t.Errorf("%s %s: %d tables WITHOUT ROWID, want %d", engine, name, got, rowid)
			}
		}
	}
	if _, err := For("mysql"); err == nil {
		t.Error("an unknown engine got migrations")
	}
}
