// Package migrations holds the store's schema as versioned SQL files,
// NNNNN_name.sql in goose's format, each applied once in a transaction of
// its own. Both engines run the same files: each is a text/template filled
// in for the engine (see Data). Never edit a released migration: add the
// next file.
package migrations

import (
	"bytes"
	"embed"
	"fmt"
	"io/fs"
	"testing/fstest"
	"text/template"
)

//go:embed *.sql
var files embed.FS

// Data is what a migration's template may use.
type Data struct {
	// WithoutRowID ends a CREATE TABLE whose rows are found by their
	// primary key alone: SQLite then keeps them in that key's b-tree
	// instead of a rowid table plus an index. Empty on PostgreSQL.
	WithoutRowID string
}

var engines = map[string]Data{
	"sqlite":   {WithoutRowID: "WITHOUT ROWID"},
	"postgres": {},
}

// For returns the migrations for engine ("sqlite" or "postgres"), their
// templates filled in.
func For(engine string) (fs.FS, error) {
	data, ok := engines[engine]
	if !ok {
		return nil, fmt.Errorf("migrations: unknown engine %q", engine)
	}
	names, err := fs.Glob(files, "*.sql")
	if err != nil {
		return nil, err
	}
	// An in-memory file system, which is what goose reads migrations from.
	out := fstest.MapFS{}
	for _, name := range names {
		t, err := template.New(name).Option("missingkey=error").ParseFS(files, name)
		if err != nil {
			return nil, fmt.Errorf("migration %s: %w", name, err)
		}
		var b bytes.Buffer
		if err := t.Execute(&b, data); err != nil {
			return nil, fmt.Errorf("migration %s: %w", name, err)
		}
		out[name] = &fstest.MapFile{Data: b.Bytes(), Mode: 0o444}
	}
	return out, nil
}
