package store

import (
	"context"
	"fmt"
	"time"

	"prewarm/internal/warm"
)

// ClaimNotifications takes up to limit ended jobs whose notification is
// due, for lease: another node (or this one, after a crash) may take them
// again only once the lease has passed, so a notification is sent at
// least once and, unless a sender dies mid-way, once.
func (s *Store) ClaimNotifications(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]*warm.Progress, error) {
	// Looked for with a read first: the claim is a write, and most rounds
	// find nothing due.
	var due int
	if err := s.db.Reader().QueryRow(ctx, `SELECT COUNT(*) FROM jobs WHERE notify_state = 'pending' AND notify_next <= $1
		AND status IN `+endedStatuses, micros(now)).Scan(&due); err != nil {
		return nil, fmt.Errorf("notifications due: %w", err)
	}
	if due == 0 {
		return nil, nil
	}
	var ids []string
	err := s.inTx(ctx, func(tx Tx) error {
		rows, err := tx.Query(ctx, `UPDATE jobs SET notify_next = $1 WHERE id IN (
				SELECT id FROM jobs WHERE notify_state = 'pending' AND notify_next <= $2
				AND status IN `+endedStatuses+` ORDER BY notify_next LIMIT $3)
			RETURNING id`, micros(now.Add(lease)), micros(now), limit)
		if err != nil {
			return fmt.Errorf("claim notifications: %w", err)
		}
		ids, err = collectStrings(rows, nil)
		return err
	})
	if err != nil {
		return nil, err
	}
	out := make([]*warm.Progress, 0, len(ids))
	for _, id := range ids {
		p, err := s.Progress(ctx, id)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

// NotifyAttempt records how an attempt to tell a job's end went: state is
// pending (to try again at next), delivered or failed for good.
func (s *Store) NotifyAttempt(ctx context.Context, id string, state warm.NotifyState, errText string, at, next time.Time) error {
	delivered := int64(0)
	if state == warm.NotifyDelivered {
		delivered = micros(at)
	}
	return s.inTx(ctx, func(tx Tx) error {
		_, err := tx.Exec(ctx, `UPDATE jobs SET notify_state = $2, notify_attempts = notify_attempts + 1,
			notify_error = $3, notify_next = $4, notified_at = $5 WHERE id = $1`,
			id, string(state), errText, micros(next), delivered)
		if err != nil {
			return fmt.Errorf("record notification of %s: %w", id, err)
		}
		return nil
	})
}

// endedStatuses is the SQL list of a job's terminal states.
const endedStatuses = `('FINISHED', 'TIMEOUT', 'STOPPED', 'FAILED')`
