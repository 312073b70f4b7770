package invalidate

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/smithy-go"

	"prewarm/internal/invalidate/cloudfronttest"
)

// awsTestEnv points the standard credential chain at the fake's static
// test keys and away from anything on the machine (shared files, profiles,
// IMDS, endpoint overrides).
func awsTestEnv(t *testing.T, withKeys bool) {
	for k, v := range cloudfronttest.Env(t.TempDir(), withKeys) {
		t.Setenv(k, v)
	}
}

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type tWriter struct{ t *testing.T }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func newTestCloudFront(t *testing.T, srv *httptest.Server) *CloudFront {
	t.Helper()
	cf, err := NewCloudFront(t.Context(), CloudFrontConfig{
		Endpoint:     srv.URL,
		PollInterval: 5 * time.Millisecond,
		Log:          testLogger(t),
	})
	if err != nil {
		t.Fatalf("NewCloudFront: %v", err)
	}
	return cf
}

// invalidated serves f, invalidates urls through it and fails the test if
// that fails.
func invalidated(t *testing.T, f *cloudfronttest.Fake, domain, distributionID string, urls []string) Result {
	t.Helper()
	res, err := newTestCloudFront(t, f.Start(t)).Invalidate(t.Context(), domain, distributionID, urls)
	if err != nil {
		t.Fatalf("Invalidate: %v", err)
	}
	return res
}

// numbered is n URLs made by format from 0 to n-1.
func numbered(n int, format string) []string {
	urls := make([]string, n)
	for i := range urls {
		urls[i] = fmt.Sprintf(format, i)
	}
	return urls
}

// fiveDistributions spread over three pages of two: the wanted alias sits
// on the second page.
func fiveDistributions() []cloudfronttest.Distribution {
	return []cloudfronttest.Distribution{
		{ID: "E1AAAA", Domain: "d111.cloudfront.net", Aliases: []string{"static.example.org"}},
		{ID: "E2BBBB", Domain: "d222.cloudfront.net"},
		{ID: "E3CCCC", Domain: "d333.cloudfront.net", Aliases: []string{"img.example.com", "www.example.com"}},
		{ID: "E4DDDD", Domain: "d444.cloudfront.net", Aliases: []string{"*.wild.example.net"}},
		{ID: "E5EEEE", Domain: "d555.cloudfront.net"},
	}
}

func TestInvalidateFindsAliasOnSecondPageAndWaits(t *testing.T) {
	awsTestEnv(t, true)
	f := &cloudfronttest.Fake{PageSize: 2, Distributions: fiveDistributions(), InProgressPolls: 2}
	urls := []string{
		"https://www.example.com/a.js?v=2",
		"https://www.example.com/a.js",
		"https://www.example.com/a.js?v=2", // duplicate
		"https://www.example.com",
		"https://www.example.com/img/%E2%9C%93.png",
		"https://www.example.com/assets/*",
	}
	res := invalidated(t, f, "WWW.Example.COM.", "", urls)
	if res.DistributionID != "E3CCCC" {
		t.Errorf("DistributionID = %q, want E3CCCC", res.DistributionID)
	}
	creates, markers, order := f.Creates(), f.Markers(), f.Order()
	if want := []string{"", "page@2"}; !slices.Equal(markers, want) {
		t.Errorf("ListDistributions markers = %q, want %q (found on the second page, no further)", markers, want)
	}
	if len(creates) != 1 {
		t.Fatalf("%d CreateInvalidation calls, want 1", len(creates))
	}
	c := creates[0]
	wantPaths := []string{"/a.js?v=2", "/a.js", "/", "/img/%E2%9C%93.png", "/assets/*"}
	if c.Distribution != "E3CCCC" || !slices.Equal(c.Paths, wantPaths) {
		t.Errorf("CreateInvalidation on %s with %q, want E3CCCC with %q", c.Distribution, c.Paths, wantPaths)
	}
	if !strings.HasPrefix(c.CallerReference, "prewarm-") {
		t.Errorf("CallerReference %q, want prewarm-…", c.CallerReference)
	}
	if res.Paths != 5 || !slices.Equal(res.InvalidationIDs, []string{c.ID}) {
		t.Errorf("Result = %+v", res)
	}
	// Invalidate returned only after the Completed answer: the fake said
	// InProgress twice, and nothing was asked after Completed.
	wantOrder := []string{"create I1TEST", "get I1TEST InProgress", "get I1TEST InProgress", "get I1TEST Completed"}
	if !slices.Equal(order, wantOrder) {
		t.Errorf("calls = %q, want %q", order, wantOrder)
	}
}

func TestInvalidateCallerReferenceUnique(t *testing.T) {
	awsTestEnv(t, true)
	f := &cloudfronttest.Fake{Distributions: fiveDistributions()}
	cf := newTestCloudFront(t, f.Start(t))
	for range 3 {
		if _, err := cf.Invalidate(t.Context(), "", "E2BBBB", []string{"https://x.example/a"}); err != nil {
			t.Fatal(err)
		}
	}
	creates, markers := f.Creates(), f.Markers()
	if len(creates) != 3 {
		t.Errorf("%d invalidations made by 3 calls: a caller reference was reused", len(creates))
	}
	seen := map[string]bool{}
	for _, c := range creates {
		if seen[c.CallerReference] {
			t.Errorf("CallerReference %q reused", c.CallerReference)
		}
		seen[c.CallerReference] = true
	}
	if len(markers) != 0 {
		t.Errorf("ListDistributions called %d times with a distribution id given", len(markers))
	}
}

func TestInvalidateSplitsPastPathLimit(t *testing.T) {
	awsTestEnv(t, true)
	f := &cloudfronttest.Fake{Distributions: fiveDistributions(), InProgressPolls: 1}
	res := invalidated(t, f, "", "E5EEEE", numbered(3500, "https://www.example.com/file-%04d.bin?v=7"))
	creates, order := f.Creates(), f.Order()
	if len(creates) != 2 || len(creates[0].Paths) != 3000 || len(creates[1].Paths) != 500 {
		t.Fatalf("batches: %d calls %v", len(creates), batchSizes(creates))
	}
	if creates[0].Paths[0] != "/file-0000.bin?v=7" || creates[1].Paths[499] != "/file-3499.bin?v=7" {
		t.Errorf("order lost: first %q, last %q", creates[0].Paths[0], creates[1].Paths[499])
	}
	if creates[0].CallerReference == creates[1].CallerReference {
		t.Errorf("both batches share CallerReference %q", creates[0].CallerReference)
	}
	if len(res.InvalidationIDs) != 2 || res.Paths != 3500 {
		t.Errorf("Result = %+v", res)
	}
	for _, c := range creates {
		if !slices.Contains(order, "get "+c.ID+" Completed") {
			t.Errorf("Invalidate returned before %s completed", c.ID)
		}
	}
}

func TestInvalidateWaitsOutTooManyInProgress(t *testing.T) {
	awsTestEnv(t, true)
	// CloudFront's quotas count every in-progress invalidation: the second
	// batch is refused until the first completes.
	f := &cloudfronttest.Fake{Distributions: fiveDistributions(), InProgressPolls: 1, MaxActive: 1}
	res := invalidated(t, f, "d555.cloudfront.net", "", numbered(20, "https://www.example.com/dir-%d/*"))
	creates, order := f.Creates(), f.Order()
	if got := batchSizes(creates); len(got) != 2 || got[0] != 15 || got[1] != 5 {
		t.Errorf("wildcard batches = %v, want [15 5]", got)
	}
	want := []string{"create I1TEST", "refused", "get I1TEST InProgress", "get I1TEST Completed",
		"create I2TEST", "get I2TEST InProgress", "get I2TEST Completed"}
	if !slices.Equal(order, want) {
		t.Errorf("calls = %q, want %q", order, want)
	}
	if n := f.Refused(); n != 1 {
		t.Errorf("%d CreateInvalidation calls refused, want 1", n)
	}
	if creates[1].CallerReference == "" || len(res.InvalidationIDs) != 2 {
		t.Errorf("Result = %+v", res)
	}
}

func TestInvalidateNoMatchingDistribution(t *testing.T) {
	awsTestEnv(t, true)
	f := &cloudfronttest.Fake{PageSize: 2, Distributions: fiveDistributions()}
	cf := newTestCloudFront(t, f.Start(t))
	_, err := cf.Invalidate(t.Context(), "d999.example.com", "", []string{"https://d999.example.com/a"})
	want := "no CloudFront distribution has domain name or alternate domain name d999.example.com (checked 5 distributions)"
	if err == nil || err.Error() != want {
		t.Fatalf("err = %v, want %q", err, want)
	}
	creates, markers := f.Creates(), f.Markers()
	if len(markers) != 3 {
		t.Errorf("%d ListDistributions pages read, want all 3", len(markers))
	}
	if len(creates) != 0 {
		t.Errorf("CreateInvalidation called without a distribution")
	}
}

func TestInvalidateWildcardAlias(t *testing.T) {
	awsTestEnv(t, true)
	f := &cloudfronttest.Fake{PageSize: 2, Distributions: fiveDistributions()}
	cf := newTestCloudFront(t, f.Start(t))
	res, err := cf.Invalidate(t.Context(), "cdn.wild.example.net", "", []string{"https://cdn.wild.example.net/a"})
	if err != nil || res.DistributionID != "E4DDDD" {
		t.Fatalf("Invalidate = %+v, %v; want E4DDDD by *.wild.example.net", res, err)
	}
	_, err = cf.Invalidate(t.Context(), "a.b.wild.example.net", "", []string{"https://a.b.wild.example.net/a"})
	if err == nil {
		t.Errorf("a wildcard alias matched two labels")
	}
}

func TestInvalidateAccessDenied(t *testing.T) {
	awsTestEnv(t, true)
	msg := "User: arn:aws:iam::123456789012:user/prewarm is not authorized to perform: cloudfront:CreateInvalidation on resource: arn:aws:cloudfront::123456789012:distribution/E2BBBB because no identity-based policy allows the cloudfront:CreateInvalidation action"
	f := &cloudfronttest.Fake{Distributions: fiveDistributions(), CreateError: &cloudfronttest.APIError{Status: 403, Code: "AccessDenied", Message: msg}}
	cf := newTestCloudFront(t, f.Start(t))
	res, err := cf.Invalidate(t.Context(), "d222.cloudfront.net", "", []string{"https://www.example.com/a.js"})
	if err == nil {
		t.Fatal("no error")
	}
	want := "create invalidation of 1 paths on CloudFront distribution E2BBBB: AccessDenied: " + msg
	if err.Error() != want {
		t.Errorf("err = %q\nwant  %q", err, want)
	}
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "AccessDenied" {
		t.Errorf("errors.As(smithy.APIError) = %v", ae)
	}
	if res.DistributionID != "E2BBBB" || len(res.InvalidationIDs) != 0 {
		t.Errorf("Result = %+v", res)
	}
}

func TestInvalidateDeadlineWhileInProgress(t *testing.T) {
	awsTestEnv(t, true)
	f := &cloudfronttest.Fake{Distributions: fiveDistributions(), InProgressPolls: -1}
	cf := newTestCloudFront(t, f.Start(t))
	ctx, cancel := context.WithTimeout(t.Context(), 150*time.Millisecond)
	defer cancel()
	start := time.Now()
	res, err := cf.Invalidate(ctx, "", "E1AAAA", []string{"https://static.example.org/x.css"})
	if err == nil {
		t.Fatal("no error")
	}
	if !strings.Contains(err.Error(), "invalidation I1TEST still InProgress when the job's time ran out") {
		t.Errorf("err = %v", err)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err does not wrap context.DeadlineExceeded: %v", err)
	}
	if time.Since(start) > 5*time.Second {
		t.Errorf("returned %v after the deadline", time.Since(start))
	}
	if f.Polls("I1TEST") < 2 || len(res.InvalidationIDs) != 1 {
		t.Errorf("polls %d, Result %+v", f.Polls("I1TEST"), res)
	}
}

func TestNewCloudFrontWithoutCredentials(t *testing.T) {
	awsTestEnv(t, false)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("request sent without credentials: %s %s", r.Method, r.URL)
	}))
	defer srv.Close()
	// Loading must work with no credentials anywhere: they are resolved at
	// the first call.
	cf := newTestCloudFront(t, srv)
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	_, err := cf.Invalidate(ctx, "", "E1AAAA", []string{"https://www.example.com/a"})
	if err == nil || !strings.HasPrefix(err.Error(), "no usable AWS credentials for CloudFront") {
		t.Fatalf("err = %v", err)
	}
	t.Logf("error without credentials: %v", err)
}

func TestPaths(t *testing.T) {
	got := Paths([]string{
		"https://h.example/a.js?v=2",
		"https://h.example/a.js",
		"http://other.example/a.js", // same path on another host: one path
		"https://h.example",
		"https://h.example/",
		"https://h.example/a%20b.js?x=%2F&y=1",
		"https://h.example/ä.js",
		"https://h.example/q?",
		"https://h.example/img/*",
		"://bad",
		"https://h.example/a.js?v=2",
	})
	want := []string{"/a.js?v=2", "/a.js", "/", "/a%20b.js?x=%2F&y=1", "/%C3%A4.js", "/q", "/img/*"}
	if !slices.Equal(got, want) {
		t.Errorf("Paths = %q\nwant    %q", got, want)
	}
}

func TestBatches(t *testing.T) {
	var paths []string
	for i := range 3001 {
		paths = append(paths, fmt.Sprintf("/f%d", i))
	}
	if got := sizes(batches(paths)); !slices.Equal(got, []int{3000, 1}) {
		t.Errorf("3001 paths → %v", got)
	}
	paths = nil
	for i := range 40 {
		paths = append(paths, fmt.Sprintf("/f%d", i))
		if i%2 == 0 {
			paths = append(paths, fmt.Sprintf("/w%d/*", i)) // 20 wildcards
		}
	}
	b := batches(paths)
	if got := sizes(b); !slices.Equal(got, []int{46, 14}) {
		t.Errorf("20 wildcards among 60 → %v", got)
	}
	for _, one := range b {
		w := 0
		for _, p := range one {
			if isWildcard(p) {
				w++
			}
		}
		if w > maxWildcardsPerBatch {
			t.Errorf("batch with %d wildcards", w)
		}
	}
	if got := batches(nil); len(got) != 0 {
		t.Errorf("no paths → %v", got)
	}
}

func TestNormDomain(t *testing.T) {
	for in, want := range map[string]string{
		"WWW.Example.com.":                 "www.example.com",
		" d111.cloudfront.net ":            "d111.cloudfront.net",
		"https://D111.cloudfront.net:443/": "d111.cloudfront.net",
		"cdn.example.com/path":             "cdn.example.com",
	} {
		if got := normDomain(in); got != want {
			t.Errorf("normDomain(%q) = %q, want %q", in, got, want)
		}
	}
}

func batchSizes(cs []cloudfronttest.Create) []int {
	out := make([]int, len(cs))
	for i, c := range cs {
		out[i] = len(c.Paths)
	}
	return out
}

func sizes(b [][]string) []int {
	out := make([]int, len(b))
	for i, x := range b {
		out[i] = len(x)
	}
	return out
}
