package e2e

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"prewarm/client"
	"prewarm/internal/minicdn"
	"prewarm/internal/store/pgtest"
)

// keepWarmPOPs are nginx POPs set up, as docs/keep-warm.md tells
// operators, to fetch from the origin and store on X-Prewarm-Refresh.
func keepWarmCDN(t *testing.T) *minicdn.CDN {
	return minicdn.StartT(t, minicdn.Options{RefreshHeader: "X-Prewarm-Refresh",
		POPs: []minicdn.POPSpec{{Code: "NGX1-P1"}, {Code: "NGX2-P1"}, {Code: "NGX3-P1"}}})
}

// An object with max-age=4 under keep_warm_until stays a HIT at every POP
// for 20 s, checked as a viewer every second through each POP, while the
// origin sees about one fetch per POP per lifetime: the re-warms go, with
// the refresh header, a second before each expiry.
func TestKeepWarmUntil(t *testing.T) {
	t.Parallel()
	cdn := keepWarmCDN(t)
	srv := serveOn(t, cdn)
	const path = "/maxage/4/kept"
	u := cdn.URL(path)
	until := time.Now().Add(30 * time.Second)
	id := srv.submit(client.JobRequest{URLs: []string{u}, CFDomain: cdn.CFDomain, POPs: []string{"NGX1-P1", "NGX2-P1", "NGX3-P1"},
		KeepWarmUntil: until.UTC().Format(time.RFC3339Nano), RefreshHeader: "X-Prewarm-Refresh: 1"})
	p := srv.waitUntil(id, 20*time.Second, func(p *client.ProgressResponse) bool {
		return p.KeepWarm != nil && p.KeepWarm.State == "keeping"
	})
	if p.Status != client.StatusInProgress || p.PercentageComplete != 100 || p.KeepWarm.Kept != 3 || p.KeepWarm.NextRewarm == "" {
		t.Fatalf("after the first warm: status %s, %d%%, keep_warm %+v", p.Status, p.PercentageComplete, p.KeepWarm)
	}

	const window = 20 * time.Second
	start := cdn.Origin.Gets(path)
	began := time.Now()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	var misses []string
	for checks := 0; checks <= int(window/time.Second); checks++ {
		for _, pop := range cdn.POPs {
			r, err := cdn.ViewerGet(t.Context(), pop, u, nil)
			if err != nil {
				t.Fatalf("viewer GET via %s: %v", pop.Code, err)
			}
			if !r.Hit {
				misses = append(misses, pop.Code+" at "+time.Since(began).Round(100*time.Millisecond).String()+": "+r.Header.Get("X-Cache-Status"))
			}
		}
		<-tick.C
	}
	fetched := cdn.Origin.Gets(path) - start
	took := time.Since(began)
	perPOP := float64(fetched) / 3 / took.Seconds() * 4
	t.Logf("origin: %d fetches by 3 POPs in %s: %.2f per POP per 4 s", fetched, took.Round(time.Millisecond), perPOP)
	if len(misses) > 0 {
		t.Errorf("viewers missed %d times: %s", len(misses), strings.Join(misses, "; "))
	}
	// Caches count freshness in whole seconds and a re-warm goes a second
	// ahead, so a 4 s object is fetched every 3 s: 1.33 per 4 s.
	if perPOP < 0.8 || perPOP > 1.6 {
		t.Errorf("origin fetches per POP per 4 s: %.2f, want about one", perPOP)
	}
	p = srv.progress(id)
	if p.KeepWarm.Rewarms < int64(fetched)-3 || p.KeepWarm.Failed != 0 {
		t.Errorf("keep_warm %+v after %d origin fetches", p.KeepWarm, fetched)
	}

	// At keep_warm_until the job finishes, and re-warms stop.
	p = srv.wait(id, time.Until(until)+10*time.Second)
	if p.Status != client.StatusFinished || p.KeepWarm.State != "ended" || !strings.Contains(p.Message, "kept warm until") {
		t.Fatalf("at keep_warm_until: %+v keep_warm %+v", p, p.KeepWarm)
	}
	after := cdn.Origin.Gets(path)
	// proves no re-warm happens after the job finished in 5 s (longer than
	// the object's 4 s lifetime, so one would show).
	time.Sleep(5 * time.Second)
	if n := cdn.Origin.Gets(path); n != after {
		t.Errorf("origin fetched %d more times after the job finished", n-after)
	}
}

// A no-store object under keep_warm_until is warmed once, reported once in
// the summary, and never re-warmed; the job can be stopped like any other.
func TestKeepWarmNotKept(t *testing.T) {
	t.Parallel()
	cdn := keepWarmCDN(t)
	srv := serveOn(t, cdn)
	const nostore = "/nostore/kept"
	kept := cdn.URL("/maxage/2/kept")
	id := srv.submit(client.JobRequest{URLs: []string{cdn.URL(nostore), kept}, CFDomain: cdn.CFDomain,
		POPs: []string{"NGX1-P1", "NGX2-P1"}, KeepWarmUntil: time.Now().Add(time.Minute).UTC().Format(time.RFC3339)})
	p := srv.waitUntil(id, 20*time.Second, func(p *client.ProgressResponse) bool {
		return p.KeepWarm != nil && p.KeepWarm.State == "keeping"
	})
	if p.KeepWarm.NotKept != 2 || p.KeepWarm.Kept != 2 || p.KeepWarm.RefreshHeader != "" {
		t.Fatalf("keep_warm %+v, want the no-store object not kept at 2 POPs, the other kept", p.KeepWarm)
	}
	sum := srv.summary(id)
	if len(sum.NotKeptURLs) != 1 || sum.NotKeptURLs[0].URL != cdn.URL(nostore) || sum.NotKeptURLs[0].POPs != 2 ||
		!strings.Contains(sum.NotKeptURLs[0].Reason, "no-store") {
		t.Fatalf("summary not_kept_urls %+v", sum.NotKeptURLs)
	}
	first := cdn.Origin.Gets(nostore)
	// The kept object is re-warmed meanwhile (after its expiry: no refresh
	// header), the other never.
	waitFor(t, 15*time.Second, func() bool { return srv.progress(id).KeepWarm.Rewarms >= 4 })
	if n := cdn.Origin.Gets(nostore); n != first {
		t.Errorf("the no-store object was fetched %d more times", n-first)
	}
	if _, err := srv.c.StopJob(context.Background(), id); err != nil {
		t.Fatal(err)
	}
	p = srv.progress(id)
	if p.Status != client.StatusStopped || p.KeepWarm.Kept != 0 || p.KeepWarm.State != "ended" {
		t.Fatalf("after stop: status %s keep_warm %+v", p.Status, p.KeepWarm)
	}
	before := cdn.Origin.Gets("/maxage/2/kept")
	// proves no re-warm happens after the stop in 3 s (longer than the kept
	// object's 2 s lifetime, so one would show).
	time.Sleep(3 * time.Second)
	if n := cdn.Origin.Gets("/maxage/2/kept"); n != before {
		t.Errorf("re-warmed %d times after the stop", n-before)
	}
}

// The README's walkthrough case: freshness set only by the POP's
// proxy_cache_valid, the origin sending no Cache-Control. Nothing can be
// kept, so the job ends FINISHED as soon as the first warm is done, saying
// why, instead of running until keep_warm_until with no re-warm.
func TestKeepWarmNothingToKeep(t *testing.T) {
	t.Parallel()
	cdn := keepWarmCDN(t)
	cdn.Origin.HandleFunc("/plain/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		_, _ = w.Write([]byte("cached by proxy_cache_valid only"))
	})
	srv := serveOn(t, cdn)
	id := srv.submit(client.JobRequest{URLs: []string{cdn.URL("/plain/a")}, CFDomain: cdn.CFDomain,
		POPs: []string{"NGX1-P1", "NGX2-P1"}, KeepWarmUntil: time.Now().Add(time.Hour).UTC().Format(time.RFC3339)})
	p := srv.waitUntil(id, 20*time.Second, func(p *client.ProgressResponse) bool {
		return p.Status != client.StatusInProgress && p.Status != client.StatusCreated
	})
	want := "nothing to keep warm: 2 objects cannot be kept"
	if p.Status != client.StatusFinished || !strings.HasPrefix(p.Message, want) || p.KeepWarm == nil || p.KeepWarm.NotKept != 2 {
		t.Fatalf("status %s %q keep_warm %+v, want FINISHED %q…", p.Status, p.Message, p.KeepWarm, want)
	}
	sum := srv.summary(id)
	if len(sum.NotKeptURLs) != 1 || sum.NotKeptURLs[0].POPs != 2 || !slices.ContainsFunc(sum.Warnings, func(w string) bool {
		return strings.Contains(w, "proxy_cache_valid")
	}) {
		t.Fatalf("summary not_kept_urls %+v warnings %q", sum.NotKeptURLs, sum.Warnings)
	}
}

// On a fleet — two serve nodes on one PostgreSQL, each with its agent, both
// queueing due re-warms four times a second — each URL × POP is re-warmed
// once per due time: every POP's access log shows each object's re-warms
// (the refresh header's BYPASS) about one lifetime apart, never two for one
// due time, and every fetch a POP logged is one the job counted. (That a
// schedule fires once per slot across two nodes is TestScheduleOnTwoNodes.)
func TestKeepWarmOnTwoNodes(t *testing.T) {
	t.Parallel()
	codes := []string{"KWF1-P1", "KWF2-P1", "KWF3-P1"}
	cdn := minicdn.StartT(t, minicdn.Options{RefreshHeader: "X-Prewarm-Refresh", AccessLogs: true,
		POPs: []minicdn.POPSpec{{Code: codes[0]}, {Code: codes[1]}, {Code: codes[2]}}})
	db := pgtest.Shared(t).DatabaseT(t)
	one := serveOn(t, cdn, "--database", db)
	two := serveOn(t, cdn, "--database", db)
	urls := urlsOf(cdn, "/maxage/4/fleet-", 4)
	until := time.Now().Add(25 * time.Second)
	id := one.submit(client.JobRequest{URLs: urls, CFDomain: cdn.CFDomain, POPs: codes,
		KeepWarmUntil: until.UTC().Format(time.RFC3339Nano), RefreshHeader: "X-Prewarm-Refresh: 1"})
	p := two.wait(id, time.Until(until)+15*time.Second)
	if p.Status != client.StatusFinished || p.KeepWarm == nil || p.KeepWarm.Failed != 0 {
		t.Fatalf("at keep_warm_until: status %s keep_warm %+v", p.Status, p.KeepWarm)
	}
	var logged int64
	perObject := map[string][]time.Time{} // POP + URL → its re-warms
	for _, pop := range cdn.POPs {
		lines, err := cdn.Log(pop)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range lines {
			if l.Status != 200 {
				t.Errorf("%s answered %d to %s", pop.Code, l.Status, l.URL)
			}
			if l.Cache == "BYPASS" {
				logged++
				perObject[pop.Code+" "+l.URL] = append(perObject[pop.Code+" "+l.URL], l.At)
			}
		}
	}
	if p.KeepWarm.Rewarms != logged {
		t.Errorf("the job counted %d re-warms, the POPs logged %d", p.KeepWarm.Rewarms, logged)
	}
	if len(perObject) != len(urls)*len(codes) {
		t.Errorf("%d URL × POP re-warmed, want %d", len(perObject), len(urls)*len(codes))
	}
	minGap, least, most := time.Hour, 1000, 0
	for key, ats := range perObject {
		least, most = min(least, len(ats)), max(most, len(ats))
		for i := 1; i < len(ats); i++ {
			gap := ats[i].Sub(ats[i-1])
			minGap = min(minGap, gap)
			// A 4 s object is re-warmed a second before each expiry: every
			// 3 s (whole seconds, so 2–4 s). Two for one due time would be
			// milliseconds apart.
			if gap < 1500*time.Millisecond {
				t.Errorf("%s re-warmed twice %v apart (at %s and %s)", key, gap,
					ats[i-1].Format("15:04:05.000"), ats[i].Format("15:04:05.000"))
			}
		}
	}
	t.Logf("%d re-warms of %d URL × POP in ~25 s: %d to %d each, closest two of one object %v apart",
		logged, len(perObject), least, most, minGap.Round(time.Millisecond))
	// ~24 s of keeping after the first warm, a re-warm every ~3 s: 8.
	if least < 5 || most > 10 {
		t.Errorf("re-warms per URL × POP from %d to %d, want about 8", least, most)
	}
}

// A pipeline's submit --wait on a keep-warm job returns once the first
// warm is done, judged by --min-verified, and says until when the job
// keeps warming; the job goes on. A schedule's job keeps warm with
// keep_warm_for, each run for as long after its own start; the absolute
// keep_warm_until, or both, are refused naming the field.
func TestKeepWarmPipelineAndSchedule(t *testing.T) {
	t.Parallel()
	cdn := keepWarmCDN(t)
	srv := serveOn(t, cdn, "--schedule-min-gap", "1s")
	env := []string{"PREWARM_SERVER=" + srv.URL, "PREWARM_API_KEY=" + apiKey}
	out, errOut, code := prewarmCmd(t, strings.Join(urlsOf(cdn, "/maxage/60/gate-", 3), "\n"), env, "submit", "-",
		"--cf-domain", cdn.CFDomain, "--pops", "NGX1-P1,NGX2-P1", "--keep-warm-until", "10m", "--wait", "--min-verified", "99")
	id := strings.TrimSpace(out)
	if code != 0 || !strings.Contains(errOut, "first warm: 100% of 6 tasks proven cached (--min-verified 99)") ||
		!strings.Contains(errOut, "first warm done; it keeps warming until") {
		t.Fatalf("submit --wait of a keep-warm job: exit %d\n%s", code, errOut)
	}
	p := srv.progress(id)
	if p.Status != client.StatusInProgress || p.KeepWarm == nil || p.KeepWarm.State != "keeping" {
		t.Fatalf("after submit --wait returned: %s %+v", p.Status, p.KeepWarm)
	}
	if until, created := parseTime(t, p.KeepWarm.Until), parseTime(t, p.CreatedAt); until.Sub(created) < 9*time.Minute ||
		until.Sub(created) > 11*time.Minute {
		t.Fatalf("--keep-warm-until 10m: kept from %s until %s", p.CreatedAt, p.KeepWarm.Until)
	}
	if _, err := srv.c.StopJob(t.Context(), id); err != nil {
		t.Fatal(err)
	}

	sc, err := srv.c.CreateSchedule(t.Context(), client.ScheduleRequest{Cron: "@every 1s", Job: client.JobRequest{
		URLs: []string{cdn.URL("/maxage/60/sched-kept")}, CFDomain: cdn.CFDomain, POPs: []string{"NGX1-P1"}, KeepWarmFor: "2m"}})
	if err != nil {
		t.Fatal(err)
	}
	var runs []string
	waitFor(t, 20*time.Second, func() bool {
		jobs, err := srv.c.Jobs(t.Context(), client.JobFilter{Limit: 100})
		srv.must("GET /jobs", err)
		runs = runs[:0]
		for _, j := range jobs {
			if j.ScheduleID == sc.ID {
				runs = append(runs, j.RequestID)
			}
		}
		return len(runs) >= 2
	})
	srv.must("DELETE /schedules", srv.c.DeleteSchedule(t.Context(), sc.ID))
	var ends []time.Time
	for _, id := range runs[:2] {
		p := srv.progress(id)
		until, created := parseTime(t, p.KeepWarm.Until), parseTime(t, p.CreatedAt)
		if d := until.Sub(created); d < 2*time.Minute-time.Second || d > 2*time.Minute+time.Second {
			t.Errorf("scheduled run %s: created %s, kept warm until %s, want 2m after", id, p.CreatedAt, p.KeepWarm.Until)
		}
		ends = append(ends, until)
		if _, err := srv.c.StopJob(t.Context(), id); err != nil {
			t.Fatal(err)
		}
	}
	if ends[0].Equal(ends[1]) {
		t.Errorf("two runs keep warm until the same %v", ends[0])
	}

	for body, want := range map[string]string{
		`{"cron": "@daily", "job": {"url_list": ["https://a.test/"], "cf_domain": "d1.cloudfront.net", "keep_warm_until": "2030-01-01T00:00:00Z"}}`: "job.keep_warm_until: every run would keep warm until the same time",
		`{"cron": "@daily", "job": {"url_list": ["https://a.test/"], "cf_domain": "d1.cloudfront.net", "keep_warm_for": "forever"}}`:                "job.keep_warm_for:",
	} {
		code, out := srv.rawJSON("POST", "/schedules", body)
		if msg, _ := out["message"].(string); code != 400 || !strings.Contains(msg, want) {
			t.Errorf("%s: %d %v, want 400 with %q", body, code, out, want)
		}
	}
	for body, want := range map[string]string{
		`{"url_list": ["https://a.test/"], "cf_domain": "d1.cloudfront.net", "keep_warm_for": "200h"}`:                                          "keep_warm_for: 200h is more than 168h0m0s",
		`{"url_list": ["https://a.test/"], "cf_domain": "d1.cloudfront.net", "keep_warm_for": "1h", "keep_warm_until": "2030-01-01T00:00:00Z"}`: "keep_warm_for: give keep_warm_until or keep_warm_for, not both",
		`{"url_list": ["https://a.test/"], "cf_domain": "d1.cloudfront.net", "keep_warm_for": 3600}`:                                            "keep_warm_for: expected a string",
	} {
		code, out := srv.rawJSON("POST", "/prewarm", body)
		if msg, _ := out["message"].(string); code != 400 || !strings.Contains(msg, want) {
			t.Errorf("%s: %d %v, want 400 with %q", body, code, out, want)
		}
	}
}

// parseTime reads a time as the API writes it.
func parseTime(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(client.TimeLayout, s)
	if err != nil {
		t.Fatalf("time %q: %v", s, err)
	}
	return v
}
