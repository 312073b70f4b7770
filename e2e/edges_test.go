package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

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
	srv := startServe(t, "", append(serveArgs(cdn), "--edges", edges)...)
	urls := urlsOf(cdn, "/e/", 10)
	id := srv.submit(map[string]any{"url_list": urls, "cf_domain": "cdn.example.test", "target_type": "region", "regions": []string{"europe"}})
	p := srv.wait(id, 30*time.Second, "FINISHED", "FAILED")
	if p["status"] != "FINISHED" || num(p["total_count"]) != 20 || num(p["failed_count"]) != 0 {
		t.Fatalf("progress: %v", p)
	}
	checkHits(t, cdn, cdn.POPs[:2], urls)
	if r, _ := cdn.ViewerGet(t.Context(), cdn.POPs[2], urls[0], nil); r.Hit {
		t.Fatal("an edge outside the region was warmed")
	}
	_, j := srv.call("GET", "/jobs/"+id, nil)
	if fmt.Sprint(j["pops"]) == "" || !strings.Contains(fmt.Sprint(j["pops"]), "fra-a") {
		t.Fatalf("job pops: %v", j["pops"])
	}
}

// Every POP dead: the tasks are tried and fail, and the summary blames the
// POPs, not the URLs.
func TestAllPOPsDead(t *testing.T) {
	t.Parallel()
	cdn := minicdn.StartT(t, minicdn.Options{POPs: []minicdn.POPSpec{{Code: "DED1-P1", Dead: true}, {Code: "DED2-P1", Dead: true}}})
	srv := startServe(t, "", serveArgs(cdn)...)
	id := srv.submit(map[string]any{"url_list": urlsOf(cdn, "/d/", 3), "cf_domain": cdn.CFDomain, "pops": []string{"DED1-P1", "DED2-P1"}})
	p := srv.wait(id, 60*time.Second, "FINISHED", "FAILED")
	if p["status"] != "FINISHED" || num(p["failed_count"]) != 6 {
		t.Fatalf("progress: %v", p)
	}
	_, sum := srv.call("GET", "/summary?req_id="+id, nil)
	if fmt.Sprint(sum["failure_pops"]) != "[DED1-P1 DED2-P1]" || len(sum["failure_urls"].([]any)) != 0 {
		t.Fatalf("summary: %v", sum)
	}
}
