package e2e

import (
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"prewarm/client"
	"prewarm/internal/minicdn"
)

// After a job, every URL is a HIT at every chosen POP, and the origin saw
// about one request per URL per POP.
func TestWarmFillsEveryPOP(t *testing.T) {
	t.Parallel()
	cdn := minicdn.StartT(t, minicdn.Options{POPs: []minicdn.POPSpec{
		{Code: "TST1-P1"},
		{Code: "TST2-P1", CloudFront: true},
		{Code: "TST3-P1", Kind: minicdn.Varnish},
	}})
	srv := serveOn(t, cdn)
	var urls []string
	for i := range 40 {
		urls = append(urls, cdn.URL(fmt.Sprintf("/assets/%d.bin?size=%d", i, 1000+i*100)))
	}
	urls = append(urls, urls[0], "  "+urls[1]+" ") // duplicates are removed
	start := time.Now()
	id := srv.submit(client.JobRequest{
		URLs: urls, CFDomain: cdn.CFDomain, TargetType: "pop",
		POPs: []string{"TST1-P1", "tst2-p1", "TST3-P1"}, Timeout: new(2.0), Header: []string{"X-Warm: yes"},
	})
	p := srv.wait(id, 60*time.Second)
	elapsed := time.Since(start)
	if p.Status != client.StatusFinished || p.TotalCount != 120 || p.DownloadCount != 120 ||
		p.PercentageComplete != 100 || p.FailedCount != 0 || p.AvailableTaskCount != 0 ||
		p.VerifiedCount != 120 || p.NotCachedCount != 0 {
		t.Fatalf("progress: %+v", p)
	}
	var wantBytes int64
	for i := range 40 {
		wantBytes += int64(1000 + i*100)
	}
	if p.DownloadSize != 3*wantBytes || p.TotalSize != 3*wantBytes {
		t.Fatalf("sizes: downloaded %d, total %d, want %d", p.DownloadSize, p.TotalSize, 3*wantBytes)
	}
	checkHits(t, cdn, cdn.POPs, urls[:40])
	for _, u := range urls[:40] {
		path := strings.TrimPrefix(u, cdn.URL(""))
		if n := cdn.Origin.Requests(path); n < 3 || n > 4 {
			t.Errorf("origin saw %d requests for %s, want one per POP (3; 4 if the probe's POP asked twice)", n, path)
		}
	}
	t.Logf("40 URLs × 3 POPs warmed in %v; origin requests %d", elapsed, cdn.Origin.Total())
	if sum := srv.summary(id); len(sum.FailurePOPs) != 0 || len(sum.FailureURLs) != 0 || sum.Status != client.StatusFinished {
		t.Fatalf("summary: %+v", sum)
	}
}

// HTTPS through a custom domain: cf_domain's CNAME chain leads to the
// distribution, TLS uses the URL's host, and the CA comes from --ca-file.
func TestWarmHTTPSThroughCustomDomain(t *testing.T) {
	t.Parallel()
	cdn := minicdn.StartT(t, minicdn.Options{POPs: []minicdn.POPSpec{{Code: "SEC1-P1", CloudFront: true}, {Code: "SEC2-P1"}}})
	srv := serveOn(t, cdn)
	urls := []string{cdn.URLTLS("/s/a.css"), cdn.URLTLS("/s/b.js"), strings.Replace(cdn.URLTLS("/s/c.png"), minicdn.SiteHost, minicdn.StaticHost, 1)}
	id := srv.submit(client.JobRequest{URLs: urls, CFDomain: cdn.CustomDomain, POPs: []string{"SEC1-P1", "SEC2-P1"}})
	p := srv.wait(id, 30*time.Second)
	if p.Status != client.StatusFinished || p.TotalCount != 6 || p.FailedCount != 0 {
		t.Fatalf("progress: %+v\n%s", p, srv.Log())
	}
	checkHits(t, cdn, cdn.POPs, urls)
}

// URLs whose host does not lead by DNS to cf_domain's distribution are
// warmed, with a warning: the POP answers for whichever distribution has
// the host as an alternate domain name.
func TestWarmWarnsOfHostsOfAnotherDistribution(t *testing.T) {
	t.Parallel()
	cdn := minicdn.StartT(t, minicdn.Options{POPs: []minicdn.POPSpec{{Code: "HST1-P1"}}})
	cdn.DNS().SetCNAME("old.example.test", "d999999example.cloudfront.net")
	srv := serveOn(t, cdn)
	urls := []string{cdn.URL("/h/a"), strings.Replace(cdn.URL("/h/b"), minicdn.SiteHost, "old.example.test", 1),
		strings.Replace(cdn.URL("/h/c"), minicdn.SiteHost, "typo.example.test", 1)}
	id := srv.submit(client.JobRequest{URLs: urls, CFDomain: cdn.CustomDomain, POPs: []string{"HST1-P1"}})
	if p := srv.wait(id, 30*time.Second); p.Status != client.StatusFinished {
		t.Fatalf("progress: %+v\n%s", p, srv.Log())
	}
	warnings := strings.Join(srv.summary(id).Warnings, "\n")
	for _, want := range []string{
		"old.example.test leads by DNS to d999999example.cloudfront.net, not to " + cdn.CFDomain + " (cf_domain)",
		"typo.example.test does not lead by DNS to " + cdn.CFDomain + " (cf_domain)",
	} {
		if !strings.Contains(warnings, want) {
			t.Errorf("warnings lack %q:\n%s", want, warnings)
		}
	}
	if strings.Contains(warnings, minicdn.SiteHost) {
		t.Errorf("the site's own host, an alias of the distribution, was warned of:\n%s", warnings)
	}
}

// A 404 URL, a POP that does not resolve and a dead POP are reported in the
// summary and the CSV, and the job still finishes.
func TestFailuresAreReported(t *testing.T) {
	t.Parallel()
	cdn := minicdn.StartT(t, minicdn.Options{POPs: []minicdn.POPSpec{
		{Code: "LIV1-P1"}, {Code: "GNE1-P1", Unresolvable: true}, {Code: "DED1-P1", Dead: true},
	}})
	srv := serveOn(t, cdn)
	good, missing := cdn.URL("/ok.bin"), cdn.URL("/status/404")
	id := srv.submit(client.JobRequest{URLs: []string{good, missing}, CFDomain: cdn.CFDomain,
		POPs: []string{"LIV1-P1", "GNE1-P1", "DED1-P1"}})
	p := srv.wait(id, 60*time.Second)
	// GONE1 is not a usable POP: 2 URLs × 2 usable POPs.
	if p.Status != client.StatusFinished || p.TotalCount != 4 || p.DownloadCount != 4 {
		t.Fatalf("progress: %+v", p)
	}
	sum := srv.summary(id)
	if got := fmt.Sprint(sum.FailurePOPs); got != "[GNE1-P1 DED1-P1]" {
		t.Errorf("failure_pops %s", got)
	}
	if got := fmt.Sprint(sum.FailureURLs); got != "["+missing+"]" {
		t.Errorf("failure_urls %s", got)
	}
	link := sum.FailurePOPURLsReport
	if !strings.HasPrefix(link, srv.URL+"/reports/") {
		t.Fatalf("report link %q", link)
	}
	body := srv.report(link, client.ReportOptions{}) // signed: no API key needed
	lines := strings.Split(strings.TrimSpace(body), "\n")
	if !strings.HasPrefix(lines[0], "pop,url,status_code,error,attempts,edge_ip,cache_status") || len(lines) != 5 {
		t.Fatalf("report:\n%s", body)
	}
	// The 404 at the live POP is the warm's own answer or, when the size
	// probe got there first, the probe's.
	if !strings.Contains(body, "LIV1-P1,"+missing+",404,HTTP 404") && !strings.Contains(body, "LIV1-P1,"+missing+",,size probe through LIV1-P1: HTTP 404") {
		t.Errorf("report lacks the 404 at LIV1-P1:\n%s", body)
	}
	for _, want := range []string{"GNE1-P1,,,", "DED1-P1," + good, "DED1-P1," + missing, "connection refused"} {
		if !strings.Contains(body, want) {
			t.Errorf("report lacks %q:\n%s", want, body)
		}
	}
	for _, p := range srv.job(id).POPs {
		dead := p.Code == "DED1-P1"
		if p.Unreachable != dead || dead && !strings.Contains(p.LastError, "connection refused") {
			t.Errorf("pop %+v", p)
		}
	}
	err := srv.c.DownloadReport(t.Context(), strings.Replace(link, "token=", "token=0", 1), client.ReportOptions{}, io.Discard)
	if statusOf(err) != 403 || !strings.Contains(err.Error(), "report link is not valid") {
		t.Errorf("a bad token: %v, want 403 saying the link is not valid", err)
	}
}

// Nothing usable at all: the job FAILS with a reason, quickly.
func TestNoUsablePOPFails(t *testing.T) {
	t.Parallel()
	cdn := minicdn.StartT(t, minicdn.Options{POPs: []minicdn.POPSpec{{Code: "GNE1-P1", Unresolvable: true}}})
	srv := serveOn(t, cdn)
	id := srv.submit(client.JobRequest{URLs: []string{cdn.URL("/a")}, CFDomain: cdn.CFDomain, POPs: []string{"GNE1-P1"}})
	p := srv.wait(id, 20*time.Second)
	if p.Status != client.StatusFailed || !strings.Contains(p.Message, "NXDOMAIN") {
		t.Fatalf("progress: %+v", p)
	}
	// Private addresses are refused without --allow-private-edges.
	srv2 := startServe(t, "", "--dns-server", cdn.DNSAddr)
	cdn.DNS().Set("dtest.prv1-p1.cloudfront.net", "127.0.0.9")
	id = srv2.submit(client.JobRequest{URLs: []string{cdn.URL("/a")}, CFDomain: cdn.CFDomain, POPs: []string{"PRV1-P1"}})
	p = srv2.wait(id, 20*time.Second)
	if p.Status != client.StatusFailed || !strings.Contains(p.Message, "allow-private-edges") {
		t.Fatalf("private edge: %+v", p)
	}
}
