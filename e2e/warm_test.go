package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

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
	srv := startServe(t, "", serveArgs(cdn)...)
	var urls []string
	for i := range 40 {
		urls = append(urls, cdn.URL(fmt.Sprintf("/assets/%d.bin?size=%d", i, 1000+i*100)))
	}
	urls = append(urls, urls[0], "  "+urls[1]+" ") // duplicates are removed
	start := time.Now()
	id := srv.submit(map[string]any{
		"url_list": urls, "cf_domain": cdn.CFDomain, "target_type": "pop",
		"pops": []string{"TST1-P1", "tst2-p1", "TST3-P1"}, "timeout": 2, "header": []string{"X-Warm: yes"},
	})
	p := srv.wait(id, 60*time.Second, "FINISHED", "FAILED", "TIMEOUT")
	elapsed := time.Since(start)
	if p["status"] != "FINISHED" || num(p["total_count"]) != 120 || num(p["download_count"]) != 120 ||
		num(p["percentage_complete"]) != 100 || num(p["failed_count"]) != 0 || num(p["available_task_count"]) != 0 ||
		num(p["verified_count"]) != 120 || num(p["not_cached_count"]) != 0 {
		t.Fatalf("progress: %v", p)
	}
	var wantBytes int64
	for i := range 40 {
		wantBytes += int64(1000 + i*100)
	}
	if num(p["download_size"]) != 3*wantBytes || num(p["total_size"]) != 3*wantBytes {
		t.Fatalf("sizes: downloaded %d, total %d, want %d", num(p["download_size"]), num(p["total_size"]), 3*wantBytes)
	}
	checkHits(t, cdn, cdn.POPs, urls[:40])
	for _, u := range urls[:40] {
		path := strings.TrimPrefix(u, cdn.URL(""))
		if n := cdn.Origin.Requests(path); n < 3 || n > 4 {
			t.Errorf("origin saw %d requests for %s, want one per POP (3; 4 if the probe's POP asked twice)", n, path)
		}
	}
	t.Logf("40 URLs × 3 POPs warmed in %v; origin requests %d", elapsed, cdn.Origin.Total())
	code, sum := srv.call("GET", "/summary?req_id="+id, nil)
	if code != 200 || len(sum["failure_pops"].([]any)) != 0 || len(sum["failure_urls"].([]any)) != 0 || sum["status"] != "FINISHED" {
		t.Fatalf("summary: %d %v", code, sum)
	}
}

// HTTPS through a custom domain: cf_domain's CNAME chain leads to the
// distribution, TLS uses the URL's host, and the CA comes from --ca-file.
func TestWarmHTTPSThroughCustomDomain(t *testing.T) {
	t.Parallel()
	cdn := minicdn.StartT(t, minicdn.Options{POPs: []minicdn.POPSpec{{Code: "SEC1-P1", CloudFront: true}, {Code: "SEC2-P1"}}})
	srv := startServe(t, "", serveArgs(cdn)...)
	urls := []string{cdn.URLTLS("/s/a.css"), cdn.URLTLS("/s/b.js"), strings.Replace(cdn.URLTLS("/s/c.png"), minicdn.SiteHost, minicdn.StaticHost, 1)}
	id := srv.submit(map[string]any{"url_list": urls, "cf_domain": cdn.CustomDomain, "pops": []string{"SEC1-P1", "SEC2-P1"}})
	p := srv.wait(id, 30*time.Second, "FINISHED", "FAILED")
	if p["status"] != "FINISHED" || num(p["total_count"]) != 6 || num(p["failed_count"]) != 0 {
		t.Fatalf("progress: %v\n%s", p, srv.Log())
	}
	checkHits(t, cdn, cdn.POPs, urls)
}

// A 404 URL, a POP that does not resolve and a dead POP are reported in the
// summary and the CSV, and the job still finishes.
func TestFailuresAreReported(t *testing.T) {
	t.Parallel()
	cdn := minicdn.StartT(t, minicdn.Options{POPs: []minicdn.POPSpec{
		{Code: "LIV1-P1"}, {Code: "GNE1-P1", Unresolvable: true}, {Code: "DED1-P1", Dead: true},
	}})
	srv := startServe(t, "", serveArgs(cdn)...)
	good, missing := cdn.URL("/ok.bin"), cdn.URL("/status/404")
	id := srv.submit(map[string]any{"url_list": []string{good, missing}, "cf_domain": cdn.CFDomain,
		"pops": []string{"LIV1-P1", "GNE1-P1", "DED1-P1"}})
	p := srv.wait(id, 60*time.Second, "FINISHED", "FAILED", "TIMEOUT")
	// GONE1 is not a usable POP: 2 URLs × 2 usable POPs.
	if p["status"] != "FINISHED" || num(p["total_count"]) != 4 || num(p["download_count"]) != 4 {
		t.Fatalf("progress: %v", p)
	}
	code, sum := srv.call("GET", "/summary?req_id="+id, nil)
	if code != 200 {
		t.Fatalf("summary: %d %v", code, sum)
	}
	if got := fmt.Sprint(sum["failure_pops"]); got != "[GNE1-P1 DED1-P1]" {
		t.Errorf("failure_pops %s", got)
	}
	if got := fmt.Sprint(sum["failure_urls"]); got != "["+missing+"]" {
		t.Errorf("failure_urls %s", got)
	}
	link := sum["failure_pop_urls_report"].(string)
	if !strings.HasPrefix(link, srv.URL+"/reports/") {
		t.Fatalf("report link %q", link)
	}
	code, body := fetchBody(t, link) // signed: no API key needed
	if code != 200 {
		t.Fatalf("report: %d %s", code, body)
	}
	lines := strings.Split(strings.TrimSpace(body), "\n")
	if !strings.HasPrefix(lines[0], "pop,url,status_code,error,attempts,edge_ip,cache_status") || len(lines) != 5 {
		t.Fatalf("report:\n%s", body)
	}
	// The 404 at the live POP is the warm's own answer or, when the size
	// probe got there first, the probe's.
	if !strings.Contains(body, "LIV1-P1,"+missing+",404,HTTP 404") && !strings.Contains(body, "LIV1-P1,"+missing+",,size probe: HTTP 404") {
		t.Errorf("report lacks the 404 at LIV1-P1:\n%s", body)
	}
	for _, want := range []string{"GNE1-P1,,,", "DED1-P1," + good, "DED1-P1," + missing, "connection refused"} {
		if !strings.Contains(body, want) {
			t.Errorf("report lacks %q:\n%s", want, body)
		}
	}
	_, j := srv.call("GET", "/jobs/"+id, nil)
	for _, pop := range j["pops"].([]any) {
		p := pop.(map[string]any)
		dead := p["code"] == "DED1-P1"
		if (p["unreachable"] == true) != dead || dead && !strings.Contains(fmt.Sprint(p["last_error"]), "connection refused") {
			t.Errorf("pop %v", p)
		}
	}
	if code, _ := fetchBody(t, strings.Replace(link, "token=", "token=0", 1)); code != 401 {
		t.Errorf("a bad token opened the report: %d", code)
	}
}

// Nothing usable at all: the job FAILS with a reason, quickly.
func TestNoUsablePOPFails(t *testing.T) {
	t.Parallel()
	cdn := minicdn.StartT(t, minicdn.Options{POPs: []minicdn.POPSpec{{Code: "GNE1-P1", Unresolvable: true}}})
	srv := startServe(t, "", serveArgs(cdn)...)
	id := srv.submit(map[string]any{"url_list": []string{cdn.URL("/a")}, "cf_domain": cdn.CFDomain, "pops": []string{"GNE1-P1"}})
	p := srv.wait(id, 20*time.Second, "FAILED", "FINISHED")
	if p["status"] != "FAILED" || !strings.Contains(p["message"].(string), "NXDOMAIN") {
		t.Fatalf("progress: %v", p)
	}
	// Private addresses are refused without --allow-private-edges.
	srv2 := startServe(t, "", "--dns-server", cdn.DNSAddr)
	cdn.DNS().Set("dtest.prv1-p1.cloudfront.net", "127.0.0.9")
	id = srv2.submit(map[string]any{"url_list": []string{cdn.URL("/a")}, "cf_domain": cdn.CFDomain, "pops": []string{"PRV1-P1"}})
	p = srv2.wait(id, 20*time.Second, "FAILED", "FINISHED")
	if p["status"] != "FAILED" || !strings.Contains(p["message"].(string), "allow-private-edges") {
		t.Fatalf("private edge: %v", p)
	}
}
