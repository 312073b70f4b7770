package api

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"sync"
	"time"
)

// DefaultReportLinkTTL is how long a report link works by default.
const DefaultReportLinkTTL = 7 * 24 * time.Hour

// reportToken signs a job id and the link's expiry for its report link.
func reportToken(secret []byte, jobID string, expires int64) string {
	m := hmac.New(sha256.New, secret)
	fmt.Fprintf(m, "report:%s:%d", jobID, expires)
	return hex.EncodeToString(m.Sum(nil)[:16])
}

func validReportToken(secret []byte, jobID string, expires int64, token string) bool {
	want := reportToken(secret, jobID, expires)
	return subtle.ConstantTimeCompare([]byte(want), []byte(token)) == 1
}

// secretCache holds the report secret, asking for it again at most once a
// minute (a rotation on another node reaches this one so).
type secretCache struct {
	load func(context.Context) ([]byte, error)
	now  func() time.Time
	mu   sync.Mutex
	val  []byte
	at   time.Time
}

func newSecretCache(load func(context.Context) ([]byte, error), now func() time.Time) *secretCache {
	if load == nil {
		fixed := make([]byte, 32)
		_, _ = rand.Read(fixed)
		load = func(context.Context) ([]byte, error) { return fixed, nil }
	}
	return &secretCache{load: load, now: now}
}

func (c *secretCache) get(ctx context.Context) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.val != nil && c.now().Sub(c.at) < time.Minute {
		return c.val, nil
	}
	v, err := c.load(ctx)
	if err != nil {
		if c.val != nil {
			return c.val, nil // the database is away: the secret held still signs
		}
		return nil, err
	}
	c.val, c.at = v, c.now()
	return v, nil
}

func (c *secretCache) forget() {
	c.mu.Lock()
	c.val = nil
	c.mu.Unlock()
}
