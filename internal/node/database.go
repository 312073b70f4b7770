package node

import (
	"context"
	"errors"
	"fmt"
	"time"

	"prewarm/internal/queue"
	"prewarm/internal/store"
	"prewarm/internal/store/postgres"
	"prewarm/internal/store/sqlite"
	"prewarm/internal/warm"
)

// database is an open database as a node uses it: the store's DB, with
// what differs between the engines.
type database interface {
	store.DB
	Close() error
	// queue makes the queue on the database and migrates both schemas.
	queue(ctx context.Context, cfg queue.Config) (*queue.Queue, error)
	// exclusive says no other process can use the database, so work left
	// marked running was left by a killed process.
	exclusive() bool
	// poll is how often an idle queue client asks for work.
	poll() time.Duration
}

// sqliteDB is the embedded database; its directory lock keeps every other
// process out.
type sqliteDB struct{ *sqlite.DB }

func (db sqliteDB) queue(ctx context.Context, cfg queue.Config) (*queue.Queue, error) {
	q, err := queue.NewSQLite(db.W, cfg)
	if err != nil {
		return nil, err
	}
	return q, q.Migrate(ctx)
}

func (sqliteDB) exclusive() bool { return true }

// poll: SQLite cannot tell the clients of new work, so they ask often,
// which costs a local read and keeps the step from POST to work, and from
// batch to batch, short.
func (sqliteDB) poll() time.Duration { return 20 * time.Millisecond }

// postgresDB is the database a fleet shares.
type postgresDB struct{ *postgres.DB }

// queue migrates both schemas under the database's advisory lock, so nodes
// starting together do not race.
func (db postgresDB) queue(ctx context.Context, cfg queue.Config) (*queue.Queue, error) {
	q, err := queue.NewPostgres(db.Pool, cfg)
	if err != nil {
		return nil, err
	}
	return q, db.Migrate(ctx, q.Migrate)
}

func (postgresDB) exclusive() bool { return false }

// poll: PostgreSQL tells the clients of new work; asking is the fallback.
func (postgresDB) poll() time.Duration { return 250 * time.Millisecond }

// openDatabase opens the store and the queue on the database the config
// names, migrates both and, on a database no other process uses, hands
// back to the queue what a killed process left running.
func (n *Node) openDatabase(ctx context.Context) (err error) {
	db, err := n.dial(ctx)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			db.Close()
		}
	}()
	q, err := db.queue(ctx, queue.Config{
		Logger:         quiet(n.cfg.Log),
		PollInterval:   db.poll(),
		StepTimeout:    n.stepTimeout(),
		ControlWorkers: controlWorkers,
	})
	if err != nil {
		return err
	}
	st := store.New(db, q, nil)
	if db.exclusive() {
		if err := errors.Join(q.RequeueOrphans(ctx), st.ReleaseOrphanBatches(ctx)); err != nil {
			return err
		}
	}
	n.Store, n.queue, n.closeDB = st, q, db.Close
	return nil
}

// dial opens the database the config names.
func (n *Node) dial(ctx context.Context) (database, error) {
	if eng, _ := parseDatabase(n.cfg.Database, n.cfg.Control); eng == enginePostgres {
		db, err := postgres.Open(ctx, n.cfg.Database)
		return postgresDB{db}, err
	}
	db, err := sqlite.Open(ctx, n.cfg.DataDir)
	return sqliteDB{db}, err
}

// explain names a full data directory as the reason a node could not
// start, whatever part of it failed first (the queue's own statements
// report the disk in the driver's words).
func (cfg Config) explain(err error) error {
	if eng, _ := parseDatabase(cfg.Database, cfg.Control); eng == enginePostgres || !sqlite.IsFull(err) {
		return err
	}
	full := sqlite.Room(cfg.DataDir)
	if full == nil {
		full = fmt.Errorf("%w: the data directory %s", warm.ErrStorageFull, cfg.DataDir)
	}
	return fmt.Errorf("cannot start: %w; free space there and start again: the jobs it holds are kept and resume (%v)", full, err)
}
