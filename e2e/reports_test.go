package e2e

import (
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"prewarm/client"
)

// Report links open without a key until they expire, and not at all once
// the secret is rotated; a fresh summary gives a link that opens again.
func TestReportLinksExpireAndRotate(t *testing.T) {
	t.Parallel()
	cdn := onePOP(t, "NGX1-P1")
	srv := serveOn(t, cdn, "--report-link-ttl", "2s")
	id := srv.submit(jobAt(cdn, urlsOf(cdn, "/links/", 2), "NGX1-P1"))
	srv.wait(id, time.Minute)
	link := srv.summary(id).FailurePOPURLsReport
	if !strings.HasPrefix(link, srv.URL+"/reports/"+id+".csv?expires=") {
		t.Fatalf("link %q, want an absolute link under %s with its expiry", link, srv.URL)
	}
	download := func(link string) error {
		return srv.c.DownloadReport(t.Context(), link, client.ReportOptions{}, io.Discard)
	}
	if err := download(link); err != nil {
		t.Fatalf("a fresh link: %v", err)
	}
	eventually(t, 10*time.Second, 100*time.Millisecond, func() error {
		if err := download(link); statusOf(err) != 403 || !strings.Contains(err.Error(), "this report link expired at") {
			return fmt.Errorf("a link past its 2 s: %v, want 403 saying it expired", err)
		}
		return nil
	})
	fresh := srv.summary(id).FailurePOPURLsReport
	if err := download(fresh); err != nil {
		t.Fatalf("a fresh link after expiry: %v", err)
	}
	if _, err := srv.c.RotateReportSecret(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := download(fresh); statusOf(err) != 403 || !strings.Contains(err.Error(), "secret was rotated") {
		t.Fatalf("a link signed before the rotation: %v, want 403", err)
	}
	if err := download(srv.summary(id).FailurePOPURLsReport); err != nil {
		t.Fatalf("a link signed after the rotation: %v", err)
	}
}
