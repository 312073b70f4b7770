// Package warmtest is what the tests of warm and of the packages that run
// its jobs (agent) share: a test's store over the real embedded database.
// It is a package of its own because agent's tests cannot import warm's
// test files, and warm's own tests are the external package warm_test,
// which may import it without a cycle.
package warmtest

import (
	"context"
	"testing"

	"prewarm/internal/store"
	"prewarm/internal/store/sqlite/sqlitetest"
	"prewarm/internal/store/storetest"
	"prewarm/internal/warm"
)

// Env is one test's store: a fresh SQLite database, the context its calls
// take, and the Recorder that stands in for River.
type Env struct {
	T   testing.TB
	Ctx context.Context
	DB  store.DB
	St  *store.Store
	Q   *storetest.Recorder
}

// NewEnv opens a fresh store (see sqlitetest.Store); it is closed when the
// test ends. In a synctest bubble, call it inside the bubble.
func NewEnv(t testing.TB) *Env {
	t.Helper()
	st, q := sqlitetest.Store(t)
	return &Env{T: t, Ctx: context.Background(), DB: st.DB(), St: st, Q: q}
}

// Must fails the test if err is not nil.
func (e *Env) Must(err error) {
	e.T.Helper()
	if err != nil {
		e.T.Fatal(err)
	}
}

// Progress is job id's progress as the store reports it.
func (e *Env) Progress(id string) *warm.Progress {
	e.T.Helper()
	return storetest.Progress(e.T, e.St, id)
}

// WantStatus fails the test unless job id's status is want.
func (e *Env) WantStatus(id string, want warm.Status) {
	e.T.Helper()
	if st := e.Progress(id).Status; st != want {
		e.T.Fatalf("job %s is %s, want %s", id, st, want)
	}
}
