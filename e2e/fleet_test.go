package e2e

import (
	"net/http"
	"testing"
	"time"

	"prewarm/client"
	"prewarm/internal/minicdn"
	"prewarm/internal/store/pgtest"
)

// slowObjects serves /k/… after delay, so a job lasts long enough to be
// interrupted.
func slowObjects(cdn *minicdn.CDN, delay time.Duration) {
	cdn.Origin.HandleFunc("/k/", func(w http.ResponseWriter, r *http.Request) { cacheable(w, r, delay, "k") })
}

// agentsOf lists the live agents by name.
func agentsOf(srv *server) map[string]*client.Agent {
	out := map[string]*client.Agent{}
	for _, a := range srv.instances().Agents {
		out[a.Name] = &a
	}
	return out
}

// stateOf is the state of the agent named name, "" when it is not live.
func stateOf(agents map[string]*client.Agent, name string) string {
	if a := agents[name]; a != nil {
		return a.State
	}
	return ""
}

// reached waits until the job has done at least n tasks.
func reached(n int64) func(*client.ProgressResponse) bool {
	return func(p *client.ProgressResponse) bool { return p.DownloadCount >= n }
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
	srv.setInstances(client.InstancesRequest{DesiredCapacity: 1})
	waitFor(t, 10*time.Second, func() bool {
		a := agentsOf(srv)
		return stateOf(a, "first") == "active" && stateOf(a, "second") == "standby"
	})

	urls := urlsOf(cdn, "/k/", 400)
	id := srv.submit(withTimeout(job(cdn, urls), 10))
	srv.waitUntil(id, 60*time.Second, reached(200))
	first.Kill()
	killed := time.Now()
	var tookOver, reaped time.Duration
	waitFor(t, 30*time.Second, func() bool {
		a := agentsOf(srv)
		if tookOver == 0 && stateOf(a, "second") == "active" {
			tookOver = time.Since(killed)
		}
		if reaped == 0 && a["first"] == nil {
			reaped = time.Since(killed)
		}
		return tookOver > 0 && reaped > 0
	})
	p := srv.wait(id, 120*time.Second)
	t.Logf("agent killed at %d/800 tasks: standby active after %v, dead agent's work requeued after %v, job finished %v after the kill",
		200, tookOver.Round(time.Millisecond), reaped.Round(time.Millisecond), time.Since(killed).Round(time.Millisecond))
	if p.Status != client.StatusFinished || p.DownloadCount != 800 || p.TotalCount != 800 || p.FailedCount != 0 {
		t.Fatalf("after the kill: %+v", p)
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
	id := one.submit(job(cdn, urlsOf(cdn, "/lag/r", 4)))
	waitFor(t, 20*time.Second, func() bool {
		a := agentsOf(two)["remote"]
		return a != nil && a.Busy > 0
	})
	p1, p2 := one.progress(id), two.progress(id)
	type same struct {
		id, status, created string
		total, size         int64
	}
	if a, b := (same{p1.RequestID, p1.Status, p1.CreatedAt, p1.TotalCount, p1.TotalSize}),
		(same{p2.RequestID, p2.Status, p2.CreatedAt, p2.TotalCount, p2.TotalSize}); a != b {
		t.Fatalf("the nodes differ: %+v vs %+v", a, b)
	}
	stopAt := time.Now()
	two.setInstances(client.InstancesRequest{DesiredCapacity: 1, ReqID: id, ForceStop: true})
	// Node one answers from the database, or, while its read is slower
	// than 20 ms, from its snapshot of at most a second ago.
	waitFor(t, 2*time.Second, func() bool { return one.progress(id).Status == client.StatusStopped })
	waitFor(t, 10*time.Second, func() bool {
		a := agentsOf(one)["remote"]
		return a != nil && a.Busy == 0
	})
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
	id := srv.submit(withTimeout(job(cdn, urls), 10))
	srv.waitUntil(id, 60*time.Second, reached(100))
	if err := cluster.Stop(); err != nil {
		t.Fatal(err)
	}
	// The database stays down until the server has noticed.
	waitFor(t, 20*time.Second, func() bool { return srv.c.Health(t.Context()) != nil })
	if err := cluster.Restart(); err != nil {
		t.Fatal(err)
	}
	// Errors while the API reconnects are polled through.
	var p *client.ProgressResponse
	waitFor(t, 120*time.Second, func() bool {
		var err error
		p, err = srv.c.Progress(t.Context(), id)
		return err == nil && p.Ended()
	})
	if p.Status != client.StatusFinished || p.DownloadCount != 600 || p.FailedCount != 0 {
		t.Fatalf("after the restart: %+v", p)
	}
	checkOnce(t, srv, id, 600)
}
