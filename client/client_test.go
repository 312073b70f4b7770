package client

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

const testKey = "test-key-0123456789"

// recorder is a server that answers each request with the handler of its
// path and remembers what it was asked.
type recorder struct {
	srv *httptest.Server
	mu  sync.Mutex
	got []*http.Request
	// bodies of the requests, in order
	bodies []string
}

func newRecorder(t *testing.T, routes map[string]http.HandlerFunc) *recorder {
	t.Helper()
	r := &recorder{}
	mux := http.NewServeMux()
	for pattern, h := range routes {
		mux.HandleFunc(pattern, h)
	}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.got = append(r.got, req)
		r.bodies = append(r.bodies, string(body))
		r.mu.Unlock()
		mux.ServeHTTP(w, req)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *recorder) requests() ([]*http.Request, []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*http.Request(nil), r.got...), append([]string(nil), r.bodies...)
}

func answer(v any) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, http.StatusOK, v) }
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func mustNew(t *testing.T, base string, opts ...Option) *Client {
	t.Helper()
	c, err := New(base, testKey, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// New takes a base URL with or without its scheme, with a path prefix, and
// refuses what it cannot use, naming the field.
func TestNew(t *testing.T) {
	for _, tc := range []struct {
		base, key string
		opts      []Option
		want      string // the base URL kept, or the start of the error
	}{
		{base: "127.0.0.1:8080", want: "http://127.0.0.1:8080"},
		{base: " https://warm.example.com/ ", want: "https://warm.example.com"},
		{base: "http://gw.example.com/prewarm/?x=1", want: "http://gw.example.com/prewarm"},
		{base: "", want: "base URL is empty"},
		{base: "   ", want: "base URL is empty"},
		{base: "ftp://files.example.com", want: `base URL "ftp://files.example.com": use an http:// or https:// URL`},
		{base: "http://", want: `base URL "http://": no host`},
		{base: "http://[::1", want: `base URL "http://[::1"`},
		{base: "127.0.0.1:8080", key: "key\nInjected: yes", want: "API key: contains a control character"},
		{base: "127.0.0.1:8080", opts: []Option{WithTimeout(-time.Second)}, want: "timeout -1s: must not be negative"},
	} {
		c, err := New(tc.base, tc.key, tc.opts...)
		if ok := err == nil && c.BaseURL() == tc.want || err != nil && strings.HasPrefix(err.Error(), tc.want); !ok {
			t.Errorf("New(%q, %q) = %v, %v; want %q", tc.base, tc.key, c, err, tc.want)
		}
	}
}

// A server mounted under a path prefix, addressed without a scheme: every
// call keeps the prefix, sends the key and escapes the job id.
func TestCallsUnderAPathPrefix(t *testing.T) {
	r := newRecorder(t, map[string]http.HandlerFunc{
		"GET /api/prewarm":         answer(ProgressResponse{RequestID: "a b", Status: StatusInProgress}),
		"GET /api/jobs/{id}":       answer(JobResponse{POPs: []POP{{Code: "IAD89-P1"}}}),
		"POST /api/jobs/{id}/stop": answer(InstancesResponse{Status: "success", Message: "job a/b stopped"}),
		"GET /api/jobs":            answer(JobList{Jobs: []JobSummary{{CFDomain: "d1.cloudfront.net"}}}),
	})
	c := mustNew(t, strings.TrimPrefix(r.srv.URL, "http://")+"/api/", WithUserAgent("prewarm-test/1"))
	ctx := t.Context()
	if p, err := c.Progress(ctx, "a b"); err != nil || p.RequestID != "a b" || p.Ended() {
		t.Fatalf("Progress: %+v %v", p, err)
	}
	if j, err := c.Job(ctx, "a/b"); err != nil || len(j.POPs) != 1 {
		t.Fatalf("Job: %+v %v", j, err)
	}
	if s, err := c.StopJob(ctx, "a/b"); err != nil || s.Message != "job a/b stopped" {
		t.Fatalf("StopJob: %+v %v", s, err)
	}
	if jobs, err := c.Jobs(ctx, JobFilter{Status: StatusFinished, Limit: 5}); err != nil || len(jobs) != 1 || jobs[0].CFDomain != "d1.cloudfront.net" {
		t.Fatalf("Jobs: %+v %v", jobs, err)
	}
	reqs, _ := r.requests()
	want := []string{"/api/prewarm?req_id=a+b", "/api/jobs/a%2Fb", "/api/jobs/a%2Fb/stop", "/api/jobs?limit=5&status=FINISHED"}
	for i, req := range reqs {
		if req.URL.RequestURI() != want[i] {
			t.Errorf("request %d went to %s, want %s", i, req.URL.RequestURI(), want[i])
		}
		if req.Header.Get("x-api-key") != testKey || req.Header.Get("User-Agent") != "prewarm-test/1" {
			t.Errorf("request %d headers: %v", i, req.Header)
		}
	}
	if _, err := c.Progress(ctx, " "); err == nil || !strings.Contains(err.Error(), "job id is empty") {
		t.Errorf("empty id: %v", err)
	}
}

// The request bodies are the API's: options left out unless set, 0 and
// false sent when asked for.
func TestRequestBodies(t *testing.T) {
	r := newRecorder(t, map[string]http.HandlerFunc{
		"POST /prewarm":   answer(SubmitResponse{Status: "Success", RequestID: "job-1"}),
		"POST /instances": answer(InstancesResponse{Status: "success"}),
	})
	c := mustNew(t, r.srv.URL)
	ctx := t.Context()
	sub, err := c.Submit(ctx, JobRequest{URLs: []string{"https://www.example.com/"}, CFDomain: "d1.cloudfront.net"})
	if err != nil || sub.RequestID != "job-1" {
		t.Fatalf("Submit: %+v %v", sub, err)
	}
	_, err = c.Submit(ctx, JobRequest{URLs: []string{"https://www.example.com/"}, CFDomain: "cdn.example.com", TargetType: "region",
		Regions: []string{"eu"}, Timeout: new(0.5), InstanceCount: new(0), Verify: new(false), Expand: []string{"hls"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.SetInstances(ctx, InstancesRequest{DesiredCapacity: 0}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.SetInstances(ctx, InstancesRequest{DesiredCapacity: 2, ReqID: "job-1", ForceStop: true}); err != nil {
		t.Fatal(err)
	}
	_, bodies := r.requests()
	want := []string{
		`{"url_list":["https://www.example.com/"],"cf_domain":"d1.cloudfront.net"}`,
		`{"url_list":["https://www.example.com/"],"cf_domain":"cdn.example.com","target_type":"region","regions":["eu"],"timeout":0.5,"instance_count":0,"verify":false,"expand":["hls"]}`,
		`{"DesiredCapacity":0}`,
		`{"DesiredCapacity":2,"req_id":"job-1","force_stop":true}`,
	}
	if !reflect.DeepEqual(bodies, want) {
		t.Errorf("bodies\n got %q\nwant %q", bodies, want)
	}
}

func TestErrors(t *testing.T) {
	r := newRecorder(t, map[string]http.HandlerFunc{
		"POST /prewarm": func(w http.ResponseWriter, _ *http.Request) {
			writeJSON(w, http.StatusBadRequest, SubmitResponse{Status: "Failed", ErrorMessage: "Invalid URLs",
				ErrorURLs: []string{"ftp://x/", "nope"}})
		},
		"GET /prewarm": func(w http.ResponseWriter, _ *http.Request) {
			writeJSON(w, http.StatusNotFound, Failure{Status: "failure", Message: "job nope: not found"})
		},
		"GET /summary": func(w http.ResponseWriter, _ *http.Request) {
			http.Error(w, "upstream connect error\nmore detail", http.StatusBadGateway)
		},
		"GET /instances": func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusTeapot) },
		"GET /jobs/{id}": func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "<html>not JSON</html>") },
	})
	c := mustNew(t, r.srv.URL)
	ctx := t.Context()
	var e *Error
	_, err := c.Submit(ctx, JobRequest{URLs: []string{"ftp://x/", "nope"}, CFDomain: "d1.cloudfront.net"})
	if !errors.As(err, &e) || e.StatusCode != 400 || e.Message != "Invalid URLs" || !reflect.DeepEqual(e.ErrorURLs, []string{"ftp://x/", "nope"}) {
		t.Errorf("invalid URLs: %#v", err)
	}
	_, err = c.Progress(ctx, "nope")
	if err == nil || err.Error() != "job nope: not found (HTTP 404)" {
		t.Errorf("404: %v", err)
	}
	_, err = c.Summary(ctx, "x")
	if !errors.As(err, &e) || e.StatusCode != 502 || e.Message != "upstream connect error" {
		t.Errorf("a proxy's page: %#v", err)
	}
	_, err = c.Instances(ctx)
	if !errors.As(err, &e) || e.Message != "I'm a teapot" {
		t.Errorf("an empty body: %#v", err)
	}
	_, err = c.Job(ctx, "x")
	if err == nil || errors.As(err, &e) || !strings.Contains(err.Error(), "something other than the API's JSON") {
		t.Errorf("not JSON: %v", err)
	}
}

// A redirect is reported, not followed: the key never reaches the place it
// points to.
func TestRedirectIsNotFollowed(t *testing.T) {
	elsewhere := newRecorder(t, map[string]http.HandlerFunc{"/": answer(InstancesStatus{})})
	r := newRecorder(t, map[string]http.HandlerFunc{"/": func(w http.ResponseWriter, req *http.Request) {
		http.Redirect(w, req, elsewhere.srv.URL+req.URL.RequestURI(), http.StatusMovedPermanently)
	}})
	// A caller's http.Client that would follow is overruled too.
	c := mustNew(t, r.srv.URL, WithHTTPClient(&http.Client{}))
	_, err := c.Instances(t.Context())
	var e *Error
	if !errors.As(err, &e) || e.StatusCode != 301 || e.Location != elsewhere.srv.URL+"/instances" {
		t.Fatalf("redirect: %#v", err)
	}
	if reqs, _ := elsewhere.requests(); len(reqs) != 0 {
		t.Fatalf("the redirect was followed, with the key: %v", reqs[0].Header)
	}
}

func TestAnswerSizeIsBounded(t *testing.T) {
	r := newRecorder(t, map[string]http.HandlerFunc{"GET /summary": answer(SummaryResponse{FailureURLs: []string{strings.Repeat("u", 2000)}})})
	c := mustNew(t, r.srv.URL)
	c.maxAnswer = 1000
	if _, err := c.Summary(t.Context(), "x"); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Fatalf("an answer over the bound: %v", err)
	}
	c.maxAnswer = 4000
	if s, err := c.Summary(t.Context(), "x"); err != nil || len(s.FailureURLs) != 1 {
		t.Fatalf("an answer within the bound: %v", err)
	}
}

func TestTimeoutBoundsACall(t *testing.T) {
	release := make(chan struct{})
	r := newRecorder(t, map[string]http.HandlerFunc{"GET /instances": func(w http.ResponseWriter, req *http.Request) {
		select {
		case <-release:
		case <-req.Context().Done():
		}
	}})
	defer close(release)
	c := mustNew(t, r.srv.URL, WithTimeout(50*time.Millisecond))
	start := time.Now()
	_, err := c.Instances(t.Context())
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 5*time.Second {
		t.Fatalf("after %v: %v", time.Since(start), err)
	}
}

func TestHealth(t *testing.T) {
	healthy := true
	var mu sync.Mutex
	r := newRecorder(t, map[string]http.HandlerFunc{"GET /healthz": func(w http.ResponseWriter, _ *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if healthy {
			writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
			return
		}
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "database": "unreachable"})
	}})
	c := mustNew(t, r.srv.URL)
	if err := c.Health(t.Context()); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	healthy = false
	mu.Unlock()
	var e *Error
	if err := c.Health(t.Context()); !errors.As(err, &e) || e.StatusCode != 503 || !strings.Contains(e.Message, "unreachable") {
		t.Fatalf("unhealthy: %#v", err)
	}
}

// scripted answers GET /prewarm from a list, one answer a poll, the last
// one from then on; an answer with no status stands for a poll that finds
// the server down (502).
type scripted struct {
	mu    sync.Mutex
	steps []ProgressResponse
	polls int
}

func (s *scripted) handler(w http.ResponseWriter, _ *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.steps[min(s.polls, len(s.steps)-1)]
	s.polls++
	if p.Status == "" {
		writeJSON(w, http.StatusBadGateway, Failure{Status: "failure", Message: "restarting"})
		return
	}
	writeJSON(w, http.StatusOK, p)
}

func TestWait(t *testing.T) {
	running := ProgressResponse{RequestID: "j", Status: StatusInProgress, DownloadCount: 1, TotalCount: 4}
	planned := running
	planned.Planned = true
	done := ProgressResponse{RequestID: "j", Status: StatusFinished, DownloadCount: 4, TotalCount: 4}
	outage := ProgressResponse{}

	t.Run("until the job ends, through an outage", func(t *testing.T) {
		s := &scripted{steps: []ProgressResponse{running, outage, outage, planned, done}}
		r := newRecorder(t, map[string]http.HandlerFunc{"GET /prewarm": s.handler})
		var seen []string
		p, err := mustNew(t, r.srv.URL).Wait(t.Context(), "j", &WaitOptions{Interval: time.Millisecond,
			OnProgress: func(p *ProgressResponse) { seen = append(seen, p.Status) }})
		if err != nil || p.Status != StatusFinished || s.polls != 5 {
			t.Fatalf("%+v %v after %d polls", p, err, s.polls)
		}
		if !reflect.DeepEqual(seen, []string{"IN_PROGRESS", "IN_PROGRESS", "FINISHED"}) {
			t.Errorf("OnProgress saw %v", seen)
		}
	})
	t.Run("until a condition", func(t *testing.T) {
		s := &scripted{steps: []ProgressResponse{running, running, planned, done}}
		r := newRecorder(t, map[string]http.HandlerFunc{"GET /prewarm": s.handler})
		p, err := mustNew(t, r.srv.URL).Wait(t.Context(), "j", &WaitOptions{Interval: time.Millisecond,
			Until: func(p *ProgressResponse) bool { return p.Planned }})
		if err != nil || !p.Planned || p.Ended() || s.polls != 3 {
			t.Fatalf("%+v %v after %d polls", p, err, s.polls)
		}
	})
	t.Run("the first failure is final", func(t *testing.T) {
		s := &scripted{steps: []ProgressResponse{outage, done}}
		r := newRecorder(t, map[string]http.HandlerFunc{"GET /prewarm": s.handler})
		_, err := mustNew(t, r.srv.URL).Wait(t.Context(), "j", &WaitOptions{Interval: time.Millisecond})
		var e *Error
		if !errors.As(err, &e) || e.StatusCode != 502 || s.polls != 1 {
			t.Fatalf("%v after %d polls", err, s.polls)
		}
	})
	t.Run("an outage longer than the grace", func(t *testing.T) {
		s := &scripted{steps: []ProgressResponse{running, outage}}
		r := newRecorder(t, map[string]http.HandlerFunc{"GET /prewarm": s.handler})
		_, err := mustNew(t, r.srv.URL).Wait(t.Context(), "j", &WaitOptions{Interval: time.Millisecond, Grace: 20 * time.Millisecond})
		if err == nil || !strings.Contains(err.Error(), "waiting for job j: no answer for 20ms: restarting (HTTP 502)") {
			t.Fatalf("%v", err)
		}
	})
	t.Run("a 4xx is final", func(t *testing.T) {
		r := newRecorder(t, map[string]http.HandlerFunc{"GET /prewarm": func(w http.ResponseWriter, _ *http.Request) {
			writeJSON(w, http.StatusNotFound, Failure{Status: "failure", Message: "job j: not found"})
		}})
		if _, err := mustNew(t, r.srv.URL).Wait(t.Context(), "j", nil); err == nil || err.Error() != "job j: not found (HTTP 404)" {
			t.Fatalf("%v", err)
		}
	})
	t.Run("the context ends it", func(t *testing.T) {
		s := &scripted{steps: []ProgressResponse{running}}
		r := newRecorder(t, map[string]http.HandlerFunc{"GET /prewarm": s.handler})
		ctx, cancel := context.WithCancel(t.Context())
		_, err := mustNew(t, r.srv.URL).Wait(ctx, "j", &WaitOptions{Interval: time.Millisecond,
			OnProgress: func(*ProgressResponse) { cancel() }})
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("%v", err)
		}
	})
}

func TestReports(t *testing.T) {
	const csv = "pop,url,status_code\nIAD89-P1,https://www.example.com/a,404\n"
	r := newRecorder(t, map[string]http.HandlerFunc{"GET /p/reports/{file}": func(w http.ResponseWriter, req *http.Request) {
		w.Header().Set("Content-Type", "text/csv")
		if req.URL.Query().Get("token") == "" && req.Header.Get("x-api-key") == "" {
			writeJSON(w, http.StatusUnauthorized, Failure{Status: "failure", Message: "missing x-api-key header"})
			return
		}
		io.WriteString(w, csv)
	}})
	c := mustNew(t, r.srv.URL+"/p")
	ctx := t.Context()
	var out strings.Builder
	if err := c.Report(ctx, "job 1", ReportOptions{AllTasks: true, POP: "IAD89-P1"}, &out); err != nil || out.String() != csv {
		t.Fatalf("Report: %q %v", out.String(), err)
	}
	out.Reset()
	if err := c.DownloadReport(ctx, r.srv.URL+"/p/reports/j.csv?token=s1gned", ReportOptions{}, &out); err != nil || out.String() != csv {
		t.Fatalf("DownloadReport of an absolute link: %q %v", out.String(), err)
	}
	out.Reset()
	if err := c.DownloadReport(ctx, "/reports/j.csv?token=s1gned", ReportOptions{AllTasks: true}, &out); err != nil || out.String() != csv {
		t.Fatalf("DownloadReport of a relative link: %q %v", out.String(), err)
	}
	err := c.DownloadReport(ctx, r.srv.URL+"/p/reports/j.csv", ReportOptions{}, io.Discard)
	var e *Error
	if !errors.As(err, &e) || e.StatusCode != 401 || !strings.HasPrefix(err.Error(), "downloading the report: ") {
		t.Fatalf("unsigned link: %v", err)
	}
	if err := c.DownloadReport(ctx, " ", ReportOptions{}, io.Discard); err == nil || !strings.Contains(err.Error(), "report link is empty") {
		t.Fatalf("empty link: %v", err)
	}
	reqs, _ := r.requests()
	want := []struct{ uri, key string }{
		{"/p/reports/job%201.csv?pop=IAD89-P1&tasks=all", testKey},
		{"/p/reports/j.csv?token=s1gned", ""},
		{"/p/reports/j.csv?tasks=all&token=s1gned", ""},
		{"/p/reports/j.csv", ""},
	}
	for i, req := range reqs {
		if req.URL.RequestURI() != want[i].uri || req.Header.Get("x-api-key") != want[i].key {
			t.Errorf("request %d: %s with key %q, want %s with %q", i, req.URL.RequestURI(), req.Header.Get("x-api-key"), want[i].uri, want[i].key)
		}
	}
}

// A report that starts streaming before the timeout is not cut by it.
func TestReportOutlivesTheTimeout(t *testing.T) {
	r := newRecorder(t, map[string]http.HandlerFunc{"GET /reports/{file}": func(w http.ResponseWriter, _ *http.Request) {
		io.WriteString(w, "pop,url\n")
		w.(http.Flusher).Flush()
		<-time.After(150 * time.Millisecond) // streaming for longer than the timeout
		io.WriteString(w, "IAD89-P1,https://www.example.com/a\n")
	}})
	c := mustNew(t, r.srv.URL, WithTimeout(50*time.Millisecond))
	var out strings.Builder
	if err := c.Report(t.Context(), "j", ReportOptions{}, &out); err != nil || strings.Count(out.String(), "\n") != 2 {
		t.Fatalf("%q %v", out.String(), err)
	}
}
