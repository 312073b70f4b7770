package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"prewarm/client"
	"prewarm/internal/minicdn"
)

// An edges file names a self-run cache fleet; jobs target its edges by
// region, whatever cf_domain says.
func TestEdgesFileFleet(t *testing.T) {
	t.Parallel()
	cdn := minicdn.StartT(t, minicdn.Options{POPs: []minicdn.POPSpec{{Code: "EDG1-P1"}, {Code: "EDG2-P1", Kind: minicdn.Varnish}, {Code: "EDG3-P1"}}})
	edges := filepath.Join(t.TempDir(), "edges.yaml")
	yaml := fmt.Sprintf(`edges:
  - code: fra-a
    country: DE
    region: europe
    addresses: [%s]
  - code: fra-b
    country: DE
    region: europe
    addresses: [%s]
  - code: nyc-a
    country: US
    region: north-america
    addresses: [%s]
`, cdn.POPs[0].IP, cdn.POPs[1].IP, cdn.POPs[2].IP)
	if err := os.WriteFile(edges, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	srv := serveOn(t, cdn, "--edges", edges)
	urls := urlsOf(cdn, "/e/", 10)
	id := srv.submit(client.JobRequest{URLs: urls, CFDomain: "cdn.example.test", TargetType: "region", Regions: []string{"europe"}})
	p := srv.wait(id, 30*time.Second)
	if p.Status != client.StatusFinished || p.TotalCount != 20 || p.FailedCount != 0 {
		t.Fatalf("progress: %+v", p)
	}
	checkHits(t, cdn, cdn.POPs[:2], urls)
	// The edges of the file need no cf_domain; a CloudFront POP does.
	again := srv.submit(client.JobRequest{URLs: urlsOf(cdn, "/e2/", 3), Regions: []string{"europe"}})
	if p := srv.wait(again, 30*time.Second); p.Status != client.StatusFinished || p.TotalCount != 6 || p.FailedCount != 0 {
		t.Fatalf("without cf_domain: %+v", p)
	}
	if _, err := srv.c.Submit(t.Context(), client.JobRequest{URLs: urls, POPs: []string{"fra-a", "FRA60-P1"}}); statusOf(err) != 400 ||
		!strings.Contains(err.Error(), "cf_domain") {
		t.Fatalf("a CloudFront POP without cf_domain: %v", err)
	}
	if r, _ := cdn.ViewerGet(t.Context(), cdn.POPs[2], urls[0], nil); r.Hit {
		t.Fatal("an edge outside the region was warmed")
	}
	var codes []string
	for _, pop := range srv.job(id).POPs {
		codes = append(codes, pop.Code)
	}
	if !slices.Contains(codes, "fra-a") || !slices.Contains(codes, "fra-b") || slices.Contains(codes, "nyc-a") {
		t.Fatalf("job pops: %v", codes)
	}
}

// Every POP dead: the tasks are tried and fail, and the summary blames the
// POPs, not the URLs.
func TestAllPOPsDead(t *testing.T) {
	t.Parallel()
	cdn := minicdn.StartT(t, minicdn.Options{POPs: []minicdn.POPSpec{{Code: "DED1-P1", Dead: true}, {Code: "DED2-P1", Dead: true}}})
	srv := serveOn(t, cdn)
	id := srv.submit(client.JobRequest{URLs: urlsOf(cdn, "/d/", 3), CFDomain: cdn.CFDomain, POPs: []string{"DED1-P1", "DED2-P1"}})
	p := srv.wait(id, 60*time.Second)
	if p.Status != client.StatusFinished || p.FailedCount != 6 {
		t.Fatalf("progress: %+v", p)
	}
	if sum := srv.summary(id); fmt.Sprint(sum.FailurePOPs) != "[DED1-P1 DED2-P1]" || len(sum.FailureURLs) != 0 {
		t.Fatalf("summary: %+v", sum)
	}
}
