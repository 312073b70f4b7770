// Package notify tells a job's notify_url that the job ended: a JSON POST
// signed with HMAC-SHA256, retried with backoff until delivered or given up,
// its outcome recorded on the job. Every control node runs a Notifier; a
// job's notification is claimed before it is sent, so the fleet sends it
// once (at least once should a sender die mid-way).
package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"sync"
	"syscall"
	"time"

	"prewarm/client"
	"prewarm/internal/edge"
	"prewarm/internal/warm"
)

// Store is what a Notifier needs of the store.
type Store interface {
	ClaimNotifications(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]*warm.Progress, error)
	NotifyAttempt(ctx context.Context, id string, state warm.NotifyState, errText string, at, next time.Time) error
}

// Backoff is the wait before each retry; after the last, the notification
// has failed for good (about a day of trying).
var Backoff = []time.Duration{10 * time.Second, 30 * time.Second, time.Minute, 5 * time.Minute, 15 * time.Minute,
	time.Hour, 4 * time.Hour, 12 * time.Hour}

// Headers of a notification.
const (
	HeaderSignature = "X-Prewarm-Signature" // sha256=<hex HMAC of "<timestamp>.<body>">
	HeaderTimestamp = "X-Prewarm-Timestamp" // Unix seconds, signed with the body
	HeaderEvent     = "X-Prewarm-Event"     // job.ended
	HeaderDelivery  = "X-Prewarm-Delivery"  // <job id>/<attempt>
)

// Notifier sends the notifications of ended jobs.
type Notifier struct {
	Store  Store
	Secret []byte
	// Client sends them; New's refuses addresses that are not public
	// unless allowed, and follows no redirect.
	Client   *http.Client
	Interval time.Duration // how often due notifications are looked for
	Backoff  []time.Duration
	Log      *slog.Logger
	Now      func() time.Time
}

// New returns a Notifier with its defaults: a check every second, Backoff,
// a 10 s timeout per attempt.
func New(store Store, secret []byte, allowPrivate bool, log *slog.Logger) *Notifier {
	return &Notifier{Store: store, Secret: secret, Client: httpClient(allowPrivate), Interval: time.Second,
		Backoff: Backoff, Log: log, Now: time.Now}
}

// httpClient posts to public addresses only (unless allowed), checked on the
// address dialled, so a name that resolves inward is refused too.
func httpClient(allowPrivate bool) *http.Client {
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	if !allowPrivate {
		dialer.Control = func(_, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil || !edge.Public(ap.Addr()) {
				return fmt.Errorf("notify_url leads to %s, which is not a public address (allow with --allow-private-webhooks)", address)
			}
			return nil
		}
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DialContext = dialer.DialContext
	tr.Proxy = nil
	return &http.Client{Transport: tr, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// Run sends due notifications until ctx ends.
func (n *Notifier) Run(ctx context.Context) {
	t := time.NewTicker(n.Interval)
	defer t.Stop()
	for {
		n.Once(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Once sends the notifications due now and records how each went.
func (n *Notifier) Once(ctx context.Context) {
	jobs, err := n.Store.ClaimNotifications(ctx, n.Now(), time.Minute, 32)
	if err != nil {
		if ctx.Err() == nil {
			n.Log.Warn("claiming notifications", "err", err)
		}
		return
	}
	var wg sync.WaitGroup
	for _, p := range jobs {
		wg.Go(func() { n.deliver(ctx, p) })
	}
	wg.Wait()
}

// deliver makes one attempt and records it.
func (n *Notifier) deliver(ctx context.Context, p *warm.Progress) {
	attempt := p.Notify.Attempts + 1
	err := n.post(ctx, p, attempt)
	now := n.Now()
	state, next, errText := warm.NotifyDelivered, time.Time{}, ""
	if err != nil {
		errText = err.Error()
		if attempt > len(n.Backoff) {
			state = warm.NotifyFailed
		} else {
			state, next = warm.NotifyPending, now.Add(n.Backoff[attempt-1])
		}
	}
	n.Log.Info("job notification", "job", p.ID, "attempt", attempt, "state", state, "err", errText)
	if err := n.Store.NotifyAttempt(context.WithoutCancel(ctx), p.ID, state, errText, now, next); err != nil {
		n.Log.Warn("recording a notification", "job", p.ID, "err", err)
	}
}

// post sends the notification once: a 2xx answer delivers it.
func (n *Notifier) post(ctx context.Context, p *warm.Progress, attempt int) error {
	body, err := json.Marshal(n.message(p))
	if err != nil {
		return err
	}
	ts := strconv.FormatInt(n.Now().Unix(), 10)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.Notify.URL, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "prewarm-notify/1")
	req.Header.Set(HeaderEvent, "job.ended")
	req.Header.Set(HeaderDelivery, fmt.Sprintf("%s/%d", p.ID, attempt))
	req.Header.Set(HeaderTimestamp, ts)
	req.Header.Set(HeaderSignature, client.SignNotification(n.Secret, ts, body))
	resp, err := n.Client.Do(req)
	if err != nil {
		var ue interface{ Unwrap() error }
		if errors.As(err, &ue) {
			err = ue.Unwrap()
		}
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("answered %s", resp.Status)
	}
	return nil
}

// message is the body of a job's notification.
func (n *Notifier) message(p *warm.Progress) client.JobEnded {
	share := 0.0
	if p.Total > 0 {
		share = math.Round(1000*float64(p.Verified)/float64(p.Total)) / 10
	}
	label := p.ID
	if p.Name != "" {
		label = fmt.Sprintf("%q (%s)", p.Name, p.ID)
	}
	text := fmt.Sprintf("prewarm: job %s %s: %d tasks, %s%% proven cached, %d failed, in %s", label, p.Status, p.Total,
		strconv.FormatFloat(share, 'f', -1, 64), p.Failed, p.UpdatedAt.Sub(p.CreatedAt).Round(time.Second))
	if p.Message != "" {
		text += " — " + p.Message
	}
	m := client.JobEnded{Event: "job.ended", Text: text, RequestID: p.ID, Name: p.Name, Owner: p.Owner,
		Status: string(p.Status), Message: p.Message, TotalCount: p.Total, SuccessCount: p.OK, FailedCount: p.Failed,
		VerifiedCount: p.Verified, NotCachedCount: p.NotCached, VerifiedPercent: share,
		CreatedAt: p.CreatedAt.UTC().Format(client.TimeLayout), EndedAt: p.UpdatedAt.UTC().Format(client.TimeLayout)}
	return m
}
