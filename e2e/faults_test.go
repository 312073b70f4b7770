package e2e

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
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
	poll(90*time.Second, 50*time.Millisecond, func() bool {
		for _, pop := range srv.job(r.id).POPs {
			if pop.Code == healthy && pop.Done == n {
				r.healthyAt = time.Since(start)
			}
		}
		return r.healthyAt != 0
	})
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
	return serveOn(t, cdn, append([]string{"--edges", edges}, flags...)...)
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
	srv := serveOn(t, cdn)
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

// A full disk: the data directory on a 3 MiB filesystem. Jobs are
// accepted until a write finds no room; then POST /prewarm answers 507
// naming the disk, /healthz 503, and a restart on the full disk exits
// saying so. Once the filesystem grows, serve starts and every accepted
// job finishes with all its tasks. Needs root to mount a tmpfs.
func TestFaultFullDisk(t *testing.T) {
	t.Parallel()
	disk := filepath.Join(t.TempDir(), "disk")
	if err := os.Mkdir(disk, 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", disk).CombinedOutput(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true: mounting a tmpfs (run as root): %v: %s", err, out)
		}
		t.Skipf("mounting a tmpfs needs root: %v: %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("umount", "-l", disk).Run() })
	cdn := minicdn.StartT(t, minicdn.Options{POPs: []minicdn.POPSpec{{Code: "NGX1-P1"}}})
	data := filepath.Join(disk, "data")
	srv := startServe(t, data, serveArgs(cdn)...)
	var ids []string
	var refusal error
	for j := 0; refusal == nil && j < 100; j++ {
		urls := urlsOf(cdn, fmt.Sprintf("/full/%d/%s/", j, strings.Repeat("x", 200)), 1000)
		ans, err := srv.c.Submit(t.Context(), client.JobRequest{URLs: urls, CFDomain: cdn.CFDomain, POPs: []string{"NGX1-P1"}})
		if err != nil {
			refusal = err
			break
		}
		ids = append(ids, ans.RequestID)
	}
	var apiErr *client.Error
	if !errors.As(refusal, &apiErr) || apiErr.StatusCode != http.StatusInsufficientStorage || !strings.Contains(apiErr.Message, "disk is full") {
		t.Fatalf("after %d jobs: %v, want 507 naming the full disk", len(ids), refusal)
	}
	if err := srv.c.Health(t.Context()); err == nil || !strings.Contains(err.Error(), "503") {
		t.Errorf("/healthz on a full disk: %v, want 503", err)
	}
	t.Logf("%d jobs accepted before the disk filled; then: %v", len(ids), refusal)

	// A restart on the full disk either exits at once, saying why, or (when
	// the database still has free pages inside its file) serves reads,
	// unready, until it is killed.
	if err := srv.Stop(); err != nil {
		t.Fatal(err)
	}
	restartFull(t, cdn, data, ids[0])

	// Room again: every accepted job finishes, nothing lost.
	if out, err := exec.Command("mount", "-o", "remount,size=64m", disk).CombinedOutput(); err != nil {
		t.Fatalf("growing the tmpfs: %v: %s", err, out)
	}
	srv.restart()
	for _, id := range ids {
		if p := srv.wait(id, 2*time.Minute); p.Status != client.StatusFinished || p.SuccessCount != 1000 {
			t.Fatalf("job %s after the disk grew: %+v", id, p)
		}
	}
	if err := srv.c.Health(t.Context()); err != nil {
		t.Errorf("/healthz with room again: %v", err)
	}
}

// restartFull starts serve on a full data directory and checks that it
// either exits saying the disk is full, or serves reads with /healthz
// unready; then kills it.
func restartFull(t *testing.T, cdn *minicdn.CDN, data, id string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	addr, log := serveRaw(t, ctx, "serve", "--api-key", apiKey, "--data-dir", data, "--listen", "127.0.0.1:0",
		"--dns-server", cdn.DNSAddr, "--allow-private-edges")
	if addr == "" {
		if !strings.Contains(log(), "cannot start: the database's disk is full") || !strings.Contains(log(), "free space there and start again") {
			t.Fatalf("serve on a full disk neither served nor said why:\n%s", log())
		}
		t.Logf("started on a full disk: exited saying so")
		return
	}
	c, err := client.New("http://"+addr, apiKey)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Health(ctx); err == nil || !strings.Contains(err.Error(), "disk is full") {
		t.Errorf("/healthz of a serve started on a full disk: %v, want 503 naming the disk", err)
	}
	if p, err := c.Progress(ctx, id); err != nil || p.TotalCount == 0 {
		t.Errorf("GET /prewarm of a serve started on a full disk: %+v, %v", p, err)
	}
	t.Logf("started on a full disk: serves reads, unready")
}

// A POP that refuses (403 to everything, as a geo-block does) fails only
// itself: the healthy POP warms every URL, the summary names the POP, not
// the URLs, and the size probe asked the next POP rather than condemn them.
func TestFaultRefusingPOP(t *testing.T) {
	t.Parallel()
	cdn := minicdn.StartT(t, minicdn.Options{POPs: []minicdn.POPSpec{{Code: "NGX2-P1"}}})
	srv := badEdgeBeside(t, cdn, "127.0.99.81", minicdn.Refuse)
	urls := urlsOf(cdn, "/refuse/", 30) // enough to be probed
	r := warmBeside(t, srv, client.JobRequest{URLs: urls, POPs: []string{"bad-1", "ngx-2"}}, "ngx-2", 30)
	r.blames(t, "bad-1", "HTTP 403")
	if sum := srv.summary(r.id); len(sum.FailureURLs) != 0 {
		t.Errorf("failure_urls %v: one POP's refusal is not the URLs' failure", sum.FailureURLs)
	}
	if p := srv.progress(r.id); p.VerifiedCount != 30 {
		t.Errorf("verified %d, want the healthy POP's 30", p.VerifiedCount)
	}
	checkHits(t, cdn, cdn.POPs, urls)
}
