package e2e

import (
	"fmt"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"prewarm/internal/minicdn"
	"prewarm/internal/store/pgtest"
)

// slowObjects serves /k/… after delay, so a job lasts long enough to be
// interrupted.
func slowObjects(cdn *minicdn.CDN, delay time.Duration) {
	cdn.Origin.HandleFunc("/k/", func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(delay)
		w.Header().Set("Cache-Control", "public, max-age=3600")
		fmt.Fprint(w, "k")
	})
}

// agentsOf lists the live agents by name.
func agentsOf(srv *server) map[string]map[string]any {
	_, inst := srv.call("GET", "/instances", nil)
	out := map[string]map[string]any{}
	for _, a := range inst["agents"].([]any) {
		m := a.(map[string]any)
		out[m["name"].(string)] = m
	}
	return out
}

// checkOnce reads the full report and requires one row per task.
func checkOnce(t *testing.T, srv *server, id string, want int) {
	t.Helper()
	_, sum := srv.call("GET", "/summary?req_id="+id, nil)
	code, body := fetchBody(t, sum["failure_pop_urls_report"].(string)+"&tasks=all")
	if code != 200 {
		t.Fatalf("report: %d", code)
	}
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

// serve --agents 0 with two agent processes; the active one is killed
// mid-job: the standby takes over, the dead agent's batches return to the
// queue within the agent timeout, and every task is counted once.
func TestFleetAgentKilledMidJob(t *testing.T) {
	t.Parallel()
	cdn := twoPOPs(t)
	slowObjects(cdn, 10*time.Millisecond)
	db := pgtest.Shared(t).DatabaseT(t)
	fleetArgs := append(serveArgs(cdn), "--database", db, "--agent-timeout", "3s")
	srv := startServe(t, "", append(fleetArgs, "--agents", "0")...)
	agentArgs := append(serveArgs(cdn), "--concurrency", "4", "--agent-timeout", "3s")
	first := startAgent(t, db, "first", agentArgs...)
	waitFor(t, 20*time.Second, func() bool { return agentsOf(srv)["first"] != nil })
	startAgent(t, db, "second", agentArgs...)
	waitFor(t, 20*time.Second, func() bool { return agentsOf(srv)["second"] != nil })
	if code, out := srv.call("POST", "/instances", map[string]any{"DesiredCapacity": 1}); code != 200 {
		t.Fatalf("%d %v", code, out)
	}
	waitFor(t, 10*time.Second, func() bool {
		a := agentsOf(srv)
		return a["first"]["state"] == "active" && a["second"]["state"] == "standby"
	})

	urls := urlsOf(cdn, "/k/", 400)
	id := srv.submit(job(cdn, urls, map[string]any{"timeout": 10}))
	waitFor(t, 60*time.Second, func() bool { return num(srv.progress(id)["download_count"]) >= 200 })
	first.stop(syscall.SIGKILL)
	killed := time.Now()
	var tookOver, reaped time.Duration
	waitFor(t, 30*time.Second, func() bool {
		a := agentsOf(srv)
		if tookOver == 0 && a["second"]["state"] == "active" {
			tookOver = time.Since(killed)
		}
		if reaped == 0 && a["first"] == nil {
			reaped = time.Since(killed)
		}
		return tookOver > 0 && reaped > 0
	})
	p := srv.wait(id, 120*time.Second, "FINISHED", "FAILED", "TIMEOUT")
	t.Logf("agent killed at %d/800 tasks: standby active after %v, dead agent's work requeued after %v, job finished %v after the kill",
		200, tookOver.Round(time.Millisecond), reaped.Round(time.Millisecond), time.Since(killed).Round(time.Millisecond))
	if p["status"] != "FINISHED" || num(p["download_count"]) != 800 || num(p["total_count"]) != 800 || num(p["failed_count"]) != 0 {
		t.Fatalf("after the kill: %v", p)
	}
	checkOnce(t, srv, id, 800)
	checkHits(t, cdn, cdn.POPs, urls)
}

// Two serve nodes on one database report the same job the same way, and a
// force stop decided on one aborts the fetches running in an agent process.
func TestFleetTwoServesAndRemoteStop(t *testing.T) {
	t.Parallel()
	cdn := twoPOPs(t)
	slowAfterFirst(cdn, time.Minute)
	db := pgtest.Shared(t).DatabaseT(t)
	one := startServe(t, "", append(serveArgs(cdn), "--database", db, "--agents", "0")...)
	two := startServe(t, "", append(serveArgs(cdn), "--database", db, "--agents", "0")...)
	startAgent(t, db, "remote", serveArgs(cdn)...)
	id := one.submit(job(cdn, urlsOf(cdn, "/lag/r", 4), nil))
	waitFor(t, 20*time.Second, func() bool {
		a := agentsOf(two)["remote"]
		return a != nil && num(a["busy"]) > 0
	})
	p1, p2 := one.progress(id), two.progress(id)
	for _, k := range []string{"request_id", "status", "total_count", "created_at", "total_size"} {
		if fmt.Sprint(p1[k]) != fmt.Sprint(p2[k]) {
			t.Fatalf("%s differs between nodes: %v vs %v", k, p1[k], p2[k])
		}
	}
	stopAt := time.Now()
	if code, out := two.call("POST", "/instances", map[string]any{"DesiredCapacity": 1, "req_id": id, "force_stop": true}); code != 200 {
		t.Fatalf("%d %v", code, out)
	}
	// Node one answers from the database, or, while its read is slower
	// than 20 ms, from its snapshot of at most a second ago.
	waitFor(t, 2*time.Second, func() bool { return one.progress(id)["status"] == "STOPPED" })
	waitFor(t, 10*time.Second, func() bool { return num(agentsOf(one)["remote"]["busy"]) == 0 })
	t.Logf("stop on node two to idle agent process: %v", time.Since(stopAt).Round(time.Millisecond))
}

// PostgreSQL restarted mid-job: the API and the agents reconnect and the job
// finishes, every task counted once.
func TestFleetSurvivesPostgresRestart(t *testing.T) {
	t.Parallel()
	cdn := twoPOPs(t)
	slowObjects(cdn, 10*time.Millisecond)
	cluster := pgtest.StartT(t)
	db := cluster.DatabaseT(t)
	srv := startServe(t, "", append(serveArgs(cdn), "--database", db, "--agents", "0")...)
	startAgent(t, db, "survivor", append(serveArgs(cdn), "--concurrency", "4")...)
	waitFor(t, 20*time.Second, func() bool { return agentsOf(srv)["survivor"] != nil })
	urls := urlsOf(cdn, "/k/", 300)
	id := srv.submit(job(cdn, urls, map[string]any{"timeout": 10}))
	waitFor(t, 60*time.Second, func() bool { return num(srv.progress(id)["download_count"]) >= 100 })
	if err := cluster.Stop(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Second)
	if err := cluster.Restart(); err != nil {
		t.Fatal(err)
	}
	var p map[string]any
	waitFor(t, 120*time.Second, func() bool {
		code, out := srv.call("GET", "/prewarm?req_id="+id, nil)
		p = out
		return code == 200 && out["status"] == "FINISHED"
	})
	if num(p["download_count"]) != 600 || num(p["failed_count"]) != 0 {
		t.Fatalf("after the restart: %v", p)
	}
	checkOnce(t, srv, id, 600)
}
