package e2e

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"prewarm/client"
	"prewarm/internal/agent"
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
	one := serveOn(t, cdn, "--database", db, "--agents", "0")
	two := serveOn(t, cdn, "--database", db, "--agents", "0")
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
	srv := serveOn(t, cdn, "--database", db, "--agents", "0")
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

// Agents far from the database: each agent's PostgreSQL connection passes
// through a link adding 20, 100 or 250 ms of round trip. The agent sizes
// itself to it (GET /instances shows its batches and round trip), and
// killed with kill -9 mid-job, another far agent finishes the job with
// every task counted once.
func TestFleetFarAgents(t *testing.T) {
	t.Parallel()
	for _, rtt := range []time.Duration{20 * time.Millisecond, 100 * time.Millisecond, 250 * time.Millisecond} {
		t.Run(rtt.String(), func(t *testing.T) {
			t.Parallel()
			cdn := twoPOPs(t)
			slowObjects(cdn, 10*time.Millisecond)
			db := pgtest.Shared(t).DatabaseT(t)
			u, err := url.Parse(db)
			if err != nil {
				t.Fatal(err)
			}
			link, err := minicdn.StartLink("127.0.0.1", u.Host, rtt)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(link.Close)
			u.Host = link.Addr
			far := u.String()
			srv := serveOn(t, cdn, "--database", db, "--agent-timeout", "3s", "--agents", "0")
			agentArgs := append(serveArgs(cdn), "--concurrency", "8", "--agent-timeout", "3s")
			first := startAgent(t, far, "far-1", agentArgs...)
			waitFor(t, 60*time.Second, func() bool { return stateOf(agentsOf(srv), "far-1") == "active" })
			// It measured about the link's round trip (the proxy adds a
			// little), and works the batches that round trip calls for.
			a := agentsOf(srv)["far-1"]
			// The API gives the round trip to 10 µs: the agent sized itself
			// from the round trip within that of it.
			measured := time.Duration(a.DBRoundTripMS * float64(time.Millisecond))
			lo := agent.BusyBatches(agent.BatchesFor(measured - 10*time.Microsecond))
			hi := agent.BusyBatches(agent.BatchesFor(measured + 10*time.Microsecond))
			if measured < rtt || measured > rtt+50*time.Millisecond || a.Batches < lo || a.Batches > hi {
				t.Errorf("the far agent reports %d batches and a round trip of %v ms; want about %v and %d to %d batches for it",
					a.Batches, a.DBRoundTripMS, rtt, lo, hi)
			}

			urls := urlsOf(cdn, "/k/far-"+rtt.String()+"/", 400)
			id := srv.submit(withTimeout(job(cdn, urls), 10))
			srv.waitUntil(id, 120*time.Second, reached(200))
			first.Kill()
			startAgent(t, far, "far-2", agentArgs...)
			p := srv.wait(id, 180*time.Second)
			if p.Status != client.StatusFinished || p.DownloadCount != 800 || p.TotalCount != 800 || p.FailedCount != 0 {
				t.Fatalf("after the kill: %+v", p)
			}
			checkOnce(t, srv, id, 800)
			checkHits(t, cdn, cdn.POPs, urls)
		})
	}
}
