package sqlite

import (
	"errors"
	"testing"

	"prewarm/internal/warm"
)

func TestRoomLeft(t *testing.T) {
	if err := roomLeft(minRoom, "/data"); err != nil {
		t.Fatalf("1 MiB free: %v", err)
	}
	err := roomLeft(4096, "/data")
	if !errors.Is(err, warm.ErrStorageFull) || err.Error() != "the database's disk is full: 4 kB free on the data directory /data" {
		t.Fatalf("4 kB free: %v", err)
	}
	if err := Room(t.TempDir()); err != nil {
		t.Fatalf("a test's temporary directory: %v", err)
	}
}
