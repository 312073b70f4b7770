package e2e

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"prewarm/client"
	"prewarm/internal/minicdn"
)

// prewarmCmd runs the binary with stdin and returns stdout, stderr and the
// exit status.
func prewarmCmd(t *testing.T, stdin string, env []string, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Stdin = strings.NewReader(stdin)
	cmd.Env = append(cmd.Environ(), env...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return out.String(), errOut.String(), code
}

// prewarm run warms without a server: a table per POP, exit status 0 only
// when everything was fetched and proven cached.
func TestRunCommand(t *testing.T) {
	t.Parallel()
	cdn := minicdn.StartT(t, minicdn.Options{POPs: []minicdn.POPSpec{{Code: "RUN1-P1"}, {Code: "RUN2-P1", CloudFront: true}}})
	fetchFlags := append(serveArgs(cdn), "--cf-domain", cdn.CFDomain, "--pops", "RUN1-P1", "--pops", "RUN2-P1")
	urls := strings.Join(urlsOf(cdn, "/run/", 6), "\n") + "\n# a comment\n\n"

	out, errOut, code := prewarmCmd(t, urls, nil, append([]string{"run", "-"}, fetchFlags...)...)
	if code != 0 || !strings.Contains(out, "RUN1-P1") || !strings.Contains(out, "RUN2-P1") ||
		!strings.Contains(out, "FINISHED: 12 of 12 tasks done, 12 ok, 0 failed") || !strings.Contains(out, "12 proven cached") {
		t.Fatalf("run: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	if !strings.Contains(errOut, "FINISHED") { // the plain progress lines (stderr is not a terminal)
		t.Fatalf("no progress lines on stderr:\n%s", errOut)
	}

	out, _, code = prewarmCmd(t, cdn.URL("/run/ok")+"\n"+cdn.URL("/status/404")+"\n", nil, append([]string{"run", "-"}, fetchFlags...)...)
	if code != 1 || !strings.Contains(out, "Failed URLs (1)") {
		t.Fatalf("a 404: exit %d\n%s", code, out)
	}
	out, _, code = prewarmCmd(t, cdn.URL("/nostore/x")+"\n", nil, append([]string{"run", "-"}, fetchFlags...)...)
	if code != 2 || !strings.Contains(out, "Fetched but not cached (1)") || !strings.Contains(out, "Why not cached (1)") ||
		!strings.Contains(out, "no-store: 2 tasks") {
		t.Fatalf("not cached: exit %d\n%s", code, out)
	}
	out, _, code = prewarmCmd(t, cdn.URL("/run/j")+"\n", nil, append([]string{"run", "-", "--output", "json"}, fetchFlags...)...)
	// The API's own field names: the JSON is a contract for scripts.
	var res struct {
		Progress struct {
			Status string `json:"status"`
			Done   int64  `json:"download_count"`
		} `json:"progress"`
		POPs []struct {
			Code string `json:"code"`
		} `json:"pops"`
		Summary struct {
			FailureURLs []string `json:"failure_urls"`
		} `json:"summary"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil || code != 0 || res.Progress.Status != "FINISHED" ||
		res.Progress.Done != 2 || len(res.POPs) != 2 || res.POPs[0].Code == "" || res.Summary.FailureURLs == nil {
		t.Fatalf("json: exit %d %v\n%s", code, err, out)
	}
	_, errOut, code = prewarmCmd(t, "ftp://nope\n", nil, append([]string{"run", "-"}, fetchFlags...)...)
	if code == 0 || !strings.Contains(errOut, "invalid URL: ftp://nope") {
		t.Fatalf("bad URL: exit %d %s", code, errOut)
	}
}

// prewarm run --data-dir resumes a run that Ctrl-C interrupted: the same
// job, not a new one, and only what was left is fetched.
func TestRunResumesFromItsDataDir(t *testing.T) {
	t.Parallel()
	cdn := minicdn.StartT(t, minicdn.Options{POPs: []minicdn.POPSpec{{Code: "RES1-P1"}}})
	dir := t.TempDir()
	var urls []string
	for i := range 30 {
		urls = append(urls, cdn.URL(fmt.Sprintf("/slow/resume/%d?delay=200ms", i)))
	}
	stdin := strings.Join(urls, "\n") + "\n"
	args := append([]string{"run", "-", "--data-dir", dir, "--max-concurrency", "2"},
		append(serveArgs(cdn), "--cf-domain", cdn.CFDomain, "--pops", "RES1-P1")...)

	cmd := exec.Command(binary, args...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, func() bool { return cdn.Origin.Total() >= 4 })
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 130 || !strings.Contains(errOut.String(), "run the same command again to resume it") {
		t.Fatalf("interrupted run: %v\nstdout:\n%s\nstderr:\n%s", err, out.String(), errOut.String())
	}
	first := regexp.MustCompile(`job (\S+) stays in`).FindStringSubmatch(errOut.String())
	if first == nil {
		t.Fatalf("no job ID in:\n%s", errOut.String())
	}
	fetchedBefore := cdn.Origin.Total()

	stdout, stderr, code := prewarmCmd(t, stdin, nil, args...)
	if code != 0 || !strings.Contains(stderr, "resuming job "+first[1]) || !strings.Contains(stdout, "FINISHED: 30 of 30 tasks done, 30 ok, 0 failed") {
		t.Fatalf("resumed run: exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	// Every URL reached the origin once: what the first run had fetched was
	// not fetched again (a fetch cut off by the interruption may be).
	if total := cdn.Origin.Total(); total > 30+2 || fetchedBefore < 4 {
		t.Fatalf("origin saw %d requests in all, %d before the resume", total, fetchedBefore)
	}

	// A finished job is not resumed: the same command starts a new one.
	_, stderr, code = prewarmCmd(t, stdin, nil, args...)
	if code != 0 || strings.Contains(stderr, "resuming") {
		t.Fatalf("run after the end: exit %d\n%s", code, stderr)
	}
}

// The client commands against a running server: submit from stdin, status
// --watch until the end, summary with the CSV, instances.
func TestClientCommands(t *testing.T) {
	t.Parallel()
	cdn := twoPOPs(t)
	srv := serveOn(t, cdn)
	env := []string{"PREWARM_SERVER=" + srv.URL, "PREWARM_API_KEY=" + apiKey}
	urls := strings.Join(urlsOf(cdn, "/cli/", 4), "\n")

	id, errOut, code := prewarmCmd(t, urls, env, "submit", "-", "--cf-domain", cdn.CFDomain, "--pops", "AAA1-P1,BBB1-P1")
	id = strings.TrimSpace(id)
	if code != 0 || len(id) != 36 {
		t.Fatalf("submit: exit %d %q %s", code, id, errOut)
	}
	out, errOut, code := prewarmCmd(t, "", env, "status", id, "--watch", "--interval", "100ms")
	if code != 0 || !strings.Contains(out, "FINISHED") {
		t.Fatalf("status --watch: exit %d\n%s\n%s", code, out, errOut)
	}
	out, _, code = prewarmCmd(t, "", env, "status", id, "--output", "json")
	var p client.ProgressResponse
	if err := json.Unmarshal([]byte(out), &p); err != nil || code != 0 || p.DownloadCount != 8 {
		t.Fatalf("status json: %d %v %s", code, err, out)
	}
	out, _, code = prewarmCmd(t, "", env, "summary", id, "--csv", "--all-tasks")
	if code != 0 || strings.Count(strings.TrimSpace(out), "\n") != 8 || !strings.HasPrefix(out, "pop,url,") {
		t.Fatalf("summary --csv: %d\n%s", code, out)
	}
	if _, _, code := prewarmCmd(t, "", env, "instances", "--desired", "2"); code != 0 {
		t.Fatalf("instances --desired: %d", code)
	}
	out, _, code = prewarmCmd(t, "", env, "instances", "--output", "json")
	var inst client.InstancesStatus
	if err := json.Unmarshal([]byte(out), &inst); err != nil || code != 0 || inst.DesiredCapacity != 2 {
		t.Fatalf("instances: %d %v %s", code, err, out)
	}
	_, errOut, code = prewarmCmd(t, "", []string{"PREWARM_SERVER=" + srv.URL, "PREWARM_API_KEY=wrong-key-0000"}, "status", id)
	if code == 0 || !strings.Contains(errOut, "invalid API key") {
		t.Fatalf("wrong key: %d %s", code, errOut)
	}
	_, errOut, code = prewarmCmd(t, "", env, "stop", id)
	if code != 1 || !strings.Contains(errOut, "already FINISHED") {
		t.Fatalf("stop of a finished job: %d %s", code, errOut)
	}
	_, errOut, code = prewarmCmd(t, "", env, "status", "no-such-job")
	if code == 0 || !strings.Contains(errOut, "404") {
		t.Fatalf("unknown job: %d %s", code, errOut)
	}
}

// A deploy gate: submit --wait --min-verified passes when enough of the
// job's tasks were proven cached and fails (exit 1, saying the share)
// when not.
func TestSubmitMinVerifiedGate(t *testing.T) {
	t.Parallel()
	cdn := minicdn.StartT(t, minicdn.Options{POPs: []minicdn.POPSpec{{Code: "NGX1-P1"}}})
	srv := serveOn(t, cdn)
	env := []string{"PREWARM_SERVER=" + srv.URL, "PREWARM_API_KEY=" + apiKey}
	good := strings.Join(urlsOf(cdn, "/gate/", 9), "\n")
	_, errOut, code := prewarmCmd(t, good, env, "submit", "-", "--cf-domain", cdn.CFDomain, "--pops", "NGX1-P1",
		"--wait", "--min-verified", "99")
	if code != 0 || !strings.Contains(errOut, "100% of 9 tasks proven cached (--min-verified 99)") {
		t.Fatalf("all warm: exit %d\n%s", code, errOut)
	}
	missing := good + "\n" + cdn.URL("/status/404/gate-missing")
	_, errOut, code = prewarmCmd(t, missing, env, "submit", "-", "--cf-domain", cdn.CFDomain, "--pops", "NGX1-P1",
		"--wait", "--min-verified", "99")
	if code != 1 || !strings.Contains(errOut, "90% of 10 tasks proven cached (--min-verified 99)") {
		t.Fatalf("one of ten missing: exit %d\n%s", code, errOut)
	}
	if _, errOut, code = prewarmCmd(t, good, env, "submit", "-", "--cf-domain", cdn.CFDomain, "--min-verified", "99",
		"--no-verify"); code == 0 || !strings.Contains(errOut, "cannot go with --no-verify") {
		t.Fatalf("--min-verified with --no-verify: exit %d\n%s", code, errOut)
	}
}

// pops --check resolves each listed POP for a distribution and says which
// answer.
func TestPopsCheck(t *testing.T) {
	t.Parallel()
	cdn := minicdn.StartT(t, minicdn.Options{POPs: []minicdn.POPSpec{{Code: "SIN2-P1"}}})
	out, errOut, code := prewarmCmd(t, "", nil, "pops", "--country", "SG", "--check", cdn.CFDomain, "--dns-server", cdn.DNSAddr)
	if code != 0 || !regexp.MustCompile(`(?m)^SIN2-P1\s+yes\s+`+regexp.QuoteMeta(cdn.POPs[0].IP)).MatchString(out) ||
		!regexp.MustCompile(`(?m)^SIN\d+-\S+\s+no\s+.*does not resolve`).MatchString(strings.ReplaceAll(out, "SIN2-P1", "")) ||
		!strings.Contains(errOut, "1 of ") {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
}
