package e2e

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"prewarm/client"
	"prewarm/internal/minicdn"
)

// serveDoc serves a fixed document at path, cacheable.
func serveDoc(cdn *minicdn.CDN, path, contentType string, body []byte) {
	cdn.Origin.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", contentType)
		w.Header().Set("Cache-Control", "public, max-age=600")
		w.Write(body)
	})
}

// expand: "hls" turns a master playlist into its renditions and segments,
// all warmed and all HITs; "sitemap" follows an index to gzipped and plain
// sitemaps; a list past the job's cap fails the job, never silently cut.
func TestExpandHLSAndSitemaps(t *testing.T) {
	t.Parallel()
	cdn := minicdn.StartT(t, minicdn.Options{POPs: []minicdn.POPSpec{{Code: "EXP1-P1"}, {Code: "EXP2-P1", CloudFront: true}}})
	serveDoc(cdn, "/hls/master.m3u8", "application/vnd.apple.mpegurl", []byte("#EXTM3U\n"+
		"#EXT-X-STREAM-INF:BANDWIDTH=800000,RESOLUTION=640x360\nlow/index.m3u8\n"+
		"#EXT-X-STREAM-INF:BANDWIDTH=2400000,RESOLUTION=1280x720\n"+cdn.URL("/hls/high/index.m3u8")+"\n"))
	for _, r := range []string{"low", "high"} {
		var pl strings.Builder
		pl.WriteString("#EXTM3U\n#EXT-X-TARGETDURATION:6\n")
		for i := range 5 {
			fmt.Fprintf(&pl, "#EXTINF:6.0,\nseg%d.ts\n", i)
		}
		pl.WriteString("#EXT-X-ENDLIST\n")
		serveDoc(cdn, "/hls/"+r+"/index.m3u8", "application/vnd.apple.mpegurl", []byte(pl.String()))
	}
	srv := serveOn(t, cdn, "--max-urls", "30")

	id := srv.submit(client.JobRequest{URLs: []string{cdn.URL("/hls/master.m3u8")}, CFDomain: cdn.CFDomain,
		POPs: []string{"EXP1-P1", "EXP2-P1"}, Expand: []string{"hls"}})
	p := srv.wait(id, 30*time.Second)
	if p.Status != client.StatusFinished || p.TotalCount != 26 || p.VerifiedCount != 26 {
		t.Fatalf("HLS ladder: %+v", p)
	}
	if j := srv.job(id); j.URLCount != 13 {
		t.Fatalf("url_count %d, want master + 2 playlists + 10 segments", j.URLCount)
	}
	var urls []string
	urls = append(urls, cdn.URL("/hls/master.m3u8"), cdn.URL("/hls/low/index.m3u8"), cdn.URL("/hls/high/index.m3u8"))
	for _, r := range []string{"low", "high"} {
		for i := range 5 {
			urls = append(urls, cdn.URL(fmt.Sprintf("/hls/%s/seg%d.ts", r, i)))
		}
	}
	checkHits(t, cdn, cdn.POPs, urls)

	// A sitemap index naming a gzipped and a plain sitemap.
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	fmt.Fprintf(zw, `<?xml version="1.0" encoding="UTF-8"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc>%s</loc></url><url><loc>%s</loc></url></urlset>`,
		cdn.URL("/site/a.html"), cdn.URL("/site/b.html"))
	zw.Close()
	serveDoc(cdn, "/sitemap-1.xml.gz", "application/gzip", gz.Bytes())
	serveDoc(cdn, "/sitemap-2.xml", "application/xml", fmt.Appendf(nil,
		`<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc> %s </loc></url></urlset>`, cdn.URL("/site/c.html?x=1&amp;y=2")))
	serveDoc(cdn, "/sitemap.xml", "application/xml", fmt.Appendf(nil,
		`<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><sitemap><loc>%s</loc></sitemap><sitemap><loc>%s</loc></sitemap></sitemapindex>`,
		cdn.URL("/sitemap-1.xml.gz"), cdn.URL("/sitemap-2.xml")))
	id = srv.submit(client.JobRequest{URLs: []string{cdn.URL("/sitemap.xml")}, CFDomain: cdn.CFDomain,
		POPs: []string{"EXP1-P1"}, Expand: []string{"sitemap"}})
	p = srv.wait(id, 30*time.Second)
	if p.Status != client.StatusFinished || p.TotalCount != 6 || p.VerifiedCount != 6 {
		t.Fatalf("sitemap: %+v", p)
	}
	checkHits(t, cdn, cdn.POPs[:1], []string{cdn.URL("/site/a.html"), cdn.URL("/site/b.html"), cdn.URL("/site/c.html?x=1&y=2")})

	// Past the cap (--max-urls 30): the job fails and says why.
	var big strings.Builder
	big.WriteString("#EXTM3U\n")
	for i := range 40 {
		fmt.Fprintf(&big, "#EXTINF:6.0,\nbig%d.ts\n", i)
	}
	serveDoc(cdn, "/hls/big.m3u8", "application/vnd.apple.mpegurl", []byte(big.String()))
	// expand as the original string form, which the client never sends.
	code, out := srv.rawJSON("POST", "/prewarm", map[string]any{"url_list": []string{cdn.URL("/hls/big.m3u8")}, "cf_domain": cdn.CFDomain,
		"pops": []string{"EXP1-P1"}, "expand": "hls"})
	if code != 200 {
		t.Fatalf("expand as a string: %d %v", code, out)
	}
	p = srv.wait(out["request_id"].(string), 30*time.Second)
	if p.Status != client.StatusFailed || !strings.Contains(p.Message, "limit of 30") || p.DownloadCount != 0 {
		t.Fatalf("past the cap: %+v", p)
	}
	_, err := srv.c.Submit(t.Context(), client.JobRequest{URLs: []string{cdn.URL("/x")}, CFDomain: cdn.CFDomain, Expand: []string{"flv"}})
	if statusOf(err) != 400 || !strings.Contains(err.Error(), "expand[0]") {
		t.Fatalf("bad expand kind: %v", err)
	}
}

// /metrics serves Prometheus metrics to a caller with the key (header or
// bearer token), and the dashboard is served at /.
func TestMetricsAndDashboardAreServed(t *testing.T) {
	t.Parallel()
	cdn := twoPOPs(t)
	srv := serveOn(t, cdn)
	id := srv.submit(job(cdn, urlsOf(cdn, "/m/", 5)))
	if p := srv.wait(id, 30*time.Second); p.Status != client.StatusFinished {
		t.Fatalf("job: %+v", p)
	}
	// Neither is the JSON API: plain requests.
	get := func(path string, h http.Header) (int, string) {
		code, body := srv.raw("GET", path, h, nil)
		return code, string(body)
	}
	if code, _ := get("/metrics", http.Header{}); code != 401 {
		t.Fatalf("metrics without a key: %d", code)
	}
	code, body := get("/metrics", http.Header{"Authorization": {"Bearer " + apiKey}})
	if code != 200 {
		t.Fatalf("metrics: %d", code)
	}
	for _, want := range []string{
		`prewarm_tasks_total{pop="AAA1-P1",result="ok"} 5`,
		`prewarm_fetched_bytes_total{pop="BBB1-P1"} 5120`,
		`prewarm_fetch_duration_seconds_count{result="ok"} 10`,
		`prewarm_jobs{status="FINISHED"} 1`,
		`prewarm_tasks_queued 0`,
		`prewarm_agents{state="active"} 1`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	code, page := get("/", http.Header{})
	if code != 200 || !strings.Contains(page, "prewarm") {
		t.Fatalf("dashboard: %d", code)
	}
}

// A changed-only run: with changed_since, only the sitemap's URLs whose
// lastmod is newer are warmed; the others are not fetched at all.
func TestSitemapChangedSince(t *testing.T) {
	t.Parallel()
	cdn := minicdn.StartT(t, minicdn.Options{POPs: []minicdn.POPSpec{{Code: "CHG1-P1"}}})
	var doc strings.Builder
	doc.WriteString(`<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">`)
	for i := range 10 {
		lastmod := "2026-11-01"
		if i%3 == 0 {
			lastmod = "2026-11-28T21:00:00Z"
		}
		fmt.Fprintf(&doc, `<url><loc>%s</loc><lastmod>%s</lastmod></url>`, cdn.URL(fmt.Sprintf("/changed/%d", i)), lastmod)
	}
	doc.WriteString(`</urlset>`)
	serveDoc(cdn, "/changed/sitemap.xml", "application/xml", []byte(doc.String()))
	srv := serveOn(t, cdn)
	id := srv.submit(client.JobRequest{URLs: []string{cdn.URL("/changed/sitemap.xml")}, CFDomain: cdn.CFDomain,
		POPs: []string{"CHG1-P1"}, Expand: []string{"sitemap"}, ChangedSince: "2026-11-28"})
	p := srv.wait(id, 30*time.Second)
	if p.Status != client.StatusFinished || p.TotalCount != 5 || p.VerifiedCount != 5 {
		t.Fatalf("changed only: %+v, want the sitemap and its 4 changed URLs", p)
	}
	for i := range 10 {
		n := cdn.Origin.Requests(fmt.Sprintf("/changed/%d", i))
		if changed := i%3 == 0; changed != (n > 0) {
			t.Errorf("/changed/%d: %d origin fetches (changed: %v)", i, n, changed)
		}
	}
}
