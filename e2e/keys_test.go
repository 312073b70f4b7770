package e2e

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"prewarm/client"
	"prewarm/internal/api"
)

// Named keys from --api-keys-file: a read key reads and may not submit, a
// submit key's jobs carry its name as their owner, and a key added to the
// file works after SIGHUP, without a restart.
func TestNamedKeys(t *testing.T) {
	t.Parallel()
	cdn := onePOP(t, "NGX1-P1")
	file := filepath.Join(t.TempDir(), "keys.yaml")
	entry := func(name, key, scope string) string {
		return fmt.Sprintf("  - {name: %s, sha256: %s, scope: %s}\n", name, api.Digest(key), scope)
	}
	doc := "keys:\n" + entry("dashboard", "pw_read_0123456789", "read") + entry("deploy", "pw_submit_0123456789", "submit") +
		entry("team", "pw_team_0123456789", "submit") + entry("ops", "pw_admin_0123456789", "admin")
	if err := os.WriteFile(file, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	srv := serveOn(t, cdn, "--api-keys-file", file)
	as := func(key string) *client.Client {
		c, err := client.New(srv.URL, key)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	job := jobAt(cdn, urlsOf(cdn, "/keys/", 3), "NGX1-P1")
	var apiErr *client.Error
	if _, err := as("pw_read_0123456789").Submit(t.Context(), job); !errors.As(err, &apiErr) || apiErr.StatusCode != 403 ||
		!strings.Contains(apiErr.Message, "key dashboard has the read scope") {
		t.Fatalf("a read key submitting: %v, want 403 naming its scope", err)
	}
	ans, err := as("pw_submit_0123456789").Submit(t.Context(), job)
	if err != nil {
		t.Fatal(err)
	}
	if p := srv.wait(ans.RequestID, time.Minute); p.Status != client.StatusFinished || p.Owner != "deploy" {
		t.Fatalf("the deploy key's job: %+v, want FINISHED owned by deploy", p)
	}
	if j, err := as("pw_read_0123456789").Job(t.Context(), ans.RequestID); err != nil || j.Owner != "deploy" {
		t.Fatalf("read by the dashboard key: %+v %v", j, err)
	}
	// Another team's submit key may not stop the deploy key's job; the
	// deploy key and an admin key may.
	if _, err := as("pw_team_0123456789").StopJob(t.Context(), ans.RequestID); !errors.As(err, &apiErr) || apiErr.StatusCode != 403 ||
		!strings.Contains(apiErr.Message, "belongs to key deploy") {
		t.Fatalf("another team's key stopping the deploy key's job: %v, want 403 naming the owner", err)
	}
	for _, key := range []string{"pw_submit_0123456789", "pw_admin_0123456789"} {
		if _, err := as(key).StopJob(t.Context(), ans.RequestID); errors.As(err, &apiErr) && apiErr.StatusCode == 403 {
			t.Fatalf("%s stopping the deploy key's job: %v", key, err)
		}
	}
	if !strings.Contains(srv.Log(), `"key":"deploy"`) || strings.Contains(srv.Log(), "pw_submit_") {
		t.Errorf("the log should name the key, never hold it")
	}

	// A key added to the file, then SIGHUP.
	late := as("pw_late_0123456789")
	if err := late.Health(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, err := late.Jobs(t.Context(), client.JobFilter{}); err == nil {
		t.Fatal("a key not yet in the file was accepted")
	}
	if err := os.WriteFile(file, []byte(doc+entry("late", "pw_late_0123456789", "read")), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(srv.PID(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, 20*time.Millisecond, func() error {
		if _, err := late.Jobs(t.Context(), client.JobFilter{}); err != nil {
			return fmt.Errorf("the added key after SIGHUP: %w", err)
		}
		return nil
	})
}
