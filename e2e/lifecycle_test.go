package e2e

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"prewarm/internal/minicdn"
)

// slowAfterFirst serves /lag/… at once the first time a path is asked for
// (the size probe, through one POP) and after delay every later time (the
// warm through the other POPs), honouring cancellation.
func slowAfterFirst(cdn *minicdn.CDN, delay time.Duration) {
	var mu sync.Mutex
	seen := map[string]int{}
	cdn.Origin.HandleFunc("/lag/", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen[r.URL.Path]++
		n := seen[r.URL.Path]
		mu.Unlock()
		if n > 1 {
			select {
			case <-time.After(delay):
			case <-r.Context().Done():
				return
			}
		}
		w.Header().Set("Cache-Control", "public, max-age=3600")
		fmt.Fprint(w, strings.Repeat("z", 2048))
	})
}

func twoPOPs(t *testing.T) *minicdn.CDN {
	return minicdn.StartT(t, minicdn.Options{POPs: []minicdn.POPSpec{{Code: "AAA1-P1"}, {Code: "BBB1-P1"}}})
}

func job(cdn *minicdn.CDN, urls []string, extra map[string]any) map[string]any {
	j := map[string]any{"url_list": urls, "cf_domain": cdn.CFDomain, "pops": []string{"AAA1-P1", "BBB1-P1"}}
	for k, v := range extra {
		j[k] = v
	}
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
	srv := startServe(t, "", serveArgs(cdn)...)
	slow := srv.submit(job(cdn, urlsOf(cdn, "/lag/t", 3), map[string]any{"timeout": 0.05})) // 3 s
	fast := srv.submit(job(cdn, urlsOf(cdn, "/fast/", 20), map[string]any{"timeout": 5}))
	start := time.Now()
	p := srv.wait(slow, 20*time.Second, "TIMEOUT", "FINISHED", "FAILED", "STOPPED")
	took := time.Since(start)
	if p["status"] != "TIMEOUT" || num(p["download_count"]) >= num(p["total_count"]) || !strings.Contains(p["message"].(string), "timed out") {
		t.Fatalf("slow job: %v", p)
	}
	if took > 10*time.Second {
		t.Errorf("timeout of 3 s took effect after %v", took)
	}
	if q := srv.wait(fast, 30*time.Second, "FINISHED", "TIMEOUT", "FAILED"); q["status"] != "FINISHED" || num(q["failed_count"]) != 0 {
		t.Fatalf("the other job: %v", q)
	}
	// The aborted fetches free their slots at once, not after a minute.
	waitIdle(t, srv, 5*time.Second)
	after := srv.progress(slow)
	time.Sleep(500 * time.Millisecond)
	if again := srv.progress(slow); num(again["download_count"]) != num(after["download_count"]) {
		t.Fatalf("a timed-out job kept counting: %v → %v", after["download_count"], again["download_count"])
	}
}

// waitIdle waits until no agent has a fetch in flight.
func waitIdle(t *testing.T, srv *server, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		_, inst := srv.call("GET", "/instances", nil)
		busy := int64(0)
		for _, a := range inst["agents"].([]any) {
			busy += num(a.(map[string]any)["busy"])
		}
		if busy == 0 {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("fetches still in flight after %v", timeout)
}

// force_stop: true stops that one job at once; force_stop: false stops
// nothing; the other job is untouched.
func TestForceStopStopsOnlyThatJob(t *testing.T) {
	t.Parallel()
	cdn := twoPOPs(t)
	slowAfterFirst(cdn, time.Minute)
	srv := startServe(t, "", serveArgs(cdn)...)
	victim := srv.submit(job(cdn, urlsOf(cdn, "/lag/v", 4), nil))
	other := srv.submit(job(cdn, urlsOf(cdn, "/other/", 30), nil))
	srv.wait(victim, 10*time.Second, "IN_PROGRESS")
	waitFor(t, 10*time.Second, func() bool { return num(srv.progress(victim)["in_progress_task_count"]) > 0 })

	code, out := srv.call("POST", "/instances", map[string]any{"DesiredCapacity": 1, "req_id": victim, "force_stop": false})
	if code != 200 {
		t.Fatalf("force_stop false: %d %v", code, out)
	}
	if p := srv.progress(victim); p["status"] != "IN_PROGRESS" {
		t.Fatalf("force_stop: false stopped the job: %v", p)
	}
	stopAt := time.Now()
	code, out = srv.call("POST", "/instances", map[string]any{"DesiredCapacity": 1, "req_id": victim, "force_stop": true})
	if code != 200 || out["status"] != "success" {
		t.Fatalf("force stop: %d %v", code, out)
	}
	p := srv.progress(victim)
	if p["status"] != "STOPPED" || num(p["in_progress_task_count"]) != 0 || num(p["available_task_count"]) != 0 {
		t.Fatalf("stopped job: %v", p)
	}
	waitIdle(t, srv, 3*time.Second)
	t.Logf("stop to idle: %v", time.Since(stopAt))
	if q := srv.wait(other, 30*time.Second, "FINISHED", "STOPPED", "FAILED"); q["status"] != "FINISHED" || num(q["failed_count"]) != 0 {
		t.Fatalf("the other job: %v", q)
	}
	// Stopping it again is a conflict; an unknown job is not found.
	if code, out := srv.call("POST", "/instances", map[string]any{"DesiredCapacity": 1, "req_id": victim, "force_stop": true}); code != 409 {
		t.Fatalf("second stop: %d %v", code, out)
	}
	if code, out := srv.call("POST", "/instances", map[string]any{"DesiredCapacity": 1, "req_id": "nope", "force_stop": true}); code != 404 {
		t.Fatalf("unknown job: %d %v", code, out)
	}
}

func waitFor(t *testing.T, timeout time.Duration, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if ok() {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("condition not met after %v", timeout)
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
		time.Sleep(15 * time.Millisecond)
		w.Header().Set("Cache-Control", "public, max-age=3600")
		fmt.Fprint(w, "k")
	})
	srv := startServe(t, "", append(serveArgs(cdn), "--concurrency", "4")...)
	urls := urlsOf(cdn, "/k/", 300)
	id := srv.submit(job(cdn, urls, map[string]any{"timeout": 10}))
	waitFor(t, 30*time.Second, func() bool { return num(srv.progress(id)["download_count"]) >= 150 })
	srv.stop(syscall.SIGKILL)
	killedAt := time.Now()
	srv.restart()
	p := srv.wait(id, 60*time.Second, "FINISHED", "FAILED", "TIMEOUT")
	if p["status"] != "FINISHED" || num(p["download_count"]) != 600 || num(p["total_count"]) != 600 || num(p["failed_count"]) != 0 {
		t.Fatalf("after restart: %v", p)
	}
	t.Logf("killed at %d/600 tasks; finished %v after the restart", 150, time.Since(killedAt))
	_, sum := srv.call("GET", "/summary?req_id="+id, nil)
	code, body := fetchBody(t, sum["failure_pop_urls_report"].(string)+"&tasks=all")
	if code != 200 {
		t.Fatal(code)
	}
	rows := strings.Split(strings.TrimSpace(body), "\n")[1:]
	seen := map[string]bool{}
	for _, r := range rows {
		f := strings.SplitN(r, ",", 3)
		key := f[0] + " " + f[1]
		if seen[key] {
			t.Fatalf("task recorded twice: %s", key)
		}
		seen[key] = true
	}
	if len(rows) != 600 {
		t.Fatalf("%d task rows, want 600", len(rows))
	}
	checkHits(t, cdn, cdn.POPs, urls)
}

// DesiredCapacity 0 pauses every agent; raising it resumes the work.
func TestCapacityZeroPauses(t *testing.T) {
	t.Parallel()
	cdn := twoPOPs(t)
	srv := startServe(t, "", serveArgs(cdn)...)
	code, out := srv.call("POST", "/instances", map[string]any{"DesiredCapacity": 0})
	if code != 200 {
		t.Fatalf("%d %v", code, out)
	}
	setAt := out["timestamp"].(string)
	waitFor(t, 5*time.Second, func() bool { // the agent reported standby after the change
		_, inst := srv.call("GET", "/instances", nil)
		a := inst["agents"].([]any)[0].(map[string]any)
		return num(inst["desiredcapacity"]) == 0 && a["state"] == "standby" && a["last_heartbeat"].(string) > setAt
	})
	id := srv.submit(job(cdn, urlsOf(cdn, "/p/", 10), nil))
	time.Sleep(2 * time.Second)
	if p := srv.progress(id); num(p["download_count"]) != 0 || num(p["total_count"]) != 20 {
		t.Fatalf("paused fleet did work: %v", p)
	}
	if code, out := srv.call("POST", "/prewarm", job(cdn, urlsOf(cdn, "/q/", 1), map[string]any{"instance_count": 1})); code != 200 {
		t.Fatalf("%d %v", code, out)
	}
	if p := srv.wait(id, 20*time.Second, "FINISHED"); num(p["download_count"]) != 20 {
		t.Fatalf("%v", p)
	}
	_, inst := srv.call("GET", "/instances", nil)
	if num(inst["desiredcapacity"]) != 1 {
		t.Fatalf("instance_count did not set the capacity: %v", inst)
	}
}
