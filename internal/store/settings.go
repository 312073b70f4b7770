package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
)

const desiredCapacityKey = "desired_capacity"

// DesiredCapacity is how many agents should take work. Unset, it is -1.
func (s *Store) DesiredCapacity(ctx context.Context) (int, error) {
	var v string
	err := s.db.Reader().QueryRow(ctx, desiredSQL, desiredCapacityKey).Scan(&v)
	if errors.Is(err, ErrNoRows) {
		return -1, nil
	}
	if err != nil {
		return 0, fmt.Errorf("desired capacity: %w", err)
	}
	n := -1
	return n, parseDesired(v, &n)
}

const desiredSQL = `SELECT value FROM settings WHERE key = $1`

func parseDesired(v string, n *int) error {
	d, err := strconv.Atoi(v)
	if err != nil {
		return fmt.Errorf("desired capacity: %w", err)
	}
	*n = d
	return nil
}

// SetDesiredCapacity sets how many agents take work.
func (s *Store) SetDesiredCapacity(ctx context.Context, n int) error {
	_, err := s.db.Exec(ctx, `INSERT INTO settings (key, value) VALUES ($1, $2)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value`, desiredCapacityKey, strconv.Itoa(n))
	if err != nil {
		return fmt.Errorf("set desired capacity: %w", err)
	}
	return nil
}

// Secret returns the named random secret, creating it on first use. Every
// node on the database shares it (report links signed on one node open on
// another).
func (s *Store) Secret(ctx context.Context, name string) ([]byte, error) {
	key := "secret:" + name
	var v string
	err := s.db.Reader().QueryRow(ctx, `SELECT value FROM settings WHERE key = $1`, key).Scan(&v)
	if err == nil {
		return hex.DecodeString(v)
	}
	if !errors.Is(err, ErrNoRows) {
		return nil, fmt.Errorf("secret %s: %w", name, err)
	}
	fresh := make([]byte, 32)
	if _, err := rand.Read(fresh); err != nil {
		return nil, err
	}
	_, err = s.db.Exec(ctx, `INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING`,
		key, hex.EncodeToString(fresh))
	if err != nil {
		return nil, fmt.Errorf("secret %s: %w", name, err)
	}
	if err := s.db.QueryRow(ctx, `SELECT value FROM settings WHERE key = $1`, key).Scan(&v); err != nil {
		return nil, fmt.Errorf("secret %s: %w", name, err)
	}
	return hex.DecodeString(v)
}

// RotateSecret replaces the named secret with a new random one: whatever
// was signed with the old one no longer verifies.
func (s *Store) RotateSecret(ctx context.Context, name string) error {
	fresh := make([]byte, 32)
	if _, err := rand.Read(fresh); err != nil {
		return err
	}
	_, err := s.db.Exec(ctx, `INSERT INTO settings (key, value) VALUES ($1, $2)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value`, "secret:"+name, hex.EncodeToString(fresh))
	if err != nil {
		return fmt.Errorf("rotate secret %s: %w", name, err)
	}
	return nil
}
