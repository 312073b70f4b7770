package store

import (
	"errors"
	"testing"
	"time"

	"prewarm/internal/warm"
)

// A write that failed for want of room marks the store full. A heartbeat,
// which needs no new room, clears the mark only once nothing has failed
// for fullHold; a transaction that went through clears it at once.
func TestFullMark(t *testing.T) {
	now := time.Unix(1000, 0)
	s := New(nil, nil, func() time.Time { return now })
	full := errors.Join(warm.ErrStorageFull, errors.New("disk"))
	mark := func() error { t.Helper(); return s.full.Load().orNil() }

	s.wrote(full, 0)
	now = now.Add(time.Second)
	s.wrote(nil, fullHold)
	if mark() == nil {
		t.Fatal("a heartbeat a second after a failure cleared the mark")
	}
	now = now.Add(fullHold - 2*time.Second)
	s.wrote(full, 0) // fails again: the hold starts over
	first := s.full.Load().at
	now = now.Add(fullHold - time.Second)
	s.wrote(nil, fullHold)
	if mark() == nil || !s.full.Load().at.Equal(first) {
		t.Fatalf("mark %v since %v, want kept since the first failure", mark(), s.full.Load())
	}
	now = now.Add(time.Second)
	s.wrote(nil, fullHold)
	if mark() != nil {
		t.Fatalf("a heartbeat %v after the last failure kept the mark", fullHold)
	}

	s.wrote(full, 0)
	s.wrote(nil, 0)
	if mark() != nil {
		t.Fatal("a transaction that went through kept the mark")
	}
}

func (f *fullSince) orNil() error {
	if f == nil {
		return nil
	}
	return f.err
}
