package api

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"prewarm/internal/edge"
	"prewarm/internal/warm"
)

// fuzzLimits are small so that the fuzzer can reach every limit with short
// inputs.
var fuzzLimits = warm.Limits{MaxURLs: 3, MaxTargets: 40, MaxURLLen: 120}

// fuzzStore records the one job a request may create. Submit needs only
// CreateJob and SetDesiredCapacity; the nil embedded interface makes any
// other call panic, which the fuzzer would then report.
type fuzzStore struct {
	warm.ServiceStore
	job  *warm.Job
	urls []string
}

func (s *fuzzStore) CreateJob(_ context.Context, job *warm.Job, urls []string) error {
	s.job, s.urls = job, urls
	return nil
}

func (s *fuzzStore) SetDesiredCapacity(context.Context, int) error { return nil }

// fuzzResolver and fuzzProber let dry runs complete without a network, so
// that a dry run is answered like any other request instead of a 500.
type fuzzResolver struct{}

func (fuzzResolver) Resolve(_ context.Context, _ string, targets []warm.Target) []warm.POPState {
	out := make([]warm.POPState, len(targets))
	for i, t := range targets {
		out[i] = warm.POPState{Code: t.Code, Explicit: t.Explicit, Addresses: []string{"192.0.2.1"}}
	}
	return out
}

func (fuzzResolver) HostWarnings(context.Context, string, []string) []string { return nil }

type fuzzProber struct {
	mu   sync.Mutex
	urls []string
}

func (p *fuzzProber) ProbeDirect(_ context.Context, r warm.FetchRequest) (int64, warm.Result) {
	p.mu.Lock()
	p.urls = append(p.urls, r.URL)
	p.mu.Unlock()
	return 1, warm.Result{OK: true, StatusCode: http.StatusOK}
}

var fuzzRequestSeeds = []string{
	`{"url_list":["https://www.example.com/app.js","https://www.example.com/app.css"],` +
		`"cf_domain":"d111111abcdef8.cloudfront.net","target_type":"pop","pops":["SIN2-P1","NRT57-P2"],"timeout":"15"}`,
	`{"url_list":["https://cdn.example.com/v/master.m3u8"],"cf_domain":"d111111abcdef8.cloudfront.net",` +
		`"target_type":"country","countries":["JP"],"header":["Accept-Language: en"],` +
		`"instance_count":3,"need_invalidate":"true","distribution_id":"E2QWRUHAPOMQZL","expand":["hls","dash"]}`,
	`{"url_list":["http://cdn.example.com/a"],"cf_domain":"d1.cloudfront.net","target_type":"region","regions":["jp"],` +
		`"verify":false,"tier_first":"false","priority":"low","name":"nightly"}`,
	`{"url_list":["https://a.example/1","https://a.example/1 "],"cf_domain":"d.cloudfront.net","pops":["FRA56-P1"],` +
		`"dry_run":true,"expand":"sitemap","encodings":["br","gzip"],"max_concurrency":10,"max_rps":"2.5"}`,
	`{"url_list":["https://a.example/1","https://a.example/2","https://a.example/3","https://a.example/4"],"pops":["FRA56-P1"],"cf_domain":"d.cloudfront.net"}`,
	`{"url_list":["not a url",null],"timeout":1e400}`,
	`{"url_list":"https://a.example/","instance_count":1.5}`,
	`{} {}`,
	`[]`,
	`null`,
	``,
}

// FuzzJobRequest sends arbitrary bodies to POST /prewarm. Whatever the
// body, the answer is a job whose URLs are within the limits, or a 4xx:
// bad input must never be a server error, and must never record a job.
func FuzzJobRequest(f *testing.F) {
	for _, s := range fuzzRequestSeeds {
		f.Add([]byte(s))
	}
	now := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	f.Fuzz(func(t *testing.T, body []byte) {
		store := &fuzzStore{}
		prober := &fuzzProber{}
		svc := &warm.Service{
			Store: store, Selector: edge.Builtin(), Limits: fuzzLimits,
			Resolver: fuzzResolver{}, Direct: prober,
			NewID: func() string { return "job-1" }, Now: func() time.Time { return now },
		}
		srv := New(Config{Service: svc, MaxBody: 64 << 10, Log: slog.New(slog.DiscardHandler),
			Now: func() time.Time { return now }})
		req := httptest.NewRequest(http.MethodPost, "/prewarm", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		srv.ServeHTTP(w, req)

		if !json.Valid(w.Body.Bytes()) {
			t.Fatalf("status %d with a body that is not JSON: %q", w.Code, w.Body.String())
		}
		switch w.Code {
		case http.StatusOK:
			var resp struct {
				DryRun   bool `json:"dry_run"`
				URLCount int  `json:"url_count"`
			}
			if err := json.Unmarshal(w.Body.Bytes(), &resp); err != nil {
				t.Fatalf("200 answer does not decode: %v: %s", err, w.Body.String())
			}
			if resp.DryRun {
				if store.job != nil {
					t.Fatalf("a dry run recorded job %+v", store.job)
				}
				if resp.URLCount < 1 || resp.URLCount > fuzzLimits.MaxURLs {
					t.Fatalf("dry run planned %d URLs; limit %d", resp.URLCount, fuzzLimits.MaxURLs)
				}
				checkJobURLs(t, prober.urls)
				return
			}
			if store.job == nil {
				t.Fatalf("200 without a recorded job: %s", w.Body.String())
			}
			if store.job.URLCount != len(store.urls) {
				t.Fatalf("job says %d URLs, recorded %d", store.job.URLCount, len(store.urls))
			}
			if len(store.job.Targets) == 0 || len(store.job.Targets) > fuzzLimits.MaxTargets {
				t.Fatalf("job has %d POPs; limit %d", len(store.job.Targets), fuzzLimits.MaxTargets)
			}
			checkJobURLs(t, store.urls)
		case http.StatusBadRequest, http.StatusRequestEntityTooLarge:
			if store.job != nil || len(prober.urls) > 0 {
				t.Fatalf("status %d, yet a job was recorded or probed: %s", w.Code, w.Body.String())
			}
		default:
			t.Fatalf("status %d for a client's body: %s", w.Code, w.Body.String())
		}
	})
}

// checkJobURLs holds an accepted URL list to what the API promises: 1 to
// MaxURLs distinct, trimmed, absolute http(s) URLs of bounded length.
func checkJobURLs(t *testing.T, urls []string) {
	t.Helper()
	if len(urls) < 1 || len(urls) > fuzzLimits.MaxURLs {
		t.Fatalf("accepted %d URLs; limit %d", len(urls), fuzzLimits.MaxURLs)
	}
	seen := map[string]bool{}
	for _, raw := range urls {
		if seen[raw] {
			t.Fatalf("URL %q accepted twice", raw)
		}
		seen[raw] = true
		if raw != strings.TrimSpace(raw) || len(raw) > fuzzLimits.MaxURLLen {
			t.Fatalf("accepted URL %q is untrimmed or longer than %d", raw, fuzzLimits.MaxURLLen)
		}
		u, err := url.Parse(raw)
		if err != nil || !u.IsAbs() || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" {
			t.Fatalf("accepted URL %q is not an absolute http(s) URL (%v)", raw, err)
		}
	}
}
