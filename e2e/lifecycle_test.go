package e2e

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"prewarm/client"
	"prewarm/internal/minicdn"
)

// respondAfter holds an origin's answer for delay, as a slow origin would,
// and reports false when the request was given up meanwhile (a stopped
// job, a killed process), so that nothing is left to wait.
func respondAfter(r *http.Request, delay time.Duration) bool {
	select {
	case <-time.After(delay):
		return true
	case <-r.Context().Done():
		return false
	}
}

// cacheable answers body, cacheable for an hour, after delay (nothing when
// the request is given up first).
func cacheable(w http.ResponseWriter, r *http.Request, delay time.Duration, body string) {
	if !respondAfter(r, delay) {
		return
	}
	w.Header().Set("Cache-Control", "public, max-age=3600")
	fmt.Fprint(w, body)
}

// slowAfterFirst serves /lag/… at once the first time a path is asked for
// (the size probe, through one POP) and after delay every later time (the
// warm through the other POPs).
func slowAfterFirst(cdn *minicdn.CDN, delay time.Duration) {
	var mu sync.Mutex
	seen := map[string]int{}
	cdn.Origin.HandleFunc("/lag/", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen[r.URL.Path]++
		n := seen[r.URL.Path]
		mu.Unlock()
		d := delay
		if n == 1 {
			d = 0
		}
		cacheable(w, r, d, strings.Repeat("z", 2048))
	})
}

func twoPOPs(t *testing.T) *minicdn.CDN {
	return minicdn.StartT(t, minicdn.Options{POPs: []minicdn.POPSpec{{Code: "AAA1-P1"}, {Code: "BBB1-P1"}}})
}

// job is a job of urls through the two POPs of twoPOPs.
func job(cdn *minicdn.CDN, urls []string) client.JobRequest {
	return client.JobRequest{URLs: urls, CFDomain: cdn.CFDomain, POPs: []string{"AAA1-P1", "BBB1-P1"}}
}

// withTimeout is j with a timeout of minutes.
func withTimeout(j client.JobRequest, minutes float64) client.JobRequest {
	j.Timeout = &minutes
	return j
}

func urlsOf(cdn *minicdn.CDN, prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = cdn.URL(fmt.Sprintf("%s%d", prefix, i))
	}
	return out
}

// A job's timeout ends that job only, aborting its fetches; another job
// running beside it finishes.
func TestTimeoutEndsOnlyItsJob(t *testing.T) {
	t.Parallel()
	cdn := twoPOPs(t)
	slowAfterFirst(cdn, time.Minute)
	srv := serveOn(t, cdn)
	slow := srv.submit(withTimeout(job(cdn, urlsOf(cdn, "/lag/t", 3)), 0.05)) // 3 s
	fast := srv.submit(withTimeout(job(cdn, urlsOf(cdn, "/fast/", 20)), 5))
	start := time.Now()
	p := srv.wait(slow, 20*time.Second)
	took := time.Since(start)
	if p.Status != client.StatusTimeout || p.DownloadCount >= p.TotalCount || !strings.Contains(p.Message, "timed out") {
		t.Fatalf("slow job: %+v", p)
	}
	if took > 10*time.Second {
		t.Errorf("timeout of 3 s took effect after %v", took)
	}
	if q := srv.wait(fast, 30*time.Second); q.Status != client.StatusFinished || q.FailedCount != 0 {
		t.Fatalf("the other job: %+v", q)
	}
	// The aborted fetches free their slots at once, not after a minute.
	waitIdle(t, srv, 5*time.Second)
	after := srv.progress(slow)
	// proves a timed-out job's download count does not move in 0.5 s.
	time.Sleep(500 * time.Millisecond)
	if again := srv.progress(slow); again.DownloadCount != after.DownloadCount {
		t.Fatalf("a timed-out job kept counting: %d → %d", after.DownloadCount, again.DownloadCount)
	}
}

// busy is how many fetches the live agents have in flight.
func busy(srv *server) (n int) {
	for _, a := range srv.instances().Agents {
		n += a.Busy
	}
	return n
}

// waitIdle waits until no agent has a fetch in flight.
func waitIdle(t *testing.T, srv *server, timeout time.Duration) {
	t.Helper()
	waitFor(t, timeout, func() bool { return busy(srv) == 0 })
}

// force_stop: true stops that one job at once; force_stop: false stops
// nothing; the other job is untouched.
func TestForceStopStopsOnlyThatJob(t *testing.T) {
	t.Parallel()
	cdn := twoPOPs(t)
	slowAfterFirst(cdn, time.Minute)
	srv := serveOn(t, cdn)
	victim := srv.submit(job(cdn, urlsOf(cdn, "/lag/v", 4)))
	other := srv.submit(job(cdn, urlsOf(cdn, "/other/", 30)))
	if p := srv.waitUntil(victim, 10*time.Second, func(p *client.ProgressResponse) bool { return p.InProgressTaskCount > 0 }); p.Ended() {
		t.Fatalf("the job to stop ended on its own: %+v", p)
	}

	// The key present and false: the client would leave it out, so this
	// one goes over the wire as it is.
	code, out := srv.rawJSON("POST", "/instances", map[string]any{"DesiredCapacity": 1, "req_id": victim, "force_stop": false})
	if code != 200 {
		t.Fatalf("force_stop false: %d %v", code, out)
	}
	if p := srv.progress(victim); p.Status != client.StatusInProgress {
		t.Fatalf("force_stop: false stopped the job: %+v", p)
	}
	stopAt := time.Now()
	stop := client.InstancesRequest{DesiredCapacity: 1, ReqID: victim, ForceStop: true}
	if ans := srv.setInstances(stop); ans.Status != "success" {
		t.Fatalf("force stop: %+v", ans)
	}
	p := srv.progress(victim)
	if p.Status != client.StatusStopped || p.InProgressTaskCount != 0 || p.AvailableTaskCount != 0 {
		t.Fatalf("stopped job: %+v", p)
	}
	waitIdle(t, srv, 3*time.Second)
	t.Logf("stop to idle: %v", time.Since(stopAt))
	if q := srv.wait(other, 30*time.Second); q.Status != client.StatusFinished || q.FailedCount != 0 {
		t.Fatalf("the other job: %+v", q)
	}
	// Stopping it again is a conflict; an unknown job is not found.
	if _, err := srv.c.SetInstances(t.Context(), stop); statusOf(err) != 409 {
		t.Fatalf("second stop: %v", err)
	}
	stop.ReqID = "nope"
	if _, err := srv.c.SetInstances(t.Context(), stop); statusOf(err) != 404 {
		t.Fatalf("unknown job: %v", err)
	}
}

// kill -9 of serve mid-job, then a restart on the same data directory:
// the job resumes and every task is counted exactly once.
func TestKillNineResumesAndCountsOnce(t *testing.T) {
	t.Parallel()
	cdn := twoPOPs(t)
	var mu sync.Mutex
	gets := map[string]int{}
	cdn.Origin.HandleFunc("/k/", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		gets[r.URL.Path]++
		mu.Unlock()
		cacheable(w, r, 15*time.Millisecond, "k")
	})
	srv := serveOn(t, cdn, "--concurrency", "4")
	urls := urlsOf(cdn, "/k/", 300)
	id := srv.submit(withTimeout(job(cdn, urls), 10))
	srv.waitUntil(id, 30*time.Second, func(p *client.ProgressResponse) bool { return p.DownloadCount >= 150 })
	srv.Kill()
	killedAt := time.Now()
	srv.restart()
	p := srv.wait(id, 60*time.Second)
	if p.Status != client.StatusFinished || p.DownloadCount != 600 || p.TotalCount != 600 || p.FailedCount != 0 {
		t.Fatalf("after restart: %+v", p)
	}
	t.Logf("killed at %d/600 tasks; finished %v after the restart", 150, time.Since(killedAt))
	checkOnce(t, srv, id, 600)
	checkHits(t, cdn, cdn.POPs, urls)
}

// checkOnce reads the full report and requires one row per task.
func checkOnce(t *testing.T, srv *server, id string, want int) {
	t.Helper()
	body := srv.report(srv.summary(id).FailurePOPURLsReport, client.ReportOptions{AllTasks: true})
	seen := map[string]bool{}
	rows := strings.Split(strings.TrimSpace(body), "\n")[1:]
	for _, r := range rows {
		f := strings.SplitN(r, ",", 3)
		if seen[f[0]+" "+f[1]] {
			t.Fatalf("task recorded twice: %s %s", f[0], f[1])
		}
		seen[f[0]+" "+f[1]] = true
	}
	if len(rows) != want {
		t.Fatalf("%d task rows, want %d", len(rows), want)
	}
}

// DesiredCapacity 0 pauses every agent; raising it resumes the work.
func TestCapacityZeroPauses(t *testing.T) {
	t.Parallel()
	cdn := twoPOPs(t)
	srv := serveOn(t, cdn)
	setAt := srv.setInstances(client.InstancesRequest{DesiredCapacity: 0}).Timestamp
	waitFor(t, 5*time.Second, func() bool { // the agent reported standby after the change
		inst := srv.instances()
		a := inst.Agents[0]
		return inst.DesiredCapacity == 0 && a.State == "standby" && a.LastHeartbeat > setAt
	})
	id := srv.submit(job(cdn, urlsOf(cdn, "/p/", 10)))
	srv.waitUntil(id, 10*time.Second, func(p *client.ProgressResponse) bool { return p.Planned })
	// proves a paused fleet does no work on a planned job in 2 s (time a
	// working fleet would have used).
	time.Sleep(2 * time.Second)
	if p := srv.progress(id); p.DownloadCount != 0 || p.TotalCount != 20 {
		t.Fatalf("paused fleet did work: %+v", p)
	}
	one := job(cdn, urlsOf(cdn, "/q/", 1))
	one.InstanceCount = new(1)
	srv.submit(one)
	if p := srv.wait(id, 20*time.Second); p.Status != client.StatusFinished || p.DownloadCount != 20 {
		t.Fatalf("%+v", p)
	}
	if inst := srv.instances(); inst.DesiredCapacity != 1 {
		t.Fatalf("instance_count did not set the capacity: %+v", inst)
	}
}
