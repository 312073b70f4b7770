package client

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strconv"
	"time"
)

// JobEnded is what a job's notify_url receives when the job ends: a JSON
// POST with the headers X-Prewarm-Event (job.ended), X-Prewarm-Delivery
// (<request id>/<attempt>), X-Prewarm-Timestamp and X-Prewarm-Signature
// (see VerifyNotification). Text is one line for people; chat webhooks
// (Slack's incoming webhooks) show it as the message.
type JobEnded struct {
	Event          string `json:"event"` // "job.ended"
	Text           string `json:"text"`
	RequestID      string `json:"request_id"`
	Name           string `json:"name,omitempty"`
	Owner          string `json:"owner,omitempty"`
	Status         string `json:"status"`
	Message        string `json:"message,omitempty"`
	TotalCount     int64  `json:"total_count"`
	SuccessCount   int64  `json:"success_count"`
	FailedCount    int64  `json:"failed_count"`
	VerifiedCount  int64  `json:"verified_count"`
	NotCachedCount int64  `json:"not_cached_count"`
	// VerifiedPercent is the share of tasks proven cached, 0 to 100.
	VerifiedPercent float64 `json:"verified_percent"`
	CreatedAt       string  `json:"created_at"`
	EndedAt         string  `json:"ended_at"`
}

// VerifyNotification checks a notification's signature header against the
// secret the server was given (--webhook-secret), and that its timestamp
// is within maxAge of now, so a recorded notification cannot be replayed
// later.
func VerifyNotification(secret []byte, timestamp, signature string, body []byte, maxAge time.Duration, now time.Time) error {
	ts, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return errors.New("notification: no valid X-Prewarm-Timestamp")
	}
	if d := now.Sub(time.Unix(ts, 0)); d > maxAge || d < -maxAge {
		return errors.New("notification: timestamp too far from now")
	}
	if !hmac.Equal([]byte(SignNotification(secret, timestamp, body)), []byte(signature)) {
		return errors.New("notification: signature does not match")
	}
	return nil
}

// SignNotification is a notification's X-Prewarm-Signature: "sha256=" and
// the hex HMAC-SHA256, with the secret, of the timestamp header, a dot and
// the body.
func SignNotification(secret []byte, timestamp string, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(timestamp + "."))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}
