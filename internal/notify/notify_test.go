package notify

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"prewarm/client"
	"prewarm/internal/warm"
)

// fakeStore hands out one ended job whenever its notification is due and
// records the attempts.
type fakeStore struct {
	mu       sync.Mutex
	job      warm.Progress
	next     time.Time
	attempts []warm.NotifyState
	errs     []string
}

func (s *fakeStore) ClaimNotifications(_ context.Context, now time.Time, lease time.Duration, _ int) ([]*warm.Progress, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.job.Notify.State != warm.NotifyPending || now.Before(s.next) {
		return nil, nil
	}
	s.next = now.Add(lease)
	p := s.job
	return []*warm.Progress{&p}, nil
}

func (s *fakeStore) NotifyAttempt(_ context.Context, _ string, state warm.NotifyState, errText string, _, next time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.job.Notify.State, s.job.Notify.Attempts, s.next = state, s.job.Notify.Attempts+1, next
	s.attempts, s.errs = append(s.attempts, state), append(s.errs, errText)
	return nil
}

func endedJob(url string) warm.Progress {
	created := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	p := warm.Progress{}
	p.ID, p.Name, p.Status, p.CreatedAt, p.UpdatedAt = "j1", "release 42", warm.StatusFinished, created, created.Add(150*time.Second)
	p.Notify = warm.Notification{URL: url, State: warm.NotifyPending}
	p.Total, p.OK, p.Failed, p.Verified = 4800, 4797, 3, 4762
	return p
}

// A notification is a signed JSON POST; a receiver that fails is tried
// again after the backoff, and one that answers 2xx has it delivered.
func TestNotificationIsSignedAndRetried(t *testing.T) {
	secret := []byte("a-webhook-secret-0123")
	var mu sync.Mutex
	var got []client.JobEnded
	fail := 1
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := client.VerifyNotification(secret, r.Header.Get(HeaderTimestamp), r.Header.Get(HeaderSignature), body,
			5*time.Minute, time.Now()); err != nil {
			t.Errorf("signature: %v", err)
		}
		var m client.JobEnded
		if err := json.Unmarshal(body, &m); err != nil {
			t.Errorf("body: %v", err)
		}
		mu.Lock()
		defer mu.Unlock()
		got = append(got, m)
		if fail > 0 {
			fail--
			http.Error(w, "busy", http.StatusServiceUnavailable)
		}
	}))
	defer rcv.Close()
	store := &fakeStore{job: endedJob(rcv.URL + "/hook")}
	now := time.Now()
	n := New(store, secret, true, slog.New(slog.DiscardHandler))
	n.Now = func() time.Time { return now }
	n.Once(t.Context())
	n.Once(t.Context()) // claimed, then pending until the backoff
	if len(store.attempts) != 1 || store.attempts[0] != warm.NotifyPending || !strings.Contains(store.errs[0], "503") {
		t.Fatalf("after a 503: %v %v", store.attempts, store.errs)
	}
	now = now.Add(Backoff[0])
	n.Once(t.Context())
	if len(store.attempts) != 2 || store.attempts[1] != warm.NotifyDelivered {
		t.Fatalf("after the backoff: %v %v", store.attempts, store.errs)
	}
	m := got[1]
	if m.Event != "job.ended" || m.RequestID != "j1" || m.Status != "FINISHED" || m.VerifiedPercent != 99.2 ||
		m.Text != `prewarm: job "release 42" (j1) FINISHED: 4800 tasks, 99.2% proven cached, 3 failed, in 2m30s` {
		t.Fatalf("message %+v", m)
	}
}

// A receiver that never takes it: tried as often as the backoff allows,
// then failed for good.
func TestNotificationGivesUp(t *testing.T) {
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(500) }))
	defer rcv.Close()
	store := &fakeStore{job: endedJob(rcv.URL)}
	now := time.Now()
	n := New(store, []byte("a-webhook-secret-0123"), true, slog.New(slog.DiscardHandler))
	n.Now = func() time.Time { return now }
	for range len(Backoff) + 3 {
		n.Once(t.Context())
		now = now.Add(24 * time.Hour)
	}
	if len(store.attempts) != len(Backoff)+1 || store.attempts[len(Backoff)] != warm.NotifyFailed {
		t.Fatalf("attempts %v", store.attempts)
	}
}

// Without leave, a notify_url that leads to a private address is refused
// at the dial, saying why.
func TestNotificationToAPrivateAddressIsRefused(t *testing.T) {
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { t.Error("reached") }))
	defer rcv.Close()
	store := &fakeStore{job: endedJob(rcv.URL)}
	n := New(store, []byte("a-webhook-secret-0123"), false, slog.New(slog.DiscardHandler))
	n.Once(t.Context())
	if len(store.errs) != 1 || !strings.Contains(store.errs[0], "not a public address (allow with --allow-private-webhooks)") {
		t.Fatalf("errors %v", store.errs)
	}
}
