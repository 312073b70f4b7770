package e2e

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"prewarm/client"
	"prewarm/internal/invalidate/cloudfronttest"
	"prewarm/internal/minicdn"
)

// varnishEdge starts a mini CDN of one varnish POP and writes an edges file
// naming it code; it returns the CDN and the file.
func varnishEdge(t *testing.T, pop, code string) (*minicdn.CDN, string) {
	cdn := minicdn.StartT(t, minicdn.Options{POPs: []minicdn.POPSpec{{Code: pop, Kind: minicdn.Varnish}}})
	edges := filepath.Join(t.TempDir(), "edges.yaml")
	err := os.WriteFile(edges, fmt.Appendf(nil, "edges:\n  - code: %s\n    region: lab\n    addresses: [%s]\n", code, cdn.POPs[0].IP), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	return cdn, edges
}

// need_invalidate on an edges-file fleet: every edge is purged before the
// warm, so the origin sees exactly one new fetch per URL; without it, none.
func TestNeedInvalidatePurgesEdges(t *testing.T) {
	t.Parallel()
	cdn, edges := varnishEdge(t, "VAR1-P1", "var-a")
	srv := serveOn(t, cdn, "--edges", edges)
	urls := urlsOf(cdn, "/rel/v", 5)
	urls = append(urls, cdn.URL("/rel/app.js?v=2"))
	origin := func() (n int) {
		for _, u := range urls {
			n += cdn.Origin.Requests(strings.TrimPrefix(u, cdn.URL("")))
		}
		return n
	}
	warm := func(invalidate bool) *client.ProgressResponse {
		id := srv.submit(client.JobRequest{URLs: urls, CFDomain: cdn.CFDomain, POPs: []string{"var-a"}, NeedInvalidate: invalidate})
		return srv.wait(id, 30*time.Second)
	}
	if p := warm(false); p.Status != client.StatusFinished {
		t.Fatalf("first warm: %+v", p)
	}
	before := origin()
	if p := warm(false); p.Status != client.StatusFinished || origin() != before {
		t.Fatalf("a re-warm without need_invalidate reached the origin: %d → %d (%+v)", before, origin(), p)
	}
	p := warm(true)
	if p.Status != client.StatusFinished || !p.Invalidated || !strings.Contains(p.Message, "purged 6 URLs at 1 edges") {
		t.Fatalf("warm with need_invalidate: %+v", p)
	}
	if got := origin(); got != before+len(urls) {
		t.Fatalf("origin saw %d new fetches, want exactly one per URL (%d)", got-before, len(urls))
	}
	checkHits(t, cdn, cdn.POPs, urls)
}

// need_invalidate with expand: the playlist is read after the purge, so the
// job warms the new release's segments, not those the stale copy listed.
func TestNeedInvalidateExpandsTheNewPlaylist(t *testing.T) {
	t.Parallel()
	cdn, edges := varnishEdge(t, "VAR2-P1", "var-b")
	var release atomic.Int32
	release.Store(1)
	cdn.Origin.HandleFunc("/live/index.m3u8", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/vnd.apple.mpegurl")
		w.Header().Set("Cache-Control", "public, max-age=600")
		fmt.Fprint(w, "#EXTM3U\n#EXT-X-TARGETDURATION:6\n")
		for i := range 3 {
			fmt.Fprintf(w, "#EXTINF:6.0,\nv%d/seg%d.ts\n", release.Load(), i)
		}
		fmt.Fprint(w, "#EXT-X-ENDLIST\n")
	})
	srv := serveOn(t, cdn, "--edges", edges)
	warm := func(invalidate bool) string {
		id := srv.submit(client.JobRequest{URLs: []string{cdn.URL("/live/index.m3u8")}, POPs: []string{"var-b"},
			Expand: []string{"hls"}, NeedInvalidate: invalidate})
		if p := srv.wait(id, 30*time.Second); p.Status != client.StatusFinished || p.TotalCount != 4 || p.VerifiedCount != 4 {
			t.Fatalf("warm (need_invalidate %v): %+v", invalidate, p)
		}
		return id
	}
	warm(false)
	release.Store(2) // the new release is published; the POP still holds v1's playlist
	id := warm(true)

	var got []string
	for _, row := range strings.Split(strings.TrimSpace(srv.report(srv.summary(id).FailurePOPURLsReport, client.ReportOptions{AllTasks: true})), "\n")[1:] {
		got = append(got, strings.Split(row, ",")[1])
	}
	slices.Sort(got)
	want := []string{cdn.URL("/live/index.m3u8"), cdn.URL("/live/v2/seg0.ts"), cdn.URL("/live/v2/seg1.ts"), cdn.URL("/live/v2/seg2.ts")}
	if !slices.Equal(got, want) {
		t.Fatalf("the job after the purge warmed %v, want the new playlist's segments %v", got, want)
	}
	checkHits(t, cdn, cdn.POPs, want)
}

// need_invalidate on CloudFront: one batched invalidation with every path
// and query string, found through the custom domain, waited for until
// Completed before anything is fetched; failures fail the job unwarmed.
func TestNeedInvalidateCloudFront(t *testing.T) {
	t.Parallel()
	cdn := twoPOPs(t)
	newServe := func(t *testing.T, fake *cloudfronttest.Fake) *server {
		api := fake.Start(t)
		return startServeEnv(t, cloudfronttest.Env(t.TempDir(), true), "",
			append(serveArgs(cdn), "--cloudfront-endpoint", api.URL, "--invalidation-poll", "300ms")...)
	}
	dists := []cloudfronttest.Distribution{
		{ID: "E0OTHER0", Domain: "dother.cloudfront.net"},
		{ID: "E1PREWARM", Domain: "dtest.cloudfront.net", Aliases: []string{"cdn.example.test"}},
	}
	urls := []string{cdn.URL("/inv/a.js?v=2"), cdn.URL("/inv/b.css"), cdn.URL("/inv/c%20d.png")}

	t.Run("invalidates once and waits", func(t *testing.T) {
		fake := &cloudfronttest.Fake{Distributions: dists, PageSize: 1, InProgressPolls: 4}
		srv := newServe(t, fake)
		id := srv.submit(client.JobRequest{URLs: urls, CFDomain: "cdn.example.test", POPs: []string{"AAA1-P1", "BBB1-P1"}, NeedInvalidate: true})
		sawWaiting := false
		var p *client.ProgressResponse
		waitFor(t, 30*time.Second, func() bool {
			// The origin first, then the fake: a request the origin saw
			// while the invalidation had not yet been answered Completed
			// is a fetch before it (polls only grow).
			if origin := cdn.Origin.Total(); origin != 0 && fake.Polls("I1TEST") < 5 {
				t.Fatalf("origin saw %d requests before the invalidation completed", origin)
			}
			p = srv.progress(id)
			if strings.HasPrefix(p.Message, "invalidating") {
				sawWaiting = true
				if p.DownloadCount != 0 {
					t.Fatalf("fetched before the invalidation completed: %+v", p)
				}
			}
			return p.Ended()
		})
		if p.Status != client.StatusFinished || !p.Invalidated || !strings.Contains(p.Message, "I1TEST") || !sawWaiting {
			t.Fatalf("job: %+v (saw the wait: %v)", p, sawWaiting)
		}
		creates := fake.Creates()
		if len(creates) != 1 || creates[0].Distribution != "E1PREWARM" {
			t.Fatalf("CreateInvalidation calls: %+v", creates)
		}
		if got := fmt.Sprint(creates[0].Paths); got != "[/inv/a.js?v=2 /inv/b.css /inv/c%20d.png]" {
			t.Fatalf("paths %s", got)
		}
		if fake.Polls("I1TEST") != 5 {
			t.Fatalf("polled %d times, want 4 InProgress then Completed", fake.Polls("I1TEST"))
		}
		checkHits(t, cdn, cdn.POPs, urls)
	})

	for _, c := range []struct {
		name string
		fake *cloudfronttest.Fake
		want string
	}{
		{"no matching distribution", &cloudfronttest.Fake{Distributions: dists[:1]}, "no CloudFront distribution"},
		{"access denied", &cloudfronttest.Fake{Distributions: dists, CreateError: &cloudfronttest.APIError{Status: 403, Code: "AccessDenied",
			Message: "User: arn:aws:iam::123456789012:user/ci is not authorized to perform: cloudfront:CreateInvalidation"}}, "AccessDenied"},
	} {
		t.Run(c.name, func(t *testing.T) {
			srv := newServe(t, c.fake)
			before := cdn.Origin.Total()
			id := srv.submit(client.JobRequest{URLs: []string{cdn.URL("/never/" + strings.ReplaceAll(c.name, " ", "-"))}, CFDomain: "cdn.example.test",
				POPs: []string{"AAA1-P1"}, NeedInvalidate: true})
			p := srv.wait(id, 30*time.Second)
			if p.Status != client.StatusFailed || !strings.Contains(p.Message, c.want) || p.DownloadCount != 0 {
				t.Fatalf("job: %+v", p)
			}
			if cdn.Origin.Total() != before {
				t.Fatal("a job whose invalidation failed fetched something")
			}
			if sum := srv.summary(id); !strings.Contains(sum.Message, c.want) {
				t.Fatalf("summary: %+v", sum)
			}
		})
	}
}
