package e2e

import (
	"errors"
	"strings"
	"testing"
	"time"

	"prewarm/client"
)

// serve --retention trims ended jobs' per-task rows: their summary and
// counts stay, their report keeps only its header.
func TestRetention(t *testing.T) {
	t.Parallel()
	cdn := onePOP(t, "NGX1-P1")
	srv := serveOn(t, cdn, "--retention", "1s")
	urls := append(urlsOf(cdn, "/kept/", 3), cdn.URL("/status/404/kept-missing"))
	id := srv.submit(jobAt(cdn, urls, "NGX1-P1"))
	srv.wait(id, time.Minute)
	eventually(t, 30*time.Second, 100*time.Millisecond, func() error {
		if !strings.Contains(srv.Log(), "ended jobs trimmed past retention") {
			return errors.New("no job trimmed of a 1 s retention")
		}
		return nil
	})
	sum := srv.summary(id)
	if len(sum.FailureURLs) != 1 || !strings.HasSuffix(sum.FailureURLs[0], "kept-missing") {
		t.Fatalf("summary after trimming: %+v", sum)
	}
	if p := srv.progress(id); p.TotalCount != 4 || p.SuccessCount != 3 || p.FailedCount != 1 {
		t.Fatalf("counts after trimming: %+v", p)
	}
	if csv := srv.report(sum.FailurePOPURLsReport, client.ReportOptions{AllTasks: true}); strings.Count(csv, "\n") != 1 {
		t.Fatalf("report after trimming:\n%s", csv)
	}
}
