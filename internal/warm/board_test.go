package warm

import (
	"context"
	"errors"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// progressSource is a store's Progress over a map. It counts reads, and
// while gate is set a read takes the state when it begins and answers once
// the gate opens: a database slow under load.
type progressSource struct {
	mu    sync.Mutex
	jobs  map[string]Progress
	reads int
	gate  chan struct{}
	t     *testing.T
}

func (s *progressSource) Progress(_ context.Context, id string) (*Progress, error) {
	s.mu.Lock()
	s.reads++
	p, ok := s.jobs[id]
	gate := s.gate
	s.mu.Unlock()
	if gate != nil {
		<-gate
	}
	if !ok {
		return nil, ErrNotFound
	}
	return &p, nil
}

func (s *progressSource) set(id string, st Status, done int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := Progress{Job: Job{ID: id, Status: st}}
	p.Done = done
	s.jobs[id] = p
}

// slow makes the following reads wait; the returned function lets them
// answer. The test's end lets them answer too, so that a failed test
// leaves no read blocked in its bubble.
func (s *progressSource) slow() (release func()) {
	gate := make(chan struct{})
	s.mu.Lock()
	s.gate = gate
	s.mu.Unlock()
	var once sync.Once
	release = func() {
		once.Do(func() {
			s.mu.Lock()
			s.gate = nil
			s.mu.Unlock()
			close(gate)
		})
	}
	s.t.Cleanup(release)
	return release
}

func (s *progressSource) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.reads
}

func newBoard(t *testing.T) (*Board, *progressSource) {
	src := &progressSource{jobs: map[string]Progress{}, t: t}
	return &Board{Store: src, Wait: 5 * time.Millisecond, MaxAge: time.Minute}, src
}

// boardAfterRead is a board that has read job j1 once from its store, in
// status st with done tasks done.
func boardAfterRead(t *testing.T, st Status, done int64) (*Board, *progressSource) {
	t.Helper()
	b, src := newBoard(t)
	src.set("j1", st, done)
	read(t, b, "j1")
	return b, src
}

func read(t *testing.T, b *Board, id string) *Progress {
	t.Helper()
	p, err := b.Progress(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestBoardAnswersTheStoreWhenItIsQuick(t *testing.T) {
	b, src := newBoard(t)
	for i := range int64(5) {
		src.set("j1", StatusInProgress, i)
		if p := read(t, b, "j1"); p.Done != i {
			t.Fatalf("done = %d, want the store's %d", p.Done, i)
		}
	}
}

// The tests that involve the board's wait and a slow store run in
// synctest bubbles: the store's slowness is a gate opened on a signal or
// after fake time, and synctest.Wait says when a read has landed.

func TestBoardAnswersTheSnapshotWhileTheStoreIsSlow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b, src := boardAfterRead(t, StatusInProgress, 1)

		src.set("j1", StatusInProgress, 2)
		release := src.slow()
		start := time.Now()
		if p := read(t, b, "j1"); p.Done != 1 {
			t.Fatalf("done = %d, want the snapshot's 1", p.Done)
		}
		if d := time.Since(start); d != b.Wait {
			t.Fatalf("the answer took %v with a slow store, want the board's wait %v", d, b.Wait)
		}
		release()
		synctest.Wait() // the slow read lands and refreshes the snapshot
		if p := read(t, b, "j1"); p.Done != 2 {
			t.Fatalf("done = %d: the store's answer never reached the board", p.Done)
		}
	})
}

func TestBoardWaitsForTheStoreWithoutARecentSnapshot(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b, src := boardAfterRead(t, StatusInProgress, 1)
		time.Sleep(2 * time.Minute) // the snapshot is now older than MaxAge
		src.set("j1", StatusInProgress, 2)
		time.AfterFunc(50*time.Millisecond, src.slow())
		start := time.Now()
		if p := read(t, b, "j1"); p.Done != 2 {
			t.Fatalf("done = %d: a snapshot older than MaxAge was answered", p.Done)
		}
		if d := time.Since(start); d != 50*time.Millisecond {
			t.Fatalf("answered after %v, want once the store answered at 50ms", d)
		}
	})
}

func TestBoardKeepsNoSnapshotOfAnEndedJob(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b, src := boardAfterRead(t, StatusFinished, 9)
		time.AfterFunc(50*time.Millisecond, src.slow())
		src.set("j1", StatusInProgress, 1) // what a later read finds, to tell them apart
		if p := read(t, b, "j1"); p.Done != 1 {
			t.Fatalf("done = %d: an ended job's snapshot was answered", p.Done)
		}
	})
}

// A read begun before a stop must not answer for the job after it, nor
// put the old state back on the board when it lands.
func TestBoardForgetOutranksReadsUnderWay(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b, src := boardAfterRead(t, StatusInProgress, 5)

		release := src.slow()
		before := make(chan *Progress)
		go func() { p, _ := b.Progress(context.Background(), "j1"); before <- p }()
		synctest.Wait()
		if n := src.count(); n != 2 {
			t.Fatalf("%d reads of the store, want the second under way", n)
		}
		<-before // answered from the snapshot; its query is still under way

		src.set("j1", StatusStopped, 5)
		b.Forget("j1")
		release()
		synctest.Wait() // the old read lands
		// With the store slow again, only a snapshot from after the stop
		// could be answered: there is none, so the read waits for the store.
		time.AfterFunc(100*time.Millisecond, src.slow())
		if p := read(t, b, "j1"); p.Status != StatusStopped {
			t.Fatalf("status %s after the stop, want STOPPED", p.Status)
		}
	})
}

func TestBoardSharesOneQueryAmongConcurrentReads(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b, src := newBoard(t)
		src.set("j1", StatusInProgress, 3)
		release := src.slow()
		var wg sync.WaitGroup
		for range 20 {
			wg.Go(func() {
				if p, err := b.Progress(context.Background(), "j1"); err != nil || p.Done != 3 {
					t.Errorf("%v %v", p, err)
				}
			})
		}
		synctest.Wait() // every read is waiting on the one query
		release()
		wg.Wait()
		if n := src.count(); n != 1 {
			t.Fatalf("20 concurrent reads made %d queries, want 1", n)
		}
	})
}

func TestBoardPassesStoreErrors(t *testing.T) {
	b, _ := newBoard(t)
	if _, err := b.Progress(context.Background(), "nope"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("err = %v, want not found", err)
	}
}
