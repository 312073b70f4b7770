package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"prewarm/internal/warm"
)

// CreateSchedule records a new schedule.
func (s *Store) CreateSchedule(ctx context.Context, sc *warm.Schedule) error {
	spec, err := json.Marshal(sc.Spec)
	if err != nil {
		return err
	}
	return s.inTx(ctx, func(tx Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO schedules (id, name, cron, timezone, job, spec, owner, created_at, next_run)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`, sc.ID, sc.Name, sc.Cron, sc.Timezone, string(sc.Body), string(spec),
			sc.Owner, micros(sc.CreatedAt), micros(sc.NextRun))
		if err != nil {
			return fmt.Errorf("insert schedule: %w", err)
		}
		return nil
	})
}

const scheduleColumns = `id, name, cron, timezone, job, spec, owner, paused, created_at, next_run, last_run, last_job, last_error, runs`

func scanSchedule(r Row) (*warm.Schedule, error) {
	var sc warm.Schedule
	var body, spec string
	var created, next, last int64
	if err := r.Scan(&sc.ID, &sc.Name, &sc.Cron, &sc.Timezone, &body, &spec, &sc.Owner, &sc.Paused, &created, &next, &last,
		&sc.LastJob, &sc.LastError, &sc.Runs); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(spec), &sc.Spec); err != nil {
		return nil, fmt.Errorf("schedule %s: %w", sc.ID, err)
	}
	sc.Body = json.RawMessage(body)
	sc.CreatedAt, sc.NextRun, sc.LastRun = fromMicros(created), fromMicros(next), fromMicros(last)
	return &sc, nil
}

func (s *Store) schedules(ctx context.Context, where string, args ...any) ([]warm.Schedule, error) {
	rows, err := s.db.Reader().Query(ctx, `SELECT `+scheduleColumns+` FROM schedules `+where, args...)
	if err != nil {
		return nil, fmt.Errorf("schedules: %w", err)
	}
	defer rows.Close()
	out := []warm.Schedule{}
	for rows.Next() {
		sc, err := scanSchedule(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *sc)
	}
	return out, rows.Err()
}

// Schedules lists every schedule, oldest first.
func (s *Store) Schedules(ctx context.Context) ([]warm.Schedule, error) {
	return s.schedules(ctx, `ORDER BY created_at, id`)
}

// DueSchedules lists the schedules not paused whose next run is due.
func (s *Store) DueSchedules(ctx context.Context, now time.Time) ([]warm.Schedule, error) {
	return s.schedules(ctx, `WHERE NOT paused AND next_run > 0 AND next_run <= $1 ORDER BY next_run LIMIT 100`, micros(now))
}

// Schedule is one schedule.
func (s *Store) Schedule(ctx context.Context, id string) (*warm.Schedule, error) {
	sc, err := scanSchedule(s.db.Reader().QueryRow(ctx, `SELECT `+scheduleColumns+` FROM schedules WHERE id = $1`, id))
	if err != nil {
		return nil, notFound(err, "schedule "+id)
	}
	return sc, nil
}

// DeleteSchedule removes a schedule; its jobs stay.
func (s *Store) DeleteSchedule(ctx context.Context, id string) error {
	return s.changeSchedule(ctx, id, `DELETE FROM schedules WHERE id = $1`)
}

// PauseSchedule pauses a schedule or resumes it with its next run at next.
func (s *Store) PauseSchedule(ctx context.Context, id string, paused bool, next time.Time) error {
	return s.changeSchedule(ctx, id, `UPDATE schedules SET paused = $2, next_run = $3 WHERE id = $1`, paused, micros(next))
}

// changeSchedule runs one statement on schedule id, which must exist.
func (s *Store) changeSchedule(ctx context.Context, id, q string, args ...any) error {
	return s.inTx(ctx, func(tx Tx) error {
		n, err := tx.Exec(ctx, q, append([]any{id}, args...)...)
		if err != nil {
			return fmt.Errorf("schedule %s: %w", id, err)
		}
		if n == 0 {
			return fmt.Errorf("schedule %s: %w", id, warm.ErrNotFound)
		}
		return nil
	})
}

// ClaimRun moves schedule id's next run from the slot read to next, and
// notes the run: only the caller whose update finds the slot unchanged
// wins, so a slot runs once however many nodes saw it due.
func (s *Store) ClaimRun(ctx context.Context, id string, from, next, now time.Time) (bool, error) {
	var won bool
	err := s.inTx(ctx, func(tx Tx) error {
		n, err := tx.Exec(ctx, `UPDATE schedules SET next_run = $3, last_run = $4, runs = runs + 1
			WHERE id = $1 AND next_run = $2 AND NOT paused`, id, micros(from), micros(next), micros(now))
		won = n == 1
		return err
	})
	if err != nil {
		return false, fmt.Errorf("claim a run of schedule %s: %w", id, err)
	}
	return won, nil
}

// ScheduleRan records the job a run started, or why it started none.
func (s *Store) ScheduleRan(ctx context.Context, id, jobID, errText string) error {
	return s.inTx(ctx, func(tx Tx) error {
		_, err := tx.Exec(ctx, `UPDATE schedules SET last_job = $2, last_error = $3 WHERE id = $1`, id, jobID, errText)
		return err
	})
}
