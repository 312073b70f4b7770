package e2e

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"prewarm/client"
	"prewarm/internal/minicdn"
	"prewarm/internal/store/pgtest"
)

// metricsAddr is a free loopback address for an agent's --metrics-listen.
func metricsAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// tasksByPOP reads the tasks an agent process recorded, by POP, from its
// Prometheus metrics.
func tasksByPOP(t *testing.T, addr string) map[string]int {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out := map[string]int{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "prewarm_tasks_total{") {
			continue
		}
		_, rest, _ := strings.Cut(line, `pop="`)
		pop, _, _ := strings.Cut(rest, `"`)
		v, err := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64)
		if err != nil {
			t.Fatalf("metrics line %q: %v", line, err)
		}
		out[pop] += int(v)
	}
	return out
}

// Two agents in different places (Japan, Europe) and a job with vantage
// agents over a POP in each and one in the United States, where no agent
// runs: each agent fetches its own place's POP and nothing else, and the
// US POP fails at once with the reason while the others finish.
func TestLocatedAgentsFetchOnlyTheirPlace(t *testing.T) {
	t.Parallel()
	cdn := minicdn.StartT(t, minicdn.Options{AccessLogs: true,
		POPs: []minicdn.POPSpec{{Code: "NRT57-C1"}, {Code: "FRA56-P1"}, {Code: "IAD89-C1"}}})
	db := pgtest.Shared(t).DatabaseT(t)
	srv := serveOn(t, cdn, "--database", db, "--agents", "0")
	tokyoMetrics, frankfurtMetrics := metricsAddr(t), metricsAddr(t)
	startAgent(t, db, "tokyo", append(serveArgs(cdn), "--location", "japan", "--metrics-listen", tokyoMetrics)...)
	startAgent(t, db, "frankfurt", append(serveArgs(cdn), "--location", "Europe", "--metrics-listen", frankfurtMetrics)...)
	waitFor(t, 20*time.Second, func() bool {
		a := agentsOf(srv)
		return stateOf(a, "tokyo") == "active" && stateOf(a, "frankfurt") == "active"
	})
	if a := agentsOf(srv); a["tokyo"].Location != "JP" || a["frankfurt"].Location != "europe" {
		t.Fatalf("GET /instances locations %q and %q, want JP and europe", a["tokyo"].Location, a["frankfurt"].Location)
	}

	urls := urlsOf(cdn, "/loc/", 12) // fewer than are probed: every request is a task's
	start := time.Now()
	id := srv.submit(withTimeout(client.JobRequest{URLs: urls, CFDomain: cdn.CFDomain,
		POPs: []string{"NRT57-C1", "FRA56-P1", "IAD89-C1"}, Vantage: "agents"}, 5))
	p := srv.wait(id, 60*time.Second)
	took := time.Since(start)
	if p.Status != client.StatusFinished || p.TotalCount != 24 || p.SuccessCount != 24 || took > 30*time.Second {
		t.Fatalf("after %v: %+v, want FINISHED at once with the 24 tasks of the two located POPs done", took, p)
	}
	sum := srv.summary(id)
	if fmt.Sprint(sum.FailurePOPs) != "[IAD89-C1]" {
		t.Fatalf("failure_pops %v, want [IAD89-C1]", sum.FailurePOPs)
	}
	for _, pop := range srv.job(id).POPs {
		want := map[string]string{"NRT57-C1": "JP", "FRA56-P1": "europe"}[pop.Code]
		if pop.Location != want || (pop.Code == "IAD89-C1") != strings.HasPrefix(pop.Error, "no agent located in US") {
			t.Errorf("POP %s: location %q, error %q", pop.Code, pop.Location, pop.Error)
		}
	}
	if csv := srv.report(sum.FailurePOPURLsReport, client.ReportOptions{}); !strings.Contains(csv, "IAD89-C1") ||
		!strings.Contains(csv, "no agent located in US") {
		t.Errorf("the failure report does not name IAD89-C1 and why:\n%s", csv)
	}

	if got := tasksByPOP(t, tokyoMetrics); fmt.Sprint(got) != "map[NRT57-C1:12]" {
		t.Errorf("the agent in Japan recorded %v, want NRT57-C1's 12 tasks only", got)
	}
	if got := tasksByPOP(t, frankfurtMetrics); fmt.Sprint(got) != "map[FRA56-P1:12]" {
		t.Errorf("the agent in Europe recorded %v, want FRA56-P1's 12 tasks only", got)
	}
	for _, pop := range cdn.POPs {
		n, err := cdn.Received(pop)
		if err != nil {
			t.Fatal(err)
		}
		if (n == 0) != (pop.Code == "IAD89-C1") {
			t.Errorf("POP %s received %d requests", pop.Code, n)
		}
	}
	checkHits(t, cdn, cdn.POPs[:2], urls)
	t.Logf("located POPs warmed, the POP without an agent failed, in %v", took.Round(time.Millisecond))
}

// A place the catalog does not know is refused at startup, naming the flag.
func TestAgentLocationIsChecked(t *testing.T) {
	t.Parallel()
	cmd := exec.Command(binary, "agent", "--database", "postgres://nowhere.invalid/db", "--location", "Atlantis")
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), `--location: "Atlantis" is neither`) {
		t.Fatalf("agent --location Atlantis: %v\n%s", err, out)
	}
}
