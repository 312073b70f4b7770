package e2e

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"prewarm/client"
	"prewarm/internal/minicdn"
)

// A DNS-steered CDN: its name answers clients in Japan with one edge and
// clients in the US with another. A job that discovers by ECS warms each
// country's edge (each nginx gets its own requests, viewers there then
// HIT), reports its POPs by country, and fails the country DNS gives no
// edge as a POP with the reason. The Japanese edge says it serves from
// Singapore: each of its tasks records that, with a warning (its viewers
// are served from far away), while the US edge's answers from Ashburn
// pass without one.
func TestDiscoverECSWarmsEachCountrysEdge(t *testing.T) {
	t.Parallel()
	cdn := minicdn.StartT(t, minicdn.Options{AccessLogs: true, POPs: []minicdn.POPSpec{
		{Code: "edge-jp", CloudFront: true, ServedBy: "SIN2-P1"}, {Code: "edge-us", CloudFront: true, ServedBy: "IAD89-P1"}}})
	jp, us := cdn.POP("edge-jp"), cdn.POP("edge-us")
	const host = "steered.example.test"
	cdn.DNS().SetByCountry(host, map[string][]string{"JP": {jp.IP}, "US": {us.IP}})

	out, errOut, code := prewarmCmd(t, "", nil, "pops", "--discover", host, "--country", "JP", "--country", "us",
		"--country", "KR", "--dns-server", cdn.DNSAddr)
	if code != 0 || !regexp.MustCompile(`(?m)^JP-1\s+JP\s+`+regexp.QuoteMeta(jp.IP)+`$`).MatchString(out) ||
		!regexp.MustCompile(`(?m)^US-1\s+US\s+`+regexp.QuoteMeta(us.IP)+`$`).MatchString(out) ||
		!regexp.MustCompile(`(?m)^KR\s+KR\s+no edge answers`).MatchString(out) || !strings.Contains(errOut, "2 edges") {
		t.Fatalf("pops --discover: exit %d\n%s\n%s", code, out, errOut)
	}

	srv := serveOn(t, cdn)
	var urls []string
	for i := range 6 {
		urls = append(urls, cdn.URL(fmt.Sprintf("/ecs/%d.bin?size=%d", i, 2000+i)))
	}
	id := srv.submit(client.JobRequest{URLs: urls, CFDomain: host, TargetType: "country",
		Countries: []string{"JP", "US", "KR"}, Discover: "ecs", Timeout: new(2.0)})
	p := srv.wait(id, 60*time.Second)
	if p.Status != client.StatusFinished || p.TotalCount != 12 || p.FailedCount != 0 || p.VerifiedCount != 12 {
		t.Fatalf("progress: %+v", p)
	}
	job := srv.job(id)
	if job.Discover != "ecs" || len(job.POPs) != 3 {
		t.Fatalf("job: %+v", job)
	}
	for i, want := range []struct{ code, country, ip string }{{"JP-1", "JP", jp.IP}, {"US-1", "US", us.IP}} {
		got := job.POPs[i]
		if got.Code != want.code || got.Country != want.country || !slices.Equal(got.Addresses, []string{want.ip}) || got.OK != 6 {
			t.Errorf("POP %d: %+v, want %s (%s) at %s with 6 warmed", i, got, want.code, want.country, want.ip)
		}
	}
	if kr := job.POPs[2]; kr.Code != "KR" || kr.Country != "KR" || !strings.Contains(kr.Error, "no edge answers for "+host+" from clients in KR") {
		t.Errorf("KR: %+v", kr)
	}
	sum := srv.summary(id)
	if !slices.Equal(sum.FailurePOPs, []string{"KR"}) || len(sum.FailureURLs) != 0 {
		t.Errorf("summary: %+v", sum)
	}
	report := srv.report(sum.FailurePOPURLsReport, client.ReportOptions{AllTasks: true})
	const elsewhere = "answered from SIN2-P1 (SIN in SG), though DNS gives this edge to clients in JP"
	rows := strings.Split(strings.TrimSpace(report), "\n")[1:]
	if len(rows) != 12 {
		t.Errorf("report has %d task rows, want 12:\n%s", len(rows), report)
	}
	for _, line := range rows {
		jpRow := strings.HasPrefix(line, "JP-1,") && strings.Contains(line, ",SIN2-P1,") && strings.Contains(line, elsewhere)
		usRow := strings.HasPrefix(line, "US-1,") && strings.Contains(line, ",IAD89-P1,") && !strings.Contains(line, "answered from")
		if !jpRow && !usRow {
			t.Errorf("report row: %s", line)
		}
	}
	for _, pop := range []*minicdn.POP{jp, us} {
		// Each URL once, and its verification (when the warm was a MISS).
		if n, err := cdn.Received(pop); err != nil || n < len(urls) || n > 2*len(urls) {
			t.Errorf("%s received %d requests (%v), want %d to %d", pop.Code, n, err, len(urls), 2*len(urls))
		}
	}
	checkHits(t, cdn, []*minicdn.POP{jp, us}, urls)

	// An unknown country is refused, naming the field.
	if st, body := srv.rawJSON("POST", "/prewarm", map[string]any{"url_list": urls[:1], "cf_domain": host,
		"target_type": "country", "countries": []string{"XX"}, "discover": "ecs"}); st != 400 || !strings.Contains(fmt.Sprint(body["message"]), "countries") {
		t.Errorf("unknown country: %d %v", st, body)
	}
}
