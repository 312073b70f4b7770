package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"prewarm/client"
)

const fakeKey = "test-key-0123456789"

// fakeAPI answers like a prewarm server, with the answer types the server
// encodes. Job "job-ok" finishes cleanly on its third poll, "job-bad"
// finishes with failures on its third; any other job is unknown.
type fakeAPI struct {
	t   *testing.T
	srv *httptest.Server

	mu        sync.Mutex
	submits   [][]byte
	instances [][]byte
	polls     map[string]int
	reportKey []string // the x-api-key each report download carried
	reportQry []string
}

func newFakeAPI(t *testing.T) *fakeAPI {
	t.Helper()
	clearPrewarmEnv(t)
	f := &fakeAPI{t: t, polls: map[string]int{}}
	mux := http.NewServeMux()
	for pattern, h := range map[string]http.HandlerFunc{
		"POST /prewarm": f.postPrewarm, "GET /prewarm": f.getPrewarm, "GET /summary": f.getSummary,
		"GET /jobs/{id}": f.getJob, "GET /instances": f.getInstances, "POST /instances": f.postInstances,
	} {
		mux.HandleFunc(pattern, f.authed(h))
	}
	mux.HandleFunc("GET /reports/{file}", f.getReport) // signed links need no key
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

// clearPrewarmEnv keeps the test runner's own PREWARM_* variables from
// reaching the commands through applyEnv.
func clearPrewarmEnv(t *testing.T) {
	for _, kv := range os.Environ() {
		if name, _, _ := strings.Cut(kv, "="); strings.HasPrefix(name, "PREWARM_") {
			t.Setenv(name, "")
			os.Unsetenv(name)
		}
	}
}

// The fake's clock: every answer is given at these times.
const (
	fakeCreated = "2026-03-01 10:00:00.000000"
	fakeUpdated = "2026-03-01 10:05:00.000000"
	fakeNow     = "2026-03-01 10:06:00.000000"
	fakeTimeout = "2026-03-01 10:30:00.000000"
)

func fakeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func fakeFailure(w http.ResponseWriter, status int, msg string) {
	fakeJSON(w, status, client.Failure{Status: "failure", Message: msg, Timestamp: fakeNow})
}

func (f *fakeAPI) authed(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		switch r.Header.Get("x-api-key") {
		case "":
			fakeFailure(w, http.StatusUnauthorized, "missing x-api-key header")
		case fakeKey:
			h(w, r)
		default:
			fakeFailure(w, http.StatusForbidden, "invalid API key")
		}
	}
}

// record keeps a request's body in bodies and decodes it into v.
func (f *fakeAPI) record(bodies *[][]byte, r *http.Request, v any) error {
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	*bodies = append(*bodies, body)
	f.mu.Unlock()
	return json.Unmarshal(body, v)
}

func (f *fakeAPI) postPrewarm(w http.ResponseWriter, r *http.Request) {
	var req client.JobRequest
	if err := f.record(&f.submits, r, &req); err != nil {
		fakeFailure(w, http.StatusBadRequest, "body: malformed JSON")
		return
	}
	bad := slices.DeleteFunc(slices.Clone(req.URLs), func(u string) bool {
		return strings.HasPrefix(u, "http://") || strings.HasPrefix(u, "https://")
	})
	if len(bad) > 0 {
		fakeJSON(w, http.StatusBadRequest, client.SubmitResponse{Status: "Failed", ErrorMessage: "Invalid URLs",
			ErrorURLs: bad, Timestamp: fakeCreated})
		return
	}
	fakeJSON(w, http.StatusOK, client.SubmitResponse{Status: "Success", ErrorURLs: []string{}, RequestID: "job-new",
		Timestamp: fakeCreated, TimeoutAt: fakeTimeout})
}

// fakeProgress is the job's answer at its n-th poll.
func fakeProgress(id string, n int) client.ProgressResponse {
	p := client.ProgressResponse{
		RequestID: id, DownloadSize: 1536 << 20, TotalSize: 3 << 30, PercentageComplete: 40,
		AvailableTaskCount: 4, InProgressTaskCount: 2, DownloadCount: 4, TotalCount: 10,
		CreatedAt: fakeCreated, LastUpdateTime: fakeUpdated, Timestamp: fakeNow,
		Status: client.StatusInProgress, SuccessCount: 4, TimeoutAt: fakeTimeout, Planned: true,
		VerifiedCount: 3, NotCachedCount: 1,
	}
	if id == "job-kw" {
		p.Share = "1/3"
		p.KeepWarm = &client.KeepWarm{Until: "2026-03-01 11:30:00.000000", RefreshHeader: "X-Prewarm-Refresh: 1",
			State: "keeping", NextRewarm: "2026-03-01 10:09:00.000000", Kept: 240, NotKept: 2, Rewarms: 5130, Failed: 1}
	}
	if n >= 3 {
		p.Status, p.PercentageComplete, p.DownloadCount = client.StatusFinished, 100, 10
		p.AvailableTaskCount, p.InProgressTaskCount = 0, 0
		p.SuccessCount = 10
		if id == "job-bad" {
			p.SuccessCount, p.FailedCount = 8, 2
		}
	}
	return p
}

func (f *fakeAPI) getPrewarm(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("req_id")
	if id != "job-ok" && id != "job-bad" && id != "job-kw" {
		fakeFailure(w, http.StatusNotFound, "job "+id+": not found")
		return
	}
	f.mu.Lock()
	f.polls[id]++
	n := f.polls[id]
	f.mu.Unlock()
	fakeJSON(w, http.StatusOK, fakeProgress(id, n))
}

func (f *fakeAPI) getSummary(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("req_id")
	if id != "job-bad" {
		fakeFailure(w, http.StatusNotFound, "job "+id+": not found")
		return
	}
	fakeJSON(w, http.StatusOK, client.SummaryResponse{
		RequestID: id, FailurePOPs: []string{"NRT57-P3"},
		FailureURLs:          []string{"https://www.example.com/a.js", "https://www.example.com/b.js"},
		FailurePOPURLsReport: "http://" + r.Host + "/reports/" + id + ".csv?token=s1gned",
		NotCachedURLs:        []string{"https://www.example.com/c.js"},
		Warnings:             []string{"responses vary on Accept-Language; the job sends one value"},
		NotKeptURLs:          []client.NotKeptURL{{URL: "https://www.example.com/d.m3u8", Reason: "Cache-Control: no-store", POPs: 2}},
		Timestamp:            fakeNow, CreatedAt: fakeCreated, LastUpdateTime: fakeUpdated, Status: client.StatusFinished,
	})
}

func (f *fakeAPI) getJob(w http.ResponseWriter, r *http.Request) {
	fakeJSON(w, http.StatusOK, client.JobResponse{
		JobSummary: client.JobSummary{ProgressResponse: fakeProgress(r.PathValue("id"), 3),
			CFDomain: "d111111abcdef8.cloudfront.net", TargetType: "pop", URLCount: 5, POPCount: 3},
		POPs: []client.POP{
			{Code: "IAD89-P1", Addresses: []string{"192.0.2.1"}, Done: 5, OK: 5, Bytes: 2048, Verified: 4, NotCached: 1},
			{Code: "FRA60-P1", Addresses: []string{"192.0.2.9"}, Done: 5, Failed: 5,
				Unreachable: true, LastError: "dial tcp 192.0.2.9:443: connect: connection refused"},
			{Code: "NRT57-P3", Addresses: []string{}, Error: "does not resolve"},
		},
	})
}

func (f *fakeAPI) getReport(w http.ResponseWriter, r *http.Request) {
	if r.URL.Query().Get("token") != "s1gned" {
		fakeFailure(w, http.StatusUnauthorized, "missing x-api-key header")
		return
	}
	f.mu.Lock()
	f.reportKey = append(f.reportKey, r.Header.Get("x-api-key"))
	f.reportQry = append(f.reportQry, r.URL.RawQuery)
	f.mu.Unlock()
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	io.WriteString(w, "url,pop,status,error\nhttps://www.example.com/a.js,IAD89-P1,404,\n")
}

func (f *fakeAPI) getInstances(w http.ResponseWriter, _ *http.Request) {
	fakeJSON(w, http.StatusOK, client.InstancesStatus{
		InstancesResponse: client.InstancesResponse{Status: "success", Timestamp: fakeNow, Message: "query success"},
		DesiredCapacity:   2,
		Agents: []client.Agent{
			{ID: "a1", Name: "warm-1", Host: "node-a", Concurrency: 64, Busy: 12, State: "active", LastHeartbeat: "2026-03-01 10:05:55.000000"},
			{ID: "a2", Name: "warm-2", Host: "node-b", Concurrency: 64, State: "standby", LastHeartbeat: "2026-03-01 10:05:30.000000"},
		},
	})
}

func (f *fakeAPI) postInstances(w http.ResponseWriter, r *http.Request) {
	var req client.InstancesRequest
	_ = f.record(&f.instances, r, &req)
	msg := fmt.Sprintf("desired capacity set to %d", req.DesiredCapacity)
	if req.ForceStop {
		msg += "; job " + req.ReqID + " stopped"
	}
	fakeJSON(w, http.StatusOK, client.InstancesResponse{Status: "success", Timestamp: fakeNow, Message: msg})
}

func (f *fakeAPI) lastSubmit(t *testing.T) map[string]any {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.submits) == 0 {
		t.Fatal("no POST /prewarm reached the server")
	}
	var m map[string]any
	if err := json.Unmarshal(f.submits[len(f.submits)-1], &m); err != nil {
		t.Fatalf("POST /prewarm body: %v", err)
	}
	return m
}

// clientTestRoot mirrors NewRoot: the same PersistentPreRunE, so the
// environment fallbacks are those of the real binary.
func clientTestRoot() *cobra.Command {
	root := &cobra.Command{
		Use:           "prewarm",
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			return applyEnv(cmd.Flags())
		},
	}
	root.AddCommand(newClientCommands()...)
	return root
}

type clientRun struct {
	stdout, stderr string
	code           int
}

// runClient runs args through the test root as Main would, with stdin.
func runClient(stdin string, args ...string) clientRun {
	root := clientTestRoot()
	var out, errb bytes.Buffer
	root.SetArgs(args)
	root.SetOut(&out)
	root.SetErr(&errb)
	root.SetIn(strings.NewReader(stdin))
	code := 0
	if err := root.Execute(); err != nil {
		fmt.Fprintln(&errb, "prewarm:", err)
		code = 1
		var ec exitCode
		if errors.As(err, &ec) {
			code = int(ec)
		}
	}
	return clientRun{out.String(), errb.String(), code}
}

func (f *fakeAPI) run(stdin string, args ...string) clientRun {
	return runClient(stdin, append(args, "--server", f.srv.URL, "--api-key", fakeKey)...)
}

func mustSucceed(t *testing.T, r clientRun) {
	t.Helper()
	if r.code != 0 {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
}

func TestClientSubmitFromFile(t *testing.T) {
	f := newFakeAPI(t)
	file := filepath.Join(t.TempDir(), "urls.txt")
	content := "\uFEFF# release 1.2\nhttps://www.example.com/index.html\n\n   \r\nhttps://www.example.com/app.js?v=2#frag\r\n  # indented comment\n"
	if err := os.WriteFile(file, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	r := f.run("", "submit", file, "--cf-domain", "d111111abcdef8.cloudfront.net",
		"--pops", "IAD89-P1,FRA60-P1", "--pops", "NRT57-P3",
		"--header", "Accept-Encoding: gzip, br", "--header", "X-Warm: yes",
		"--timeout", "12.5", "--instance-count", "0", "--need-invalidate", "--distribution-id", "E2QWRUHAPOMQZL")
	mustSucceed(t, r)
	if r.stdout != "job-new\n" {
		t.Errorf("stdout = %q, want just the id", r.stdout)
	}
	if !strings.Contains(r.stderr, "prewarm status job-new --watch") {
		t.Errorf("stderr lacks the follow-up hint: %q", r.stderr)
	}
	got := f.lastSubmit(t)
	want := map[string]any{
		"url_list":        []any{"https://www.example.com/index.html", "https://www.example.com/app.js?v=2#frag"},
		"cf_domain":       "d111111abcdef8.cloudfront.net",
		"target_type":     "pop",
		"pops":            []any{"IAD89-P1", "FRA60-P1", "NRT57-P3"},
		"header":          []any{"Accept-Encoding: gzip, br", "X-Warm: yes"},
		"timeout":         12.5,
		"instance_count":  0.0,
		"need_invalidate": true,
		"distribution_id": "E2QWRUHAPOMQZL",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("POST /prewarm body\n got %v\nwant %v", got, want)
	}
}

func TestClientSubmitFromStdin(t *testing.T) {
	f := newFakeAPI(t)
	stdin := "https://cdn.example.com/a.ts\nhttps://cdn.example.com/b.ts\n"
	for _, args := range [][]string{
		{"submit", "-"},
		{"submit"}, // piped input without "-"
	} {
		r := f.run(stdin, append(args, "--cf-domain", "cdn.example.com", "--countries", "JP", "--countries", "KR,US")...)
		mustSucceed(t, r)
		got := f.lastSubmit(t)
		if got["target_type"] != "country" || !reflect.DeepEqual(got["countries"], []any{"JP", "KR", "US"}) {
			t.Errorf("%v: target %v countries %v", args, got["target_type"], got["countries"])
		}
		if !reflect.DeepEqual(got["url_list"], []any{"https://cdn.example.com/a.ts", "https://cdn.example.com/b.ts"}) {
			t.Errorf("%v: url_list %v", args, got["url_list"])
		}
		for _, absent := range []string{"pops", "regions", "timeout", "instance_count", "header", "need_invalidate", "distribution_id"} {
			if _, ok := got[absent]; ok {
				t.Errorf("%v: %s sent though not asked for: %v", args, absent, got[absent])
			}
		}
	}
}

func TestClientSubmitTargetType(t *testing.T) {
	for _, tc := range []struct {
		name    string
		args    []string
		target  any    // expected target_type; nil: left out
		errWant string // a failure before any request
	}{
		{"regions infer region", []string{"--regions", "eu,apac"}, "region", ""},
		{"pops infer pop", []string{"--pops", "IAD89-P1"}, "pop", ""},
		{"explicit type without list", []string{"--target-type", "Region"}, "region", ""},
		{"matching explicit type", []string{"--target-type", "country", "--countries", "JP"}, "country", ""},
		{"no list, no type", nil, nil, ""},
		{"two lists", []string{"--pops", "IAD89-P1", "--countries", "JP"}, nil, "give one of --pops, --countries and --regions"},
		{"three lists", []string{"--pops", "a", "--countries", "b", "--regions", "c"}, nil, "not 3"},
		{"type against list", []string{"--target-type", "region", "--pops", "IAD89-P1"}, nil, "does not match the list given (--pops)"},
		{"unknown type", []string{"--target-type", "city"}, nil, `--target-type "city"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeAPI(t)
			args := append([]string{"submit", "-", "--cf-domain", "d111111abcdef8.cloudfront.net"}, tc.args...)
			r := f.run("https://www.example.com/\n", args...)
			if tc.errWant != "" {
				if r.code == 0 || !strings.Contains(r.stderr, tc.errWant) {
					t.Fatalf("exit %d, stderr %q; want a failure saying %q", r.code, r.stderr, tc.errWant)
				}
				if len(f.submits) != 0 {
					t.Fatal("a refused submit still reached the server")
				}
				return
			}
			mustSucceed(t, r)
			if got := f.lastSubmit(t)["target_type"]; got != tc.target {
				t.Errorf("target_type = %v, want %v", got, tc.target)
			}
		})
	}
}

func TestClientSubmitRefusals(t *testing.T) {
	f := newFakeAPI(t)

	// Without --cf-domain the server decides: edges of an edges file need
	// none, CloudFront POPs do (and the server names the field).
	r := f.run("https://www.example.com/\n", "submit", "-")
	if got := f.lastSubmit(t)["cf_domain"]; r.code != 0 || got != "" {
		t.Errorf("without --cf-domain: exit %d, cf_domain %v", r.code, got)
	}

	r = f.run("# nothing here\n\n", "submit", "-", "--cf-domain", "cdn.example.com")
	if r.code != 1 || !strings.Contains(r.stderr, "no URLs in standard input") {
		t.Errorf("empty list: exit %d, stderr %q", r.code, r.stderr)
	}

	r = f.run("", "submit", filepath.Join(t.TempDir(), "missing.txt"), "--cf-domain", "cdn.example.com")
	if r.code != 1 || !strings.Contains(r.stderr, "missing.txt") {
		t.Errorf("missing file: exit %d, stderr %q", r.code, r.stderr)
	}

	r = f.run("https://www.example.com/ok\nftp://www.example.com/x\nwww.example.com/y\n", "submit", "-", "--cf-domain", "cdn.example.com")
	if r.code != 1 {
		t.Fatalf("invalid URLs: exit %d", r.code)
	}
	for _, want := range []string{"the server refused 2 URLs:", "  ftp://www.example.com/x", "  www.example.com/y", "prewarm: Invalid URLs (HTTP 400)"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("invalid URLs: stderr lacks %q:\n%s", want, r.stderr)
		}
	}
	if r.stdout != "" {
		t.Errorf("invalid URLs: stdout = %q, want nothing (no id)", r.stdout)
	}
}

func TestClientStatusText(t *testing.T) {
	f := newFakeAPI(t)
	r := f.run("", "status", "job-ok")
	mustSucceed(t, r)
	for _, want := range []string{
		"Job          job-ok", "IN_PROGRESS", "40%  4/10 tasks done", "4 / 0", "1.5 GiB of about 3.0 GiB",
		"Cached       3 verified, 1 not cached", "2 tasks", "4 tasks waiting", "2026-03-01 10:00:00 UTC", "2026-03-01 10:05:00 UTC",
		"2026-03-01 10:30:00 UTC (in 24m00s)",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("status lacks %q:\n%s", want, r.stdout)
		}
	}
}

// A keep-warm job's status says how the keeping stands, and a job's share
// of the agents shows while it runs.
func TestClientStatusKeepWarmAndShare(t *testing.T) {
	f := newFakeAPI(t)
	r := f.run("", "status", "job-kw")
	mustSucceed(t, r)
	for _, want := range []string{
		"Share        1/3 of the agents while other jobs run",
		"Timeout at   2026-03-01 10:30:00 UTC (the first warm's; done)",
		"Keep warm    keeping until 2026-03-01 11:30:00 UTC (in 1h24m): 240 kept, 0 queued, 0 fresh to the end, " +
			"2 not kept, 5130 re-warms (1 failed), refresh header X-Prewarm-Refresh: 1, next re-warm 2026-03-01 10:09:00 UTC",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("status lacks %q:\n%s", want, r.stdout)
		}
	}
	if r := f.run("", "status", "job-ok"); strings.Contains(r.stdout, "Keep warm") || strings.Contains(r.stdout, "Share") {
		t.Errorf("a job without keep_warm or share shows them:\n%s", r.stdout)
	}
}

func TestClientStatusJSON(t *testing.T) {
	f := newFakeAPI(t)
	r := f.run("", "status", "job-ok", "--output", "json")
	mustSucceed(t, r)
	if !strings.HasPrefix(r.stdout, "{\n  \"") {
		t.Errorf("not indented JSON: %q", r.stdout)
	}
	var got map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, r.stdout)
	}
	want, _ := json.Marshal(fakeProgress("job-ok", 1))
	var wantMap map[string]any
	_ = json.Unmarshal(want, &wantMap)
	if !reflect.DeepEqual(got, wantMap) {
		t.Errorf("json output is not the API's body\n got %v\nwant %v", got, wantMap)
	}

	// A field this client does not know (a newer server's) is shown too.
	newer := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fakeJSON(w, http.StatusOK, struct {
			client.ProgressResponse
			Future string `json:"future_field"`
		}{fakeProgress("job-ok", 1), "kept"})
	}))
	defer newer.Close()
	r = runClient("", "status", "job-ok", "--server", newer.URL, "--api-key", fakeKey, "-o", "json")
	mustSucceed(t, r)
	if !strings.Contains(r.stdout, `"future_field": "kept"`) {
		t.Errorf("a field unknown to the client was dropped:\n%s", r.stdout)
	}
}

func TestClientStatusWatch(t *testing.T) {
	f := newFakeAPI(t)
	r := f.run("", "status", "job-ok", "--watch", "--interval", "10ms")
	mustSucceed(t, r)
	f.mu.Lock()
	polls := f.polls["job-ok"]
	f.mu.Unlock()
	if polls != 3 {
		t.Errorf("polled %d times, want 3 (the job finishes on the third)", polls)
	}
	if strings.ContainsAny(r.stderr, "\r\x1b") {
		t.Errorf("a bar was drawn on a non-terminal: %q", r.stderr)
	}
	if !strings.Contains(r.stderr, "IN_PROGRESS 40% 4/10 tasks, 4 ok, 0 failed, 1.5 GiB") ||
		!strings.Contains(r.stderr, "FINISHED 100% 10/10 tasks, 10 ok, 0 failed") {
		t.Errorf("progress lines missing:\n%s", r.stderr)
	}
	if !strings.Contains(r.stdout, "FINISHED") || !strings.Contains(r.stdout, "100%  10/10 tasks done") {
		t.Errorf("final status missing from stdout:\n%s", r.stdout)
	}
}

func TestClientStatusWatchFailures(t *testing.T) {
	f := newFakeAPI(t)
	r := f.run("", "status", "job-bad", "-w", "--interval", "10ms")
	if r.code != 1 {
		t.Fatalf("exit %d, want 1 for a job with failed tasks\nstderr: %s", r.code, r.stderr)
	}
	if !strings.Contains(r.stderr, "prewarm: job job-bad finished with 2 of 10 tasks failed; see prewarm summary job-bad") {
		t.Errorf("stderr does not explain the exit status:\n%s", r.stderr)
	}

	// json output still ends with the job's last answer, and the same exit.
	f = newFakeAPI(t)
	r = f.run("", "status", "job-bad", "--watch", "--interval", "10ms", "-o", "json")
	if r.code != 1 || !strings.Contains(r.stdout, `"failed_count": 2`) {
		t.Errorf("json watch: exit %d stdout %s", r.code, r.stdout)
	}

	// An unknown job fails at once rather than being retried.
	r = f.run("", "status", "nope", "--watch", "--interval", "10ms")
	if r.code != 1 || !strings.Contains(r.stderr, "prewarm: job nope: not found (HTTP 404)") {
		t.Errorf("unknown job: exit %d stderr %s", r.code, r.stderr)
	}
}

func TestClientSummaryText(t *testing.T) {
	f := newFakeAPI(t)
	r := f.run("", "summary", "job-bad", "--limit", "1")
	mustSucceed(t, r)
	for _, want := range []string{
		"Status   FINISHED",
		"POP       TASKS  OK  FAILED  BYTES    HIT  ERROR\n" +
			"IAD89-P1  5      5   0       2.0 KiB  80%\n" +
			"FRA60-P1  5      0   5       0 B           unreachable: dial tcp 192.0.2.9:443: connect: connection refused\n" +
			"NRT57-P3  0      0   0       0 B           does not resolve\n",
		"Warnings (1):\n  responses vary on Accept-Language; the job sends one value",
		"Fetched but not cached (1):\n  https://www.example.com/c.js",
		"Failure POPs (1):\n  NRT57-P3",
		"Failure URLs (2):\n  https://www.example.com/a.js\n  … and 1 more",
		"Report: " + f.srv.URL + "/reports/job-bad.csv?token=s1gned",
		"Not kept warm (1):\n  https://www.example.com/d.m3u8: Cache-Control: no-store (at 2 POPs)",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("summary lacks %q:\n%s", want, r.stdout)
		}
	}
}

func TestClientSummaryCSV(t *testing.T) {
	f := newFakeAPI(t)
	r := f.run("", "summary", "job-bad", "--csv")
	mustSucceed(t, r)
	if want := "url,pop,status,error\nhttps://www.example.com/a.js,IAD89-P1,404,\n"; r.stdout != want {
		t.Errorf("csv = %q, want %q", r.stdout, want)
	}
	r = f.run("", "summary", "job-bad", "--csv", "--all-tasks")
	mustSucceed(t, r)
	f.mu.Lock()
	defer f.mu.Unlock()
	if !reflect.DeepEqual(f.reportKey, []string{"", ""}) {
		t.Errorf("the API key was sent with the signed link: %q", f.reportKey)
	}
	if len(f.reportQry) != 2 || f.reportQry[0] != "token=s1gned" || !strings.Contains(f.reportQry[1], "tasks=all") {
		t.Errorf("report queries = %q", f.reportQry)
	}
}

func TestClientInstances(t *testing.T) {
	f := newFakeAPI(t)
	r := f.run("", "instances")
	mustSucceed(t, r)
	for _, want := range []string{
		"Desired capacity  2", "Live agents       2 (1 active)",
		"NAME    HOST    STATE    CONCURRENCY  BUSY  LAST HEARTBEAT",
		"warm-1  node-a  active   64           12    5s ago",
		"warm-2  node-b  standby  64           0     30s ago",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("instances lacks %q:\n%s", want, r.stdout)
		}
	}

	r = f.run("", "instances", "--desired", "3")
	mustSucceed(t, r)
	if r.stdout != "desired capacity set to 3\n" {
		t.Errorf("--desired 3: stdout %q", r.stdout)
	}
	r = f.run("", "instances", "--desired", "0", "--stop", "job-ok")
	mustSucceed(t, r)
	if r.stdout != "desired capacity set to 0; job job-ok stopped\n" {
		t.Errorf("--stop: stdout %q", r.stdout)
	}
	r = f.run("", "instances", "--stop", "job-ok")
	if r.code != 1 || !strings.Contains(r.stderr, "--stop needs --desired") {
		t.Errorf("--stop alone: exit %d stderr %q", r.code, r.stderr)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	want := []string{`{"DesiredCapacity":3}`, `{"DesiredCapacity":0,"req_id":"job-ok","force_stop":true}`}
	var got []string
	for _, b := range f.instances {
		got = append(got, string(b))
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("POST /instances bodies = %q, want %q", got, want)
	}
}

func TestClientErrors(t *testing.T) {
	f := newFakeAPI(t)

	r := f.run("", "status", "nope")
	if r.code != 1 || r.stderr != "prewarm: job nope: not found (HTTP 404)\n" {
		t.Errorf("404: exit %d stderr %q", r.code, r.stderr)
	}

	r = runClient("", "status", "job-ok", "--server", f.srv.URL)
	if r.code != 1 || !strings.Contains(r.stderr, "prewarm: missing x-api-key header (HTTP 401); pass --api-key KEY or set PREWARM_API_KEY") {
		t.Errorf("401: exit %d stderr %q", r.code, r.stderr)
	}

	r = runClient("", "instances", "--server", f.srv.URL, "--api-key", "wrong-key-0000")
	if r.code != 1 || !strings.Contains(r.stderr, "prewarm: invalid API key (HTTP 403)") {
		t.Errorf("403: exit %d stderr %q", r.code, r.stderr)
	}

	closed := httptest.NewServer(http.NotFoundHandler())
	addr := closed.URL
	closed.Close()
	r = runClient("", "status", "job-ok", "--server", addr, "--api-key", fakeKey)
	if r.code != 1 || !strings.Contains(r.stderr, "is prewarm serve running at "+addr+"? set --server") {
		t.Errorf("connection refused: exit %d stderr %q", r.code, r.stderr)
	}

	r = runClient("", "status", "job-ok", "--output", "yaml")
	if r.code != 1 || !strings.Contains(r.stderr, `--output "yaml": use text or json`) {
		t.Errorf("bad --output: exit %d stderr %q", r.code, r.stderr)
	}

	// Not the API's body (a proxy's page): its first line stands for the message.
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "upstream connect error", http.StatusBadGateway)
	}))
	defer proxy.Close()
	r = runClient("", "status", "job-ok", "--server", proxy.URL)
	if r.code != 1 || !strings.Contains(r.stderr, "prewarm: upstream connect error (HTTP 502)") {
		t.Errorf("502: exit %d stderr %q", r.code, r.stderr)
	}
}

func TestClientEnvFallback(t *testing.T) {
	f := newFakeAPI(t)
	t.Setenv("PREWARM_SERVER", strings.TrimPrefix(f.srv.URL, "http://")) // no scheme: http is assumed
	t.Setenv("PREWARM_API_KEY", fakeKey+",another-key-for-serve")
	r := runClient("", "status", "job-ok")
	mustSucceed(t, r)
	if !strings.Contains(r.stdout, "job-ok") {
		t.Errorf("status through the environment: %s", r.stdout)
	}

	// Flags win over the environment.
	t.Setenv("PREWARM_API_KEY", "wrong-key-0000")
	r = runClient("", "status", "job-ok", "--api-key", fakeKey)
	mustSucceed(t, r)
	r = runClient("", "status", "job-ok")
	if r.code != 1 || !strings.Contains(r.stderr, "HTTP 403") {
		t.Errorf("wrong key from the environment: exit %d stderr %q", r.code, r.stderr)
	}

	// Options of the command fall back too: PREWARM_DESIRED is --desired.
	t.Setenv("PREWARM_API_KEY", fakeKey)
	t.Setenv("PREWARM_DESIRED", "5")
	r = runClient("", "instances")
	mustSucceed(t, r)
	if r.stdout != "desired capacity set to 5\n" {
		t.Errorf("PREWARM_DESIRED: stdout %q", r.stdout)
	}
}

func TestClientProgressViewPlain(t *testing.T) {
	var buf bytes.Buffer
	v := NewProgressView(&buf, false)
	now := v.start
	v.now = func() time.Time { return now }
	p := JobProgress{Status: "IN_PROGRESS", Done: 1, Total: 10, OK: 1, Bytes: 100}
	v.Update(p) // first: shown
	p.Done, p.OK = 2, 2
	now = now.Add(time.Second)
	v.Update(p) // counters only, too soon: not shown
	p.Message = "waiting for invalidation I2J0I21PCUYOIK"
	v.Update(p) // message changed: shown
	p.Done, p.OK = 3, 3
	now = now.Add(plainEvery)
	v.Update(p) // counters, after the interval: shown
	v.Update(p) // unchanged: not shown
	now = now.Add(quietEvery * plainEvery)
	v.Update(p) // unchanged for long: shown again
	p = JobProgress{Status: "FINISHED", Done: 10, Total: 10, OK: 9, Failed: 1, Bytes: 3 << 20}
	v.Finish(p)
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	want := []string{
		"IN_PROGRESS 10% 1/10 tasks, 1 ok, 0 failed, 100 B, 0s",
		"IN_PROGRESS 20% 2/10 tasks, 2 ok, 0 failed, 100 B, 1s — waiting for invalidation I2J0I21PCUYOIK",
		"IN_PROGRESS 30% 3/10 tasks, 3 ok, 0 failed, 100 B, 6s — waiting for invalidation I2J0I21PCUYOIK",
		"IN_PROGRESS 30% 3/10 tasks, 3 ok, 0 failed, 100 B, 36s — waiting for invalidation I2J0I21PCUYOIK",
		"FINISHED 100% 10/10 tasks, 9 ok, 1 failed, 3.0 MiB, 36s",
	}
	if !reflect.DeepEqual(lines, want) {
		t.Errorf("lines\n got %q\nwant %q", lines, want)
	}
}

func TestClientPOPTable(t *testing.T) {
	var buf bytes.Buffer
	err := WritePOPTable(&buf, []POPRow{
		{POP: "IAD89-P1", Tasks: 1000, OK: 998, Failed: 2, Bytes: 3 << 30, Hit: "98%"},
		{POP: "FRA60-P1", Tasks: 1000, OK: 1000, Bytes: 1536},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := "POP       TASKS  OK    FAILED  BYTES    HIT\n" +
		"IAD89-P1  1000   998   2       3.0 GiB  98%\n" +
		"FRA60-P1  1000   1000  0       1.5 KiB\n"
	if buf.String() != want {
		t.Errorf("table\n got %q\nwant %q", buf.String(), want)
	}
}

func TestClientHumanUnits(t *testing.T) {
	for n, want := range map[int64]string{0: "0 B", 1023: "1023 B", 1024: "1.0 KiB", 5 << 40: "5.0 TiB"} {
		if got := humanBytes(n); got != want {
			t.Errorf("humanBytes(%d) = %q, want %q", n, got, want)
		}
	}
	for d, want := range map[time.Duration]string{
		1500 * time.Millisecond: "2s", 65 * time.Second: "1m05s", 2*time.Hour + 4*time.Minute: "2h04m", 76 * time.Hour: "3d04h",
	} {
		if got := humanDuration(d); got != want {
			t.Errorf("humanDuration(%s) = %q, want %q", d, got, want)
		}
	}
}

func TestKeepWarmUntilFlag(t *testing.T) {
	now := time.Date(2026, 11, 28, 20, 0, 0, 0, time.UTC)
	for in, want := range map[string][2]string{
		"90m":                   {"", "90m"},
		" 2026-11-29T08:00:00Z": {"2026-11-29T08:00:00Z", ""},
		"":                      {"", ""},
	} {
		if until, keepFor, err := keepWarm(in, now); [2]string{until, keepFor} != want || err != nil {
			t.Errorf("keepWarm(%q) = %q, %q, %v; want %q", in, until, keepFor, err, want)
		}
	}
	for in, want := range map[string]string{
		"3d":                   `--keep-warm-until "3d": use an RFC 3339 time (2026-11-28T20:00:00Z) or a duration like 90m or 6h`,
		"tomorrow":             `--keep-warm-until "tomorrow": use an RFC 3339 time`,
		"-1h":                  "--keep-warm-until -1h: must be in the future",
		"0s":                   "--keep-warm-until 0s: must be in the future",
		"2026-11-28T19:00:00Z": "--keep-warm-until 2026-11-28T19:00:00Z: must be in the future",
	} {
		if _, _, err := keepWarm(in, now); err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("keepWarm(%q): %v; want %q", in, err, want)
		}
	}
}
