package warm

import (
	"context"
	"errors"
	"sync"
	"testing"
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
// answer.
func (s *progressSource) slow() (release func()) {
	gate := make(chan struct{})
	s.mu.Lock()
	s.gate = gate
	s.mu.Unlock()
	return func() {
		s.mu.Lock()
		s.gate = nil
		s.mu.Unlock()
		close(gate)
	}
}

func (s *progressSource) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.reads
}

func newBoard() (*Board, *progressSource) {
	src := &progressSource{jobs: map[string]Progress{}}
	return &Board{Store: src, Wait: 5 * time.Millisecond, MaxAge: time.Minute}, src
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
	b, src := newBoard()
	for i := range int64(5) {
		src.set("j1", StatusInProgress, i)
		if p := read(t, b, "j1"); p.Done != i {
			t.Fatalf("done = %d, want the store's %d", p.Done, i)
		}
	}
}

func TestBoardAnswersTheSnapshotWhileTheStoreIsSlow(t *testing.T) {
	b, src := newBoard()
	src.set("j1", StatusInProgress, 1)
	read(t, b, "j1")

	src.set("j1", StatusInProgress, 2)
	release := src.slow()
	start := time.Now()
	if p := read(t, b, "j1"); p.Done != 1 {
		t.Fatalf("done = %d, want the snapshot's 1", p.Done)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("the answer waited %v for a slow store", d)
	}
	release()
	// The slow read lands and refreshes the snapshot.
	deadline := time.Now().Add(5 * time.Second)
	for read(t, b, "j1").Done != 2 {
		if time.Now().After(deadline) {
			t.Fatal("the store's answer never reached the board")
		}
	}
}

func TestBoardWaitsForTheStoreWithoutARecentSnapshot(t *testing.T) {
	b, src := newBoard()
	now := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	b.Now = func() time.Time { return now }
	src.set("j1", StatusInProgress, 1)
	read(t, b, "j1")
	now = now.Add(2 * time.Minute) // older than MaxAge
	src.set("j1", StatusInProgress, 2)
	release := src.slow()
	time.AfterFunc(50*time.Millisecond, release)
	if p := read(t, b, "j1"); p.Done != 2 {
		t.Fatalf("done = %d: a snapshot older than MaxAge was answered", p.Done)
	}
}

func TestBoardKeepsNoSnapshotOfAnEndedJob(t *testing.T) {
	b, src := newBoard()
	src.set("j1", StatusFinished, 9)
	read(t, b, "j1")
	release := src.slow()
	time.AfterFunc(50*time.Millisecond, release)
	src.set("j1", StatusInProgress, 1) // what a later read finds, to tell them apart
	if p := read(t, b, "j1"); p.Done != 1 {
		t.Fatalf("done = %d: an ended job's snapshot was answered", p.Done)
	}
}

// A read begun before a stop must not answer for the job after it, nor
// put the old state back on the board when it lands.
func TestBoardForgetOutranksReadsUnderWay(t *testing.T) {
	b, src := newBoard()
	src.set("j1", StatusInProgress, 5)
	read(t, b, "j1")

	release := src.slow()
	before := make(chan *Progress)
	go func() { p, _ := b.Progress(context.Background(), "j1"); before <- p }()
	for src.count() < 2 {
		time.Sleep(time.Millisecond)
	}
	<-before // answered from the snapshot; its query is still under way

	src.set("j1", StatusStopped, 5)
	b.Forget("j1")
	release()
	time.Sleep(50 * time.Millisecond) // the old read lands
	// With the store slow again, only a snapshot from after the stop
	// could be answered: there is none, so the read waits for the store.
	time.AfterFunc(100*time.Millisecond, src.slow())
	if p := read(t, b, "j1"); p.Status != StatusStopped {
		t.Fatalf("status %s after the stop, want STOPPED", p.Status)
	}
}

func TestBoardSharesOneQueryAmongConcurrentReads(t *testing.T) {
	b, src := newBoard()
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
	time.Sleep(50 * time.Millisecond)
	release()
	wg.Wait()
	if n := src.count(); n != 1 {
		t.Fatalf("20 concurrent reads made %d queries, want 1", n)
	}
}

func TestBoardPassesStoreErrors(t *testing.T) {
	b, _ := newBoard()
	if _, err := b.Progress(context.Background(), "nope"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("err = %v, want not found", err)
	}
}
