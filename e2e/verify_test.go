package e2e

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"prewarm/client"
	"prewarm/internal/minicdn"
)

// Verification: objects that fetched fine but did not stay in the cache are
// reported not cached with why; a POP that answers as another POP is
// flagged; verify: false turns the proof off.
func TestVerificationReportsWhatDidNotCache(t *testing.T) {
	t.Parallel()
	cdn := minicdn.StartT(t, minicdn.Options{POPs: []minicdn.POPSpec{
		{Code: "VER1-P1", CloudFront: true},
		{Code: "VER2-P1", CloudFront: true, ServedBy: "VER9-P1"},
	}})
	srv := serveOn(t, cdn)
	cached, noStore, cookie, lang := cdn.URL("/v/ok.js"), cdn.URL("/nostore/a.json"), cdn.URL("/cookie/b.html"), cdn.URL("/vary-lang/c.html")
	id := srv.submit(client.JobRequest{URLs: []string{cached, noStore, cookie, lang}, CFDomain: cdn.CFDomain,
		POPs: []string{"VER1-P1", "VER2-P1"}, Header: []string{"Accept-Language: en"}})
	p := srv.wait(id, 30*time.Second)
	// VER1: ok.js and c.html cached; a.json and b.html not. VER2: every task
	// answered as VER9.
	if p.Status != client.StatusFinished || p.SuccessCount != 8 || p.VerifiedCount != 2 || p.NotCachedCount != 6 {
		t.Fatalf("progress: %+v", p)
	}
	sum := srv.summary(id)
	if got := fmt.Sprint(sum.NotCachedURLs); got != fmt.Sprint([]string{cached, noStore, cookie, lang}) {
		t.Fatalf("not_cached_urls %s", got)
	}
	if got := fmt.Sprint(sum.Warnings); !strings.Contains(got, "responses vary on Accept-Language; the job sends one value") {
		t.Fatalf("warnings %s", got)
	}
	body := srv.report(sum.FailurePOPURLsReport, client.ReportOptions{AllTasks: true})
	for _, want := range []string{
		"VER1-P1," + noStore + ",200,,1,",
		"Cache-Control: no-store",
		"the response sets a cookie",
		"served by VER9-P1, not VER2-P1",
		"VER1-P1," + cached,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("report lacks %q:\n%s", want, body)
		}
	}
	if !strings.Contains(strings.Split(body, "\n")[0], "variant,verified,reason,warning") {
		t.Fatalf("header: %s", strings.Split(body, "\n")[0])
	}

	// verify: false: nothing is proven, nothing is flagged.
	id = srv.submit(client.JobRequest{URLs: []string{noStore}, CFDomain: cdn.CFDomain, POPs: []string{"VER1-P1"}, Verify: new(false)})
	if p := srv.wait(id, 30*time.Second); p.Status != client.StatusFinished || p.VerifiedCount != 0 || p.NotCachedCount != 0 || p.SuccessCount != 1 {
		t.Fatalf("verify false: %+v", p)
	}
}

// encodings: an object with Vary: Accept-Encoding, warmed in three
// encodings, is a HIT in each at every POP.
func TestEncodingsWarmEachVariant(t *testing.T) {
	t.Parallel()
	cdn := twoPOPs(t)
	srv := serveOn(t, cdn)
	u := cdn.URL("/vary-encoding/app.js")
	encodings := []string{"br", "gzip", "identity"}
	j := job(cdn, []string{u})
	j.Encodings = encodings
	p := srv.wait(srv.submit(j), 30*time.Second)
	if p.Status != client.StatusFinished || p.TotalCount != 6 || p.VerifiedCount != 6 {
		t.Fatalf("progress: %+v", p)
	}
	for _, pop := range cdn.POPs {
		for _, e := range encodings {
			r, err := cdn.ViewerGet(t.Context(), pop, u, http.Header{"Accept-Encoding": {e}})
			if err != nil || !r.Hit {
				t.Errorf("%s at %s: not a HIT (%v)", e, pop.Code, err)
			}
		}
	}
	// Without encodings the summary warns that only one variant is warm.
	id := srv.submit(job(cdn, []string{cdn.URL("/vary-encoding/other.js")}))
	if p := srv.wait(id, 30*time.Second); p.Status != client.StatusFinished {
		t.Fatalf("progress: %+v", p)
	}
	if sum := srv.summary(id); !strings.Contains(fmt.Sprint(sum.Warnings), "list encodings to warm each") {
		t.Fatalf("warnings: %v", sum.Warnings)
	}
}
