package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"prewarm/client"
)

// A job with notify_url: when it ends the server POSTs a signed JSON
// message, once, and the job shows it delivered. On a server without
// --webhook-secret, notify_url is refused.
func TestNotifyURL(t *testing.T) {
	t.Parallel()
	cdn := onePOP(t, "NGX1-P1")
	const secret = "webhook-secret-for-e2e"
	got := make(chan client.JobEnded, 4)
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := client.VerifyNotification([]byte(secret), r.Header.Get("X-Prewarm-Timestamp"), r.Header.Get("X-Prewarm-Signature"),
			body, time.Minute, time.Now()); err != nil {
			t.Errorf("signature: %v", err)
			http.Error(w, err.Error(), 401)
			return
		}
		var m client.JobEnded
		if err := json.Unmarshal(body, &m); err != nil {
			t.Errorf("body %s: %v", body, err)
		}
		got <- m
	}))
	defer rcv.Close()
	srv := serveOn(t, cdn, "--webhook-secret", secret, "--allow-private-webhooks")
	job := jobAt(cdn, urlsOf(cdn, "/notify/", 4), "NGX1-P1")
	job.Name, job.NotifyURL = "release 7", rcv.URL+"/hooks/prewarm"
	id := srv.submit(job)
	var m client.JobEnded
	select {
	case m = <-got:
	case <-time.After(time.Minute):
		t.Fatal("no notification within a minute")
	}
	if m.Event != "job.ended" || m.RequestID != id || m.Status != "FINISHED" || m.TotalCount != 4 || m.VerifiedPercent != 100 ||
		!strings.HasPrefix(m.Text, `prewarm: job "release 7" (`+id+`) FINISHED: 4 tasks, 100% proven cached, 0 failed`) {
		t.Fatalf("message %+v", m)
	}
	eventually(t, 10*time.Second, 50*time.Millisecond, func() error {
		if n := srv.job(id).Notification; n == nil || n.State != "delivered" || n.Attempts != 1 || n.DeliveredAt == "" {
			return fmt.Errorf("notification on the job: %+v", n)
		}
		return nil
	})
	select {
	case again := <-got:
		t.Fatalf("a second notification: %+v", again)
	case <-time.After(2 * time.Second): // a few of the notifier's rounds
	}

	plain := serveOn(t, cdn)
	job = jobAt(cdn, urlsOf(cdn, "/notify/", 1), "NGX1-P1")
	job.NotifyURL = rcv.URL
	_, err := plain.c.Submit(t.Context(), job)
	if statusOf(err) != 400 || !strings.Contains(err.Error(), "--webhook-secret") {
		t.Fatalf("notify_url on a server without a secret: %v", err)
	}
}
