package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"prewarm/client"
	"prewarm/internal/minicdn"
)

// The fault suite: an edge that fails one way, beside a healthy nginx POP.
// In each case the job ends FINISHED (never TIMEOUT), the healthy POP's
// tasks are all done in the first seconds, and the bad POP is in
// failure_pops with a last error that says what happened.

// faultRun is one job over a bad POP and a healthy one.
type faultRun struct {
	srv       *server
	id        string
	took      time.Duration
	healthyAt time.Duration // when the healthy POP had every task done
}

// warmBeside submits n URLs to the bad and healthy POPs and waits for the
// job, noting when the healthy POP was done.
func warmBeside(t *testing.T, srv *server, job client.JobRequest, healthy string, n int64) faultRun {
	t.Helper()
	start := time.Now()
	r := faultRun{srv: srv, id: srv.submit(withTimeout(job, 1.5))}
	for r.healthyAt == 0 && time.Since(start) < 90*time.Second {
		for _, pop := range srv.job(r.id).POPs {
			if pop.Code == healthy && pop.Done == n {
				r.healthyAt = time.Since(start)
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	p := srv.wait(r.id, 90*time.Second)
	r.took = time.Since(start)
	if p.Status != client.StatusFinished || p.SuccessCount != n || p.FailedCount != n {
		t.Fatalf("after %v: %+v, want FINISHED with %d done and %d failed", r.took, p, n, n)
	}
	if r.healthyAt == 0 || r.healthyAt > 10*time.Second {
		t.Errorf("the healthy POP's %d tasks were done after %v, want the first seconds", n, r.healthyAt)
	}
	return r
}

// blames checks that the bad POP is in failure_pops and that its last
// error (or, for a POP that never resolved, its error) says want.
func (r faultRun) blames(t *testing.T, bad, want string) {
	t.Helper()
	if sum := r.srv.summary(r.id); fmt.Sprint(sum.FailurePOPs) != "["+bad+"]" {
		t.Errorf("failure_pops %v, want [%s]", sum.FailurePOPs, bad)
	}
	for _, pop := range r.srv.job(r.id).POPs {
		if pop.Code == bad && !strings.Contains(pop.LastError+pop.Error, want) {
			t.Errorf("%s: last error %q, error %q; want %q", bad, pop.LastError, pop.Error, want)
		}
	}
	t.Logf("healthy POP done in %v, job FINISHED in %v", r.healthyAt.Round(time.Millisecond), r.took.Round(time.Millisecond))
}

// badEdgeBeside starts a bad edge and a serve whose edges file lists it as
// bad-1 beside the CDN's healthy POP as ngx-2.
func badEdgeBeside(t *testing.T, cdn *minicdn.CDN, ip string, fault minicdn.Fault, flags ...string) *server {
	t.Helper()
	bad, err := minicdn.StartBadEdge(ip, fault, cdn.HTTPPort)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(bad.Close)
	edges := filepath.Join(t.TempDir(), "edges.yaml")
	doc := fmt.Sprintf("edges:\n  - code: bad-1\n    addresses: [%s]\n  - code: ngx-2\n    addresses: [%s]\n", bad.IP, cdn.POPs[0].IP)
	if err := os.WriteFile(edges, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	return startServe(t, "", append(append(serveArgs(cdn), "--edges", edges), flags...)...)
}

// A black hole (accepts, never answers), on default timeouts: its
// attempts fail at the header timeout, then it is left alone and its
// remaining tasks fail at once, saying why.
func TestFaultBlackHolePOP(t *testing.T) {
	t.Parallel()
	cdn := minicdn.StartT(t, minicdn.Options{POPs: []minicdn.POPSpec{{Code: "NGX2-P1"}}})
	srv := badEdgeBeside(t, cdn, "127.0.99.77", minicdn.Hang)
	urls := urlsOf(cdn, "/hung/", 200)
	r := warmBeside(t, srv, client.JobRequest{URLs: urls, POPs: []string{"bad-1", "ngx-2"}}, "ngx-2", 200)
	if r.took > time.Minute {
		t.Errorf("the job took %v, want under a minute", r.took)
	}
	r.blames(t, "bad-1", "no response headers in 30s")
	checkHits(t, cdn, cdn.POPs, urls)
}

// Edges that answer and then fail the body: one stalls (the idle timeout
// cuts it, and an address that keeps stalling is left alone), one closes
// the connection short of the length, one resets it.
func TestFaultBrokenBodies(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		fault minicdn.Fault
		ip    string
		want  string
	}{
		{minicdn.Stall, "127.0.99.78", "stalled after 1.5 kB: no byte in 1s"},
		{minicdn.Truncate, "127.0.99.79", "body ended at 4000 of 4096 bytes"},
		{minicdn.Reset, "127.0.99.80", "body ended at 2000 of 4096 bytes (connection reset by 127.0.99.80:"},
	} {
		t.Run(c.fault.String(), func(t *testing.T) {
			t.Parallel()
			cdn := minicdn.StartT(t, minicdn.Options{POPs: []minicdn.POPSpec{{Code: "NGX2-P1"}}})
			srv := badEdgeBeside(t, cdn, c.ip, c.fault, "--idle-timeout", "1s")
			urls := urlsOf(cdn, "/"+c.fault.String()+"/", 100)
			r := warmBeside(t, srv, client.JobRequest{URLs: urls, POPs: []string{"bad-1", "ngx-2"}}, "ngx-2", 100)
			r.blames(t, "bad-1", c.want)
			checkHits(t, cdn, cdn.POPs, urls)
		})
	}
}

// A POP whose name the DNS server never answers for: the POP fails with
// that reason after the resolver's timeout, the other is warmed.
func TestFaultDNSServerTimesOut(t *testing.T) {
	t.Parallel()
	cdn := minicdn.StartT(t, minicdn.Options{POPs: []minicdn.POPSpec{{Code: "NGX1-P1"}, {Code: "NGX2-P1"}}})
	cdn.DNS().Silence(cdn.POPs[1].DNSName)
	srv := startServe(t, "", serveArgs(cdn)...)
	urls := urlsOf(cdn, "/dns/", 100)
	start := time.Now()
	id := srv.submit(withTimeout(client.JobRequest{URLs: urls, CFDomain: cdn.CFDomain, POPs: []string{"NGX1-P1", "NGX2-P1"}}, 1.5))
	p := srv.wait(id, 90*time.Second)
	took := time.Since(start)
	if p.Status != client.StatusFinished || p.SuccessCount != 100 {
		t.Fatalf("after %v: %+v, want FINISHED with NGX1-P1's 100 tasks done", took, p)
	}
	r := faultRun{srv: srv, id: id, took: took}
	r.blames(t, "NGX2-P1", "did not answer in 3s")
	checkHits(t, cdn, cdn.POPs[:1], urls)
}
