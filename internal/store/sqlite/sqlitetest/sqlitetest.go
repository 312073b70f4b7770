// Package sqlitetest opens the real embedded database for the tests of the
// packages over the store. It is apart from storetest because the sqlite
// package's own tests import storetest.
package sqlitetest

import (
	"context"
	"testing"
	"time"

	"prewarm/internal/store"
	"prewarm/internal/store/sqlite"
	"prewarm/internal/store/storetest"
)

// Open opens a fresh, migrated SQLite database in a temporary directory and
// closes it when the test ends. In a synctest bubble, call it inside the
// bubble: the database's goroutines then belong to it, and the close runs
// before the bubble ends.
func Open(t testing.TB) *sqlite.DB {
	t.Helper()
	db, err := sqlite.Open(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// Store is a store over a fresh database (see Open) that tells the time by
// time.Now (fake time in a bubble) and queues into the returned Recorder
// instead of River.
func Store(t testing.TB) (*store.Store, *storetest.Recorder) {
	t.Helper()
	q := &storetest.Recorder{}
	return store.New(Open(t), q, time.Now), q
}
