package sqlite

import (
	"fmt"
	"syscall"

	"prewarm/internal/warm"
)

// minRoom is the free space below which the data directory counts as
// full: SQLite needs room for its write-ahead log and new pages, and a
// write that finds none fails.
const minRoom = 1 << 20

// Room says whether the filesystem of the data directory dir is out of
// space: warm.ErrStorageFull with what is free, or nil (also when it
// cannot tell).
func Room(dir string) error {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return nil
	}
	return roomLeft(int64(st.Bavail)*int64(st.Bsize), dir)
}

func roomLeft(free int64, dir string) error {
	if free >= minRoom {
		return nil
	}
	return fmt.Errorf("%w: %d kB free on the data directory %s", warm.ErrStorageFull, free/1000, dir)
}

// Room is Room of the database's directory.
func (db *DB) Room() error { return Room(db.dir) }
