package agent

import (
	"context"
	"testing"
)

func TestCancelAbortsEveryWatchOfTheJobAndNoOther(t *testing.T) {
	c := NewCancels()
	parent, stopParent := context.WithCancel(context.Background())
	defer stopParent()
	a1, releaseA1 := c.Watch(parent, "a")
	a2, releaseA2 := c.Watch(parent, "a")
	b, releaseB := c.Watch(parent, "b")
	defer releaseA1()
	defer releaseA2()
	defer releaseB()

	c.Cancel("a")
	if a1.Err() == nil || a2.Err() == nil {
		t.Fatal("a watch of the cancelled job still runs")
	}
	if b.Err() != nil || parent.Err() != nil {
		t.Fatal("cancelling a job cancelled another job's work or the parent")
	}
	c.Cancel("nobody") // nothing watched: nothing happens
	if b.Err() != nil {
		t.Fatal("cancelling an unwatched job cancelled b")
	}
}

func TestCancelsForgetReleasedWatches(t *testing.T) {
	c := NewCancels()
	ctx, release := c.Watch(context.Background(), "a")
	_, release2 := c.Watch(context.Background(), "a")
	release()
	if ctx.Err() == nil {
		t.Fatal("a released watch's context was not cancelled")
	}
	if n := len(c.jobs["a"]); n != 1 {
		t.Fatalf("%d watches of a after one of two was released, want 1", n)
	}
	release2()
	if len(c.jobs) != 0 {
		t.Fatalf("entries left after every release: %v", c.jobs)
	}

	// A release that comes late (twice, or after the job is watched
	// anew) leaves the new watch in place.
	ctx3, release3 := c.Watch(context.Background(), "a")
	release()
	release2()
	if len(c.jobs["a"]) != 1 {
		t.Fatal("a stale release removed a live watch")
	}
	c.Cancel("a")
	if ctx3.Err() == nil {
		t.Fatal("the new watch was not cancelled")
	}
	release3()
	if len(c.jobs) != 0 {
		t.Fatalf("entries left: %v", c.jobs)
	}
}

func TestCancelledWatchesStayReleasable(t *testing.T) {
	c := NewCancels()
	_, release := c.Watch(context.Background(), "a")
	c.Cancel("a")
	c.Cancel("a")
	release()
	if len(c.jobs) != 0 {
		t.Fatalf("entries left: %v", c.jobs)
	}
}
