package web

import (
	"cmp"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"prewarm/client"
)

// fakeAPI is just enough of prewarm's JSON API for the dashboard's browser
// test: the same routes and status codes as internal/api, answering with the
// types the server encodes, with jobs that move forward one step each time
// the dashboard polls them.
type fakeAPI struct {
	t   testing.TB
	key string

	mu       sync.Mutex
	now      time.Time // the fake's clock, fixed so screenshots are stable
	jobs     map[string]*fakeJob
	order    []string // newest first
	desired  int
	agents   []fakeAgent
	nextID   int
	down     bool // every API route drops the connection, as a dead server would
	submits  []json.RawMessage
	dryRuns  []json.RawMessage // POST /prewarm bodies with "dry_run": true
	stops    []string
	capacity []json.RawMessage
	reports  []string
}

type fakeJob struct {
	id, status, message  string
	name, priority       string // priority: empty is normal
	domain, targetType   string
	urls                 []string
	pops                 []fakePOP
	created, timeoutAt   time.Time
	updated              time.Time
	step, steps          int          // progress: step out of steps; steps reached = FINISHED
	frozen               bool         // never moves (seeded jobs)
	frozenAt             float64      // fraction done of a frozen running job
	failPOP              string       // this POP fails one URL...
	failURL              int          // ...this one
	probeFail            map[int]bool // URLs that fail their size probe, so at every POP
	avgSize              int64
	summaryURLs, sumPOPs []string
	noSizeYet            bool
	popSpeeds            []float64

	// The request, echoed by GET /jobs/{id}.
	timeout        float64 // minutes
	headers        []string
	needInvalidate bool
	distributionID string
	noVerify       bool // verify: false (the API's default is true)
	encodings      []string
	expand         []string
	maxConcurrency int     // 0: no bound
	maxRPS         float64 // 0: no bound
	noTierFirst    bool    // tier_first: false (the API's default is true)

	// waiting is the budget the job's fetches wait for while it warms.
	waiting string

	// Before warming: the messages of the steps still to come (expanding,
	// invalidating), one per poll, and the note invalidating leaves.
	preSteps    []string
	invalidNote string
	invalidated bool

	// Verification: URLs (by index) that are fetched fine but not cached,
	// at notCachedPOP or, when empty, at every POP; URL i is not cached for
	// notCachedWhy[i % len] (a MISS when asked again, when empty).
	notCached    map[int]bool
	notCachedPOP string
	notCachedWhy []string
	warnings     []string
}

type fakePOP struct {
	code        string
	addrs       []string
	err         string
	unreachable string // every fetch failed with this error: no HTTP answer
	after       string // the POP warmed before this one (tier first)
}

func (j *fakeJob) variants() int64 { return int64(max(len(j.encodings), 1)) }

func (j *fakeJob) verify() bool { return !j.noVerify }

// whyNotCached is the reason URL u is not cached, as the agents word it.
func (j *fakeJob) whyNotCached(u int) string {
	if len(j.notCachedWhy) > 0 && j.notCachedWhy[u%len(j.notCachedWhy)] != "" {
		return j.notCachedWhy[u%len(j.notCachedWhy)]
	}
	return "MISS when asked again after the warm"
}

// warming says whether the job is past its expand and invalidate steps.
func (j *fakeJob) warming() bool {
	return len(j.preSteps) == 0 && !strings.HasPrefix(j.message, "expanding") && !strings.HasPrefix(j.message, "invalidating")
}

type fakeAgent struct {
	id, name, host string
	concurrency    int
	busy           int
	active         bool
	heartbeat      time.Duration // ago
}

func newFakeAPI(t testing.TB, key string) *fakeAPI {
	f := &fakeAPI{
		t:       t,
		key:     key,
		now:     time.Now().UTC().Truncate(time.Second),
		jobs:    map[string]*fakeJob{},
		desired: 2,
		agents: []fakeAgent{
			{id: "a1f4c2d0", name: "agent-iad-1", host: "10.0.12.7", concurrency: 64, busy: 41, active: true, heartbeat: 2 * time.Second},
			{id: "b83e9a11", name: "agent-fra-1", host: "10.0.14.3", concurrency: 64, busy: 37, active: true, heartbeat: 4 * time.Second},
			{id: "c5d27f40", name: "agent-nrt-1", host: "10.0.16.9", concurrency: 32, busy: 0, active: false, heartbeat: 7 * time.Second},
		},
	}
	f.seed()
	return f
}

// fakeRegions is the fake's POP catalog: a POP's region by its code's
// airport. A code it does not know does not resolve.
var fakeRegions = map[string]string{
	"IAD": "north-america", "JFK": "north-america", "ORD": "north-america", "LAX": "north-america",
	"FRA": "europe", "LHR": "europe", "CDG": "europe", "AMS": "europe", "MAD": "europe",
	"SIN": "asia", "HKG": "asia", "SYD": "oceania", "BOM": "asia", "ICN": "asia", "NRT": "asia", "KIX": "asia",
	"TPE": "asia", "MNL": "asia", "CGK": "asia", "BKK": "asia", "KUL": "asia",
}

func popRegion(code string) string { return fakeRegions[strings.ToUpper(code[:min(3, len(code))])] }

// popsFor resolves POP codes as the catalog does: a code it does not know
// is unusable.
func popsFor(codes ...string) []fakePOP {
	var out []fakePOP
	for i, c := range codes {
		if popRegion(c) == "" {
			out = append(out, fakePOP{code: c, err: "does not resolve"})
			continue
		}
		out = append(out, fakePOP{code: c, addrs: []string{fmt.Sprintf("18.64.%d.%d", 10+i*7, 20+i*3), fmt.Sprintf("18.64.%d.%d", 10+i*7, 81+i)}})
	}
	return out
}

// tiered puts each usable POP after the job's first POP of its region, as
// the server does for CloudFront POPs when a job warms tier first.
func tiered(pops []fakePOP) []fakePOP {
	leader := map[string]string{}
	for i, p := range pops {
		if p.err != "" {
			continue
		}
		if first, ok := leader[popRegion(p.code)]; ok {
			pops[i].after = first
		} else {
			leader[popRegion(p.code)] = p.code
		}
	}
	return pops
}

func patchURLs(base string, n int) []string {
	var out []string
	for i := range n {
		out = append(out, fmt.Sprintf("%s/chunk-%03d.pak", base, i))
	}
	return out
}

// every marks every nth of n URL indexes, from the first.
func every(n, nth int) map[int]bool {
	out := map[int]bool{}
	for i := 0; i < n; i += nth {
		out[i] = true
	}
	return out
}

// seed adds jobs in every state, so the list shows each status colour.
func (f *fakeAPI) seed() {
	add := func(j *fakeJob) {
		if j.avgSize == 0 {
			j.avgSize = 48 << 20
		}
		if j.updated.IsZero() {
			j.updated = j.created.Add(6 * time.Minute)
		}
		if !j.noTierFirst {
			j.pops = tiered(j.pops)
		}
		j.frozen = true
		f.jobs[j.id] = j
		f.order = append(f.order, j.id) // seeded newest first
	}
	add(&fakeJob{id: "3f2b8c1e-7a4d-4e9b-9c6a-1d2e3f4a5b6c", status: "CREATED", domain: "d2x7release.cloudfront.net", targetType: "region",
		urls: patchURLs("https://downloads.example.com/app/7.2.0", 40), created: f.now.Add(-20 * time.Second), timeoutAt: f.now.Add(30 * time.Minute),
		updated: f.now.Add(-20 * time.Second), noSizeYet: true, timeout: 30})
	// Its HLS playlist was expanded to 64 segments; the caches are being
	// cleared before anything is fetched.
	segs := make([]string, 64)
	for i := range segs {
		segs[i] = fmt.Sprintf("https://media.example.com/trailer/4k/seg-%05d.ts", i)
	}
	add(&fakeJob{id: seededStep, status: "IN_PROGRESS", domain: "media.example.com", targetType: "region",
		message: "invalidating 64 URLs at 5 POPs before warming", urls: segs,
		pops:    popsFor("FRA60-P1", "LHR61-P3", "CDG50-P1", "AMS54-P1", "MAD53-P1"),
		created: f.now.Add(-55 * time.Second), timeoutAt: f.now.Add(59 * time.Minute), updated: f.now.Add(-3 * time.Second), noSizeYet: true,
		timeout: 60, needInvalidate: true, expand: []string{"hls"}, encodings: []string{"br", "gzip"}})
	add(&fakeJob{id: seededRunner, status: "IN_PROGRESS", domain: "d3kx9premiere.cloudfront.net", targetType: "pop",
		urls: patchURLs("https://video.example.com/premiere/s01e01/1080p", 120), pops: popsFor("IAD89-P1", "JFK50-P2", "LAX50-P1", "LHR61-P3", "FRA60-P1", "NRT57-P3"),
		created: f.now.Add(-4 * time.Minute), timeoutAt: f.now.Add(26 * time.Minute), updated: f.now.Add(-2 * time.Second), frozenAt: 0.42, avgSize: 6 << 20,
		timeout: 30, headers: []string{"Accept-Language: en-US"}, notCached: every(120, 15), notCachedPOP: "LAX50-P1",
		notCachedWhy: []string{"served by LAX3-P2, not LAX50-P1 (DNS steered the request elsewhere)"},
		// Held to a budget, and paused by a host that asked for less.
		maxConcurrency: 48, maxRPS: 20,
		waiting:  "host video.example.com: paused until " + f.now.Add(2*time.Second).Format(time.TimeOnly),
		warnings: []string{"responses vary on Accept-Language; the job sends one value", "video.example.com answered 429: paused 2s"}})
	add(&fakeJob{id: "5e6f7a8b-9c0d-4e1f-a2b3-c4d5e6f7a8b9", status: "FINISHED", domain: "cdn.example.com", targetType: "country",
		urls: patchURLs("https://cdn.example.com/patch/1.4.1", 24), pops: popsFor("IAD89-P1", "ORD52-P1", "FRA60-P1", "AMS54-P1"),
		created: f.now.Add(-2*time.Hour - 14*time.Minute), timeout: 30, encodings: []string{"br", "gzip"}})
	// Finished, with most of its tasks failed: 63 of its URLs answered 404
	// to the size probe (so failed at every POP, with the probe's error),
	// one more failed at SIN2-P1 alone, and one was never cached at NRT57-P3.
	probe404 := map[int]bool{}
	for i := range 63 {
		probe404[i] = true
	}
	add(&fakeJob{id: seededFailing, status: "FINISHED", domain: "d6trailers.cloudfront.net", targetType: "pop", name: "Season 2 trailers",
		urls: patchURLs("https://media.example.com/trailers/s02", 100), pops: popsFor("IAD89-P1", "JFK50-P2", "FRA60-P1", "LHR61-P3", "SIN2-P1", "NRT57-P3"),
		created: f.now.Add(-5*time.Hour - 40*time.Minute), timeout: 30, avgSize: 24 << 20,
		probeFail: probe404, failPOP: "SIN2-P1", failURL: 80,
		notCached: map[int]bool{90: true}, notCachedPOP: "NRT57-P3", notCachedWhy: []string{"the response sets a cookie (Set-Cookie)"}})
	timeoutPOPs := popsFor("SIN2-P1", "HKG62-P2", "SYD62-P1", "BOM78-P1", "ICN57-P1", "NRT57-P3", "KIX56-P1", "TPE52-P1", "MNL50-P1", "CGK51-P1", "BKK50-P1", "KUL50-P1")
	timeoutPOPs[8].unreachable = "dial tcp 18.64.66.44:443: i/o timeout"
	add(&fakeJob{id: seededTimeout, status: "TIMEOUT", domain: "d1y2z3launch.cloudfront.net", targetType: "pop",
		name: "Launch 2.0.0: every asset through every APAC POP, before the doors open", priority: "high",
		message: "timed out after 30m0s with 112 of 960 tasks not done", urls: patchURLs("https://cdn.example.com/launch/2.0.0", 80),
		pops: timeoutPOPs, sumPOPs: []string{"MNL50-P1"},
		created: f.now.Add(-27 * time.Hour), updated: f.now.Add(-26*time.Hour - 30*time.Minute), failPOP: "BOM78-P1", failURL: 5, frozenAt: 0.88,
		timeout: 30, headers: []string{"User-Agent: prewarm"}, notCached: every(80, 5), noTierFirst: true,
		notCachedWhy: []string{"Cache-Control: no-store", "Cache-Control: no-store", "the response sets a cookie (Set-Cookie)", ""},
		warnings: []string{
			"responses vary on Accept-Encoding; the job sends one value (list encodings to warm each)",
			"responses vary on User-Agent; the job sends one value",
		}})
	add(&fakeJob{id: "0b1c2d3e-4f5a-4b6c-8d7e-9f0a1b2c3d4e", status: "STOPPED", domain: "d4stoppedex.cloudfront.net", targetType: "pop",
		message: "stopped by request", urls: patchURLs("https://cdn.example.com/beta/0.9", 10), pops: popsFor("IAD89-P1", "FRA60-P1"),
		created: f.now.Add(-49 * time.Hour), frozenAt: 0.35, timeout: 30, noVerify: true})
	add(&fakeJob{id: "e1f2a3b4-c5d6-4e7f-8a9b-0c1d2e3f4a5b", status: "FAILED", domain: "d5typo.cloudfront.net", targetType: "pop",
		message: "no POP could be used: XYZ1-P1 does not resolve; QQQ9-P9 does not resolve", urls: patchURLs("https://cdn.example.com/hotfix", 3),
		pops:    []fakePOP{{code: "XYZ1-P1", err: "does not resolve"}, {code: "QQQ9-P9", err: "does not resolve"}},
		created: f.now.Add(-74 * time.Hour), sumPOPs: []string{"XYZ1-P1", "QQQ9-P9"}, timeout: 30})
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(client.TimeLayout)
}

// popCounts are one POP's counters at its job's current step.
type popCounts struct {
	done, ok, failed, running, bytes int64
	verified, notCached              int64
	total                            int64
	notCachedURLs                    []int // by index, in order
	reasons                          []client.NotCachedReason
	lastError                        string
}

// countReason counts r.Count tasks not cached for r.Reason, keeping the
// first example.
func (c *popCounts) countReason(r client.NotCachedReason) {
	for i := range c.reasons {
		if c.reasons[i].Reason == r.Reason {
			c.reasons[i].Count += r.Count
			return
		}
	}
	c.reasons = append(c.reasons, r)
}

// popCounts runs each POP's tasks in order, URL by URL and, within a URL,
// encoding by encoding, up to how far the job has got.
func (f *fakeAPI) popCounts(j *fakeJob) []popCounts {
	v := j.variants()
	u := int64(len(j.urls)) * v
	out := make([]popCounts, len(j.pops))
	for i, p := range j.pops {
		if p.err != "" {
			continue
		}
		c := popCounts{total: u}
		var frac float64
		switch {
		case !j.warming():
			frac = 0
		case j.status == "FINISHED":
			frac = 1
		case j.frozen:
			frac = j.frozenAt * (1 - 0.08*float64(i%3))
		case j.step >= j.steps:
			frac = 1
		default:
			speed := 1.0
			if len(j.popSpeeds) > 0 {
				speed = j.popSpeeds[i%len(j.popSpeeds)]
			}
			frac = min(1, float64(j.step)*speed/float64(j.steps))
		}
		c.done = int64(frac * float64(u))
		// A size probe's failure is recorded when the job is planned, so
		// any failure of the POP's own comes after it, as its last error. The
		// probe went through the job's first POP.
		var ownError, probeError string
		for t := range c.done {
			url := int(t / v)
			switch {
			case j.probeFail[url]:
				c.failed++
				probeError = "size probe through " + j.pops[0].code + ": HTTP 404"
			case p.unreachable != "":
				c.failed++
				ownError = p.unreachable
			case p.code == j.failPOP && url == j.failURL && t%v == 0:
				c.failed++
				ownError = "HTTP 404"
			case !j.verify():
				c.ok++
			case j.notCached[url] && (j.notCachedPOP == "" || j.notCachedPOP == p.code):
				c.ok++
				c.notCached++
				c.countReason(client.NotCachedReason{Reason: j.whyNotCached(url), Count: 1, ExampleURL: j.urls[url], ExamplePOP: p.code})
				if len(c.notCachedURLs) == 0 || c.notCachedURLs[len(c.notCachedURLs)-1] != url {
					c.notCachedURLs = append(c.notCachedURLs, url)
				}
			default:
				c.ok++
				c.verified++
			}
		}
		if j.status == "IN_PROGRESS" && j.warming() && c.done < u {
			c.running = min(u-c.done, 3)
		}
		c.bytes = c.ok * j.avgSize
		c.lastError = cmp.Or(ownError, probeError)
		out[i] = c
	}
	return out
}

func (f *fakeAPI) progress(j *fakeJob) client.ProgressResponse {
	var total, done, ok, failed, running, bytes, verified, notCached int64
	usable := 0
	for i, c := range f.popCounts(j) {
		if j.pops[i].err != "" {
			continue
		}
		usable++
		total += c.total
		done += c.done
		ok += c.ok
		failed += c.failed
		running += c.running
		bytes += c.bytes
		verified += c.verified
		notCached += c.notCached
	}
	pct := 0
	if total > 0 {
		pct = int(100 * done / total)
	}
	if j.maxConcurrency > 0 {
		running = min(running, int64(j.maxConcurrency))
	}
	available := max(total-done-running, 0)
	if j.status != "IN_PROGRESS" && j.status != "CREATED" {
		available, running = 0, 0
	}
	totalSize := int64(usable) * int64(len(j.urls)) * j.variants() * j.avgSize
	if j.noSizeYet {
		totalSize = 0
	}
	waiting := ""
	if j.status == "IN_PROGRESS" && j.warming() {
		waiting = j.waiting
	}
	return client.ProgressResponse{
		RequestID: j.id, DownloadSize: bytes, TotalSize: totalSize, PercentageComplete: pct,
		AvailableTaskCount: available, InProgressTaskCount: running, DownloadCount: done, TotalCount: total,
		CreatedAt: stamp(j.created), LastUpdateTime: stamp(j.updated), Timestamp: stamp(f.now),
		Status: j.status, SuccessCount: ok, FailedCount: failed, TimeoutAt: stamp(j.timeoutAt),
		Planned: j.status != "CREATED" && j.warming(), Invalidated: j.invalidated,
		VerifiedCount: verified, NotCachedCount: notCached, Message: j.message, Waiting: waiting,
		Name: j.name, Priority: cmp.Or(j.priority, "normal"),
	}
}

// summary is a job as GET /jobs lists it: its progress and its targets.
func (f *fakeAPI) summary(j *fakeJob) client.JobSummary {
	return client.JobSummary{ProgressResponse: f.progress(j), CFDomain: j.domain, TargetType: j.targetType,
		URLCount: len(j.urls), POPCount: len(j.pops)}
}

func (f *fakeAPI) writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if err := json.NewEncoder(w).Encode(v); err != nil {
		f.t.Errorf("fake API: encode: %v", err)
	}
}

func (f *fakeAPI) fail(w http.ResponseWriter, status int, msg string) {
	f.writeJSON(w, status, client.Failure{Status: "failure", Message: msg, Timestamp: stamp(f.now)})
}

// route wraps an API handler with the API's auth and the outage switch.
func (f *fakeAPI) route(h func(w http.ResponseWriter, r *http.Request)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		if f.down {
			if hj, ok := w.(http.Hijacker); ok {
				if conn, _, err := hj.Hijack(); err == nil {
					conn.Close()
					return
				}
			}
			w.WriteHeader(http.StatusBadGateway)
			return
		}
		switch key := r.Header.Get("x-api-key"); {
		case key == "":
			f.fail(w, http.StatusUnauthorized, "missing x-api-key header")
			return
		case key != f.key:
			f.fail(w, http.StatusForbidden, "invalid API key")
			return
		}
		h(w, r)
	}
}

func (f *fakeAPI) setDown(down bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.down = down
}

// mount puts the fake API's routes on mux, as internal/api does.
func (f *fakeAPI) mount(mux *http.ServeMux) {
	mux.HandleFunc("GET /jobs", f.route(f.listJobs))
	mux.HandleFunc("GET /jobs/{id}", f.route(f.getJob))
	mux.HandleFunc("POST /jobs/{id}/stop", f.route(f.stopJob))
	mux.HandleFunc("POST /prewarm", f.route(f.postPrewarm))
	mux.HandleFunc("GET /summary", f.route(f.getSummary))
	mux.HandleFunc("GET /instances", f.route(f.getInstances))
	mux.HandleFunc("POST /instances", f.route(f.postInstances))
	mux.HandleFunc("GET /reports/{file}", f.getReport)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { f.fail(w, http.StatusNotFound, "no such endpoint") })
}

func (f *fakeAPI) listJobs(w http.ResponseWriter, r *http.Request) {
	status := strings.ToUpper(r.URL.Query().Get("status"))
	out := client.JobList{Jobs: []client.JobSummary{}}
	for _, id := range f.order {
		j := f.jobs[id]
		if status == "" || j.status == status {
			out.Jobs = append(out.Jobs, f.summary(j))
		}
	}
	f.writeJSON(w, http.StatusOK, out)
}

func (f *fakeAPI) reportURL(r *http.Request, id string) string {
	return "http://" + r.Host + "/reports/" + id + ".csv?token=tok-" + id
}

func (f *fakeAPI) getJob(w http.ResponseWriter, r *http.Request) {
	j, ok := f.jobs[r.PathValue("id")]
	if !ok {
		f.fail(w, http.StatusNotFound, "job "+r.PathValue("id")+" not found")
		return
	}
	if !j.frozen && j.status == "IN_PROGRESS" {
		// Each look at a running job moves it one step, so the dashboard
		// sees it expand, invalidate, progress and finish on its own while
		// it polls.
		j.updated = f.now
		switch {
		case len(j.preSteps) > 0:
			j.message, j.preSteps = j.preSteps[0], j.preSteps[1:]
		case strings.HasPrefix(j.message, "expanding"):
			j.message = fmt.Sprintf("expanded %d URLs to %d", len(j.urls), len(j.urls))
		case strings.HasPrefix(j.message, "invalidating"):
			j.message, j.invalidated = j.invalidNote, true
		default:
			j.step++
			if j.step >= j.steps {
				j.status = "FINISHED"
			}
		}
	}
	resp := client.JobResponse{JobSummary: f.summary(j), Timeout: j.timeout, Header: append([]string{}, j.headers...),
		NeedInvalidate: j.needInvalidate, Verify: j.verify(), Encodings: j.encodings, Expand: j.expand,
		MaxConcurrency: j.maxConcurrency, MaxRPS: j.maxRPS, TierFirst: !j.noTierFirst,
		POPs: []client.POP{}, Report: f.reportURL(r, j.id)}
	for i, c := range f.popCounts(j) {
		p := j.pops[i]
		pop := client.POP{Code: p.code, Addresses: p.addrs, Error: p.err, Done: c.done, OK: c.ok, Failed: c.failed,
			Bytes: c.bytes, Verified: c.verified, NotCached: c.notCached, After: p.after}
		pop.Unreachable, pop.LastError = p.unreachable != "" && c.done > 0, c.lastError
		resp.POPs = append(resp.POPs, pop)
	}
	f.writeJSON(w, http.StatusOK, resp)
}

func (f *fakeAPI) getSummary(w http.ResponseWriter, r *http.Request) {
	id := strings.TrimSpace(r.URL.Query().Get("req_id"))
	if id == "" {
		f.fail(w, http.StatusBadRequest, "req_id: query parameter is required")
		return
	}
	j, ok := f.jobs[id]
	if !ok {
		f.fail(w, http.StatusNotFound, "job "+id+" not found")
		return
	}
	urls := append([]string{}, j.summaryURLs...)
	for i, u := range j.urls {
		if j.probeFail[i] && j.warming() {
			urls = append(urls, u)
		}
	}
	for i, c := range f.popCounts(j) {
		if c.failed > 0 && j.pops[i].code == j.failPOP {
			urls = append(urls, j.urls[j.failURL])
		}
	}
	pops := append([]string{}, j.sumPOPs...)
	seen := map[int]bool{}
	var reasons popCounts
	for _, c := range f.popCounts(j) {
		for _, u := range c.notCachedURLs {
			seen[u] = true
		}
		for _, r := range c.reasons {
			reasons.countReason(r)
		}
	}
	// Most frequent first, as the server sorts them.
	slices.SortStableFunc(reasons.reasons, func(a, b client.NotCachedReason) int {
		return cmp.Or(cmp.Compare(b.Count, a.Count), strings.Compare(a.Reason, b.Reason))
	})
	notCached := []string{}
	for i, u := range j.urls {
		if seen[i] {
			notCached = append(notCached, u)
		}
	}
	warnings := []string{}
	if j.status != "CREATED" && j.warming() {
		warnings = append(warnings, j.warnings...)
	}
	f.writeJSON(w, http.StatusOK, client.SummaryResponse{
		RequestID: id, FailurePOPs: pops, FailureURLs: urls, FailurePOPURLsReport: f.reportURL(r, id),
		NotCachedURLs: notCached, NotCachedReasons: append([]client.NotCachedReason{}, reasons.reasons...), Warnings: warnings, Timestamp: stamp(f.now), CreatedAt: stamp(j.created),
		LastUpdateTime: stamp(j.updated), Status: j.status, Message: j.message,
	})
}

func (f *fakeAPI) getReport(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	id, ok := strings.CutSuffix(r.PathValue("file"), ".csv")
	j, found := f.jobs[id]
	if !ok || !found {
		f.fail(w, http.StatusNotFound, "no such report")
		return
	}
	// The link is signed: it must work without the key, and the dashboard
	// must not add the key to it.
	if r.URL.Query().Get("token") != "tok-"+id {
		f.fail(w, http.StatusForbidden, "invalid API key")
		return
	}
	if r.Header.Get("x-api-key") != "" || strings.Contains(r.URL.RawQuery, f.key) {
		f.t.Errorf("report request carries the API key: %s", r.URL)
	}
	f.reports = append(f.reports, r.URL.RequestURI())
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="prewarm-%s.csv"`, id))
	fmt.Fprintln(w, "pop,url,status_code,error,attempts,edge_ip,cache_status,served_by,bytes,ttfb_ms,duration_ms,ok,at")
	if j.failPOP != "" {
		fmt.Fprintf(w, "%s,%s,404,HTTP 404,1,18.64.10.20,Error from cloudfront,,0,12.4,12.9,false,%s\n", j.failPOP, j.urls[j.failURL], stamp(f.now))
	}
}

// decode reads a request's JSON body into v and keeps it in bodies; a body
// that does not decode is answered 400.
func (f *fakeAPI) decode(w http.ResponseWriter, r *http.Request, bodies *[]json.RawMessage, v any) bool {
	var raw json.RawMessage
	if err := json.NewDecoder(r.Body).Decode(&raw); err != nil {
		f.fail(w, http.StatusBadRequest, "body: malformed JSON")
		return false
	}
	*bodies = append(*bodies, raw)
	if err := json.Unmarshal(raw, v); err != nil {
		f.fail(w, http.StatusBadRequest, "body: "+err.Error())
		return false
	}
	return true
}

func (f *fakeAPI) postPrewarm(w http.ResponseWriter, r *http.Request) {
	var req struct {
		client.JobRequest
		DryRun bool `json:"dry_run"`
	}
	var bodies []json.RawMessage
	ok := f.decode(w, r, &bodies, &req)
	if req.DryRun {
		f.dryRuns = append(f.dryRuns, bodies...)
	} else {
		f.submits = append(f.submits, bodies...)
	}
	if ok && f.checkJob(w, &req.JobRequest) {
		if req.DryRun {
			f.writeJSON(w, http.StatusOK, f.dryRun(&req.JobRequest))
		} else {
			f.startJob(w, &req.JobRequest)
		}
	}
}

// cloudFrontPOP is the first CloudFront POP a job of these POP codes
// reaches (the defaults are CloudFront's), or "" when all are edges of an
// edges file.
func cloudFrontPOP(pops []string) string {
	if len(pops) == 0 {
		return "IAD89-P1"
	}
	for _, p := range pops {
		if cloudFrontCode.MatchString(p) {
			return p
		}
	}
	return ""
}

var cloudFrontCode = regexp.MustCompile(`^[A-Z]{3}[0-9]+-[A-Z][0-9]+$`)

// checkJob refuses a request as the server does, naming the field at
// fault, and fills in the defaults.
func (f *fakeAPI) checkJob(w http.ResponseWriter, req *client.JobRequest) bool {
	bad := slices.DeleteFunc(slices.Clone(req.URLs), isWebURL)
	switch {
	case len(req.URLs) == 0:
		f.fail(w, http.StatusBadRequest, "url_list: is required")
		return false
	case len(bad) > 0:
		f.writeJSON(w, http.StatusBadRequest, client.SubmitResponse{Status: "Failed", ErrorMessage: "Invalid URLs",
			ErrorURLs: bad, Timestamp: stamp(f.now)})
		return false
	case req.CFDomain == "" && cloudFrontPOP(req.POPs) != "":
		f.fail(w, http.StatusBadRequest, "cf_domain: is required to reach CloudFront POPs such as "+cloudFrontPOP(req.POPs)+
			" (the distribution's domain, e.g. d111111abcdef8.cloudfront.net)")
		return false
	case req.MaxConcurrency != nil && *req.MaxConcurrency < 1:
		f.fail(w, http.StatusBadRequest, fmt.Sprintf("max_concurrency: %d is outside 1..100000 (leave it out for no limit)", *req.MaxConcurrency))
		return false
	case req.MaxRPS != nil && !(*req.MaxRPS > 0):
		f.fail(w, http.StatusBadRequest, fmt.Sprintf("max_rps: %v is outside (0, 1000000] (leave it out for no limit)", *req.MaxRPS))
		return false
	case !slices.Contains([]string{"", "low", "normal", "high"}, req.Priority):
		f.fail(w, http.StatusBadRequest, fmt.Sprintf("priority: %q is not one of low, normal, high", req.Priority))
		return false
	case len(req.Name) > 200:
		f.fail(w, http.StatusBadRequest, fmt.Sprintf("name: %d bytes; the limit is 200", len(req.Name)))
		return false
	case strings.ContainsFunc(req.Name, func(r rune) bool { return r < ' ' || r == 0x7f }):
		f.fail(w, http.StatusBadRequest, "name: must be one line of printable text")
		return false
	}
	if len(req.POPs) == 0 {
		req.POPs = []string{"IAD89-P1", "FRA60-P1", "NRT57-P3"}
	}
	return true
}

// resolve is the job's POPs, in tiers unless it warms every POP at once.
func resolve(req *client.JobRequest) []fakePOP {
	pops := popsFor(req.POPs...)
	if req.TierFirst == nil || *req.TierFirst {
		pops = tiered(pops)
	}
	return pops
}

// dryRun plans a job as the server does: every URL is 37 MiB but those
// whose path says "missing", which answer 404; nothing is recorded.
func (f *fakeAPI) dryRun(req *client.JobRequest) client.DryRunResponse {
	const size = 37 << 20
	d := client.DryRunResponse{Status: "Success", DryRun: true, Timestamp: stamp(f.now), URLCount: len(req.URLs),
		POPs: []client.DryRunPOP{}, FailedURLs: []string{}, Notes: []string{}}
	var usable, top int64
	for _, p := range resolve(req) {
		d.POPs = append(d.POPs, client.DryRunPOP{Code: p.code, Addresses: p.addrs, Error: p.err, After: p.after})
		if p.err == "" {
			usable++
			if p.after == "" {
				top++
			}
		}
	}
	for _, u := range req.URLs {
		if strings.Contains(u, "missing") {
			d.FailedURLs = append(d.FailedURLs, u)
		}
	}
	variants := int64(max(len(req.Encodings), 1))
	okURLs := int64(len(req.URLs) - len(d.FailedURLs))
	d.TotalCount = int64(len(req.URLs)) * usable * variants
	d.TotalSize = okURLs * size * usable * variants
	d.EstimatedEdgeBytes = d.TotalSize
	d.EstimatedOriginFetches = okURLs * top * variants
	if len(req.Expand) > 0 {
		d.Notes = append(d.Notes, "expand is not applied in a dry run: its documents are read through a POP")
	}
	if usable < int64(len(d.POPs)) {
		d.Notes = append(d.Notes, fmt.Sprintf("%d of %d POPs cannot be used; the totals leave them out", int64(len(d.POPs))-usable, len(d.POPs)))
	}
	return d
}

func (f *fakeAPI) startJob(w http.ResponseWriter, req *client.JobRequest) {
	timeout := 30.0
	if req.Timeout != nil {
		timeout = *req.Timeout
	}
	f.nextID++
	id := fmt.Sprintf("d4e5f6a7-0000-4000-8000-%012d", f.nextID)
	j := &fakeJob{
		id: id, status: "IN_PROGRESS", domain: req.CFDomain, targetType: req.TargetType, urls: req.URLs, pops: resolve(req),
		name: strings.TrimSpace(req.Name), priority: req.Priority,
		created: f.now, updated: f.now, timeoutAt: f.now.Add(time.Duration(timeout * float64(time.Minute))),
		steps: 6, failPOP: req.POPs[len(req.POPs)-1], failURL: len(req.URLs) - 1, avgSize: 37 << 20,
		popSpeeds: []float64{1.5, 1.0, 1.2, 0.9},
		timeout:   timeout, headers: req.Header, needInvalidate: req.NeedInvalidate, distributionID: req.DistributionID,
		noVerify: req.Verify != nil && !*req.Verify, encodings: req.Encodings, expand: req.Expand,
		noTierFirst: req.TierFirst != nil && !*req.TierFirst,
		// The first POP is steered elsewhere for the third URL: fetched
		// fine, never cached there.
		notCachedPOP: req.POPs[0], notCached: map[int]bool{2: true}, notCachedWhy: []string{"Cache-Control: private"},
		warnings: []string{"responses vary on Accept-Language; the job sends none, so only viewers without it get the warmed copy"},
	}
	if req.MaxConcurrency != nil {
		j.maxConcurrency = *req.MaxConcurrency
		j.waiting = fmt.Sprintf("the job: this agent's share of its budget is in use (%d in flight here; the budget: at most %d in flight)", j.maxConcurrency, j.maxConcurrency)
	}
	if req.MaxRPS != nil {
		j.maxRPS = *req.MaxRPS
	}
	if len(j.expand) > 0 {
		j.preSteps = append(j.preSteps, fmt.Sprintf("expanding %d URLs (%s)", len(j.urls), strings.Join(j.expand, ", ")))
	}
	if j.needInvalidate {
		dist := j.distributionID
		if dist == "" {
			dist = "E1FAKEDISTRO01"
		}
		j.preSteps = append(j.preSteps, fmt.Sprintf("invalidating %d URLs at %d POPs before warming", len(j.urls), len(j.pops)))
		j.invalidNote = fmt.Sprintf("CloudFront invalidation I2J0I21PCUYOIK of %d paths on distribution %s completed", len(j.urls), dist)
	}
	f.jobs[id] = j
	f.order = append([]string{id}, f.order...)
	f.writeJSON(w, http.StatusOK, client.SubmitResponse{Status: "Success", ErrorURLs: []string{}, RequestID: id,
		Timestamp: stamp(f.now), TimeoutAt: stamp(j.timeoutAt)})
}

func isWebURL(u string) bool {
	return strings.HasPrefix(u, "https://") || strings.HasPrefix(u, "http://")
}

func (f *fakeAPI) stopJob(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	j, ok := f.jobs[id]
	if !ok {
		f.fail(w, http.StatusNotFound, "job "+id+" not found")
		return
	}
	f.stops = append(f.stops, id)
	if j.status != "IN_PROGRESS" && j.status != "CREATED" {
		f.fail(w, http.StatusConflict, "job "+id+" is already "+j.status)
		return
	}
	j.status, j.message, j.updated = "STOPPED", "stopped by request", f.now
	f.writeJSON(w, http.StatusOK, client.InstancesResponse{Status: "success", Message: "job " + id + " stopped", Timestamp: stamp(f.now)})
}

func (f *fakeAPI) getInstances(w http.ResponseWriter, r *http.Request) {
	resp := client.InstancesStatus{
		InstancesResponse: client.InstancesResponse{Status: "success", Timestamp: stamp(f.now), Message: "query success"},
		DesiredCapacity:   f.desired, Agents: []client.Agent{},
	}
	for _, a := range f.agents {
		state := "standby"
		if a.active {
			state = "active"
		}
		resp.Agents = append(resp.Agents, client.Agent{ID: a.id, Name: a.name, Host: a.host, Concurrency: a.concurrency,
			Busy: a.busy, State: state, LastHeartbeat: stamp(f.now.Add(-a.heartbeat))})
	}
	f.writeJSON(w, http.StatusOK, resp)
}

func (f *fakeAPI) postInstances(w http.ResponseWriter, r *http.Request) {
	// A pointer, to tell a missing DesiredCapacity from 0 as the server does.
	var req struct{ DesiredCapacity *int }
	if !f.decode(w, r, &f.capacity, &req) {
		return
	}
	if req.DesiredCapacity == nil {
		f.fail(w, http.StatusBadRequest, "DesiredCapacity: is required (0..300)")
		return
	}
	f.desired = *req.DesiredCapacity
	for i := range f.agents {
		f.agents[i].active = i < f.desired
	}
	f.writeJSON(w, http.StatusOK, client.InstancesResponse{Status: "success", Timestamp: stamp(f.now),
		Message: fmt.Sprintf("desired capacity set to %d", f.desired)})
}
