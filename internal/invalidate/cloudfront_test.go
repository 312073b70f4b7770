package invalidate

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/smithy-go"
)

// fakeCloudFront answers the three CloudFront API calls Invalidate makes,
// in the 2020-05-31 REST-XML the real service speaks, so the real SDK
// (serializers, signing, paging, error decoding) is exercised end to end.
type fakeCloudFront struct {
	t        *testing.T
	pageSize int
	dists    []fakeDist
	// inProgressPolls is how many GetInvalidation answers say InProgress
	// before one says Completed; negative: never Completed.
	inProgressPolls int
	// maxActive refuses a CreateInvalidation with
	// TooManyInvalidationsInProgress while that many are not Completed; 0:
	// no limit.
	maxActive int
	// createError, when set, answers every CreateInvalidation with it.
	createError *fakeError

	mu        sync.Mutex
	markers   []string // Marker of each ListDistributions call ("" for the first)
	creates   []fakeCreate
	refused   int
	polls     map[string]int // GetInvalidation calls by invalidation id
	completed map[string]bool
	order     []string // "create I1", "get I1 InProgress", …
}

type fakeDist struct {
	id, domain string
	aliases    []string
}

type fakeCreate struct {
	dist, ref, id string
	paths         []string
}

type fakeError struct {
	status        int
	code, message string
}

const (
	testAccessKey = "AKIDPREWARMTEST"
	cfNS          = "http://cloudfront.amazonaws.com/doc/2020-05-31/"
)

func newFakeCloudFront(t *testing.T, f *fakeCloudFront) *httptest.Server {
	f.t = t
	f.polls = make(map[string]int)
	f.completed = make(map[string]bool)
	if f.pageSize == 0 {
		f.pageSize = 100
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /2020-05-31/distribution", f.list)
	mux.HandleFunc("POST /2020-05-31/distribution/{id}/invalidation", f.create)
	mux.HandleFunc("GET /2020-05-31/distribution/{id}/invalidation/{inv}", f.get)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The SDK must sign with the test credentials from the standard
		// chain, for the cloudfront service in us-east-1.
		auth := r.Header.Get("Authorization")
		if !strings.Contains(auth, "Credential="+testAccessKey+"/") || !strings.Contains(auth, "/us-east-1/cloudfront/aws4_request") {
			t.Errorf("%s %s: Authorization %q is not a SigV4 signature by the test key for cloudfront/us-east-1", r.Method, r.URL, auth)
		}
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv
}

type xmlDistributionList struct {
	XMLName     xml.Name            `xml:"DistributionList"`
	Xmlns       string              `xml:"xmlns,attr"`
	Marker      string              `xml:"Marker"`
	NextMarker  string              `xml:"NextMarker,omitempty"`
	MaxItems    int                 `xml:"MaxItems"`
	IsTruncated bool                `xml:"IsTruncated"`
	Quantity    int                 `xml:"Quantity"`
	Items       []xmlDistributionSm `xml:"Items>DistributionSummary"`
}

type xmlDistributionSm struct {
	ID         string `xml:"Id"`
	ARN        string `xml:"ARN"`
	Status     string `xml:"Status"`
	DomainName string `xml:"DomainName"`
	Aliases    struct {
		Quantity int      `xml:"Quantity"`
		Items    []string `xml:"Items>CNAME"`
	} `xml:"Aliases"`
	Enabled bool `xml:"Enabled"`
}

type xmlBatch struct {
	XMLName         xml.Name `xml:"InvalidationBatch"`
	Quantity        int      `xml:"Paths>Quantity"`
	Paths           []string `xml:"Paths>Items>Path"`
	CallerReference string   `xml:"CallerReference"`
}

type xmlInvalidation struct {
	XMLName    xml.Name `xml:"Invalidation"`
	Xmlns      string   `xml:"xmlns,attr"`
	ID         string   `xml:"Id"`
	Status     string   `xml:"Status"`
	CreateTime string   `xml:"CreateTime"`
	Batch      struct {
		Quantity        int      `xml:"Paths>Quantity"`
		Paths           []string `xml:"Paths>Items>Path"`
		CallerReference string   `xml:"CallerReference"`
	} `xml:"InvalidationBatch"`
}

func writeXML(w http.ResponseWriter, status int, v any) {
	b, err := xml.Marshal(v)
	if err != nil {
		panic(err)
	}
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(status)
	io.WriteString(w, xml.Header)
	w.Write(b)
}

// writeError answers the way CloudFront does: the status plus an
// ErrorResponse document.
func writeError(w http.ResponseWriter, e fakeError) {
	w.Header().Set("Content-Type", "text/xml")
	w.Header().Set("x-amz-request-id", "req-test-1")
	w.WriteHeader(e.status)
	fmt.Fprintf(w, `<?xml version="1.0"?>
<ErrorResponse xmlns="%s"><Error><Type>Sender</Type><Code>%s</Code><Message>%s</Message></Error><RequestId>req-test-1</RequestId></ErrorResponse>`,
		cfNS, e.code, e.message)
}

func (f *fakeCloudFront) list(w http.ResponseWriter, r *http.Request) {
	marker := r.URL.Query().Get("Marker")
	f.mu.Lock()
	f.markers = append(f.markers, marker)
	f.mu.Unlock()
	start := 0
	if marker != "" {
		n, err := strconv.Atoi(strings.TrimPrefix(marker, "page@"))
		if err != nil || n < 0 || n > len(f.dists) {
			writeError(w, fakeError{400, "InvalidArgument", "bad Marker " + marker})
			return
		}
		start = n
	}
	end := min(start+f.pageSize, len(f.dists))
	out := xmlDistributionList{Xmlns: cfNS, Marker: marker, MaxItems: f.pageSize, Quantity: end - start}
	if end < len(f.dists) {
		out.IsTruncated = true
		out.NextMarker = "page@" + strconv.Itoa(end)
	}
	for _, d := range f.dists[start:end] {
		s := xmlDistributionSm{ID: d.id, ARN: "arn:aws:cloudfront::123456789012:distribution/" + d.id,
			Status: "Deployed", DomainName: d.domain, Enabled: true}
		s.Aliases.Quantity = len(d.aliases)
		s.Aliases.Items = d.aliases
		out.Items = append(out.Items, s)
	}
	writeXML(w, http.StatusOK, out)
}

func (f *fakeCloudFront) create(w http.ResponseWriter, r *http.Request) {
	var b xmlBatch
	if err := xml.NewDecoder(r.Body).Decode(&b); err != nil {
		writeError(w, fakeError{400, "MalformedXML", err.Error()})
		return
	}
	if b.Quantity != len(b.Paths) {
		writeError(w, fakeError{400, "InconsistentQuantities", "Quantity does not match Items"})
		return
	}
	if f.createError != nil {
		writeError(w, *f.createError)
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.maxActive > 0 {
		active := 0
		for _, c := range f.creates {
			if !f.completed[c.id] {
				active++
			}
		}
		if active >= f.maxActive {
			f.refused++
			f.order = append(f.order, "refused")
			writeError(w, fakeError{400, "TooManyInvalidationsInProgress", "Processing your request will cause you to exceed the maximum number of in-progress wildcard invalidations."})
			return
		}
	}
	id := fmt.Sprintf("I%dTEST", len(f.creates)+1)
	dist := r.PathValue("id")
	f.creates = append(f.creates, fakeCreate{dist: dist, ref: b.CallerReference, id: id, paths: b.Paths})
	f.order = append(f.order, "create "+id)
	out := xmlInvalidation{Xmlns: cfNS, ID: id, Status: "InProgress", CreateTime: "2026-01-02T03:04:05Z"}
	out.Batch.Quantity, out.Batch.Paths, out.Batch.CallerReference = b.Quantity, b.Paths, b.CallerReference
	w.Header().Set("Location", "https://cloudfront.amazonaws.com/2020-05-31/distribution/"+dist+"/invalidation/"+id)
	writeXML(w, http.StatusCreated, out)
}

func (f *fakeCloudFront) get(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("inv")
	f.mu.Lock()
	defer f.mu.Unlock()
	known := false
	for _, c := range f.creates {
		if c.id == id && c.dist == r.PathValue("id") {
			known = true
		}
	}
	if !known {
		writeError(w, fakeError{404, "NoSuchInvalidation", "The specified invalidation does not exist."})
		return
	}
	f.polls[id]++
	status := "InProgress"
	if f.inProgressPolls >= 0 && f.polls[id] > f.inProgressPolls {
		status = "Completed"
		f.completed[id] = true
	}
	f.order = append(f.order, "get "+id+" "+status)
	writeXML(w, http.StatusOK, xmlInvalidation{Xmlns: cfNS, ID: id, Status: status, CreateTime: "2026-01-02T03:04:05Z"})
}

// awsTestEnv points the standard credential chain at static test keys and
// away from anything on the machine (shared files, profiles, IMDS,
// endpoint overrides).
func awsTestEnv(t *testing.T, withKeys bool) {
	dir := t.TempDir()
	key, secret := "", ""
	if withKeys {
		key, secret = testAccessKey, "test-secret-key"
	}
	for k, v := range map[string]string{
		"AWS_ACCESS_KEY_ID":                      key,
		"AWS_SECRET_ACCESS_KEY":                  secret,
		"AWS_SESSION_TOKEN":                      "",
		"AWS_PROFILE":                            "",
		"AWS_DEFAULT_PROFILE":                    "",
		"AWS_CONFIG_FILE":                        filepath.Join(dir, "config"),
		"AWS_SHARED_CREDENTIALS_FILE":            filepath.Join(dir, "credentials"),
		"AWS_EC2_METADATA_DISABLED":              "true",
		"AWS_ENDPOINT_URL":                       "",
		"AWS_ENDPOINT_URL_CLOUDFRONT":            "",
		"AWS_WEB_IDENTITY_TOKEN_FILE":            "",
		"AWS_ROLE_ARN":                           "",
		"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "",
		"AWS_CONTAINER_CREDENTIALS_FULL_URI":     "",
	} {
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

// fiveDistributions spread over three pages of two: the wanted alias sits
// on the second page.
func fiveDistributions() []fakeDist {
	return []fakeDist{
		{id: "E1AAAA", domain: "d111.cloudfront.net", aliases: []string{"static.example.org"}},
		{id: "E2BBBB", domain: "d222.cloudfront.net"},
		{id: "E3CCCC", domain: "d333.cloudfront.net", aliases: []string{"img.example.com", "www.example.com"}},
		{id: "E4DDDD", domain: "d444.cloudfront.net", aliases: []string{"*.wild.example.net"}},
		{id: "E5EEEE", domain: "d555.cloudfront.net"},
	}
}

func TestInvalidateFindsAliasOnSecondPageAndWaits(t *testing.T) {
	awsTestEnv(t, true)
	f := &fakeCloudFront{pageSize: 2, dists: fiveDistributions(), inProgressPolls: 2}
	cf := newTestCloudFront(t, newFakeCloudFront(t, f))

	urls := []string{
		"https://www.example.com/a.js?v=2",
		"https://www.example.com/a.js",
		"https://www.example.com/a.js?v=2", // duplicate
		"https://www.example.com",
		"https://www.example.com/img/%E2%9C%93.png",
		"https://www.example.com/assets/*",
	}
	res, err := cf.Invalidate(t.Context(), "WWW.Example.COM.", "", urls)
	if err != nil {
		t.Fatalf("Invalidate: %v", err)
	}
	if res.DistributionID != "E3CCCC" {
		t.Errorf("DistributionID = %q, want E3CCCC", res.DistributionID)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if want := []string{"", "page@2"}; !slices.Equal(f.markers, want) {
		t.Errorf("ListDistributions markers = %q, want %q (found on the second page, no further)", f.markers, want)
	}
	if len(f.creates) != 1 {
		t.Fatalf("%d CreateInvalidation calls, want 1", len(f.creates))
	}
	c := f.creates[0]
	wantPaths := []string{"/a.js?v=2", "/a.js", "/", "/img/%E2%9C%93.png", "/assets/*"}
	if c.dist != "E3CCCC" || !slices.Equal(c.paths, wantPaths) {
		t.Errorf("CreateInvalidation on %s with %q, want E3CCCC with %q", c.dist, c.paths, wantPaths)
	}
	if !strings.HasPrefix(c.ref, "prewarm-") {
		t.Errorf("CallerReference %q, want prewarm-…", c.ref)
	}
	if res.Paths != 5 || !slices.Equal(res.InvalidationIDs, []string{c.id}) {
		t.Errorf("Result = %+v", res)
	}
	// Invalidate returned only after the Completed answer: the fake said
	// InProgress twice, and nothing was asked after Completed.
	wantOrder := []string{"create I1TEST", "get I1TEST InProgress", "get I1TEST InProgress", "get I1TEST Completed"}
	if !slices.Equal(f.order, wantOrder) {
		t.Errorf("calls = %q, want %q", f.order, wantOrder)
	}
}

func TestInvalidateCallerReferenceUnique(t *testing.T) {
	awsTestEnv(t, true)
	f := &fakeCloudFront{dists: fiveDistributions()}
	cf := newTestCloudFront(t, newFakeCloudFront(t, f))
	for range 3 {
		if _, err := cf.Invalidate(t.Context(), "", "E2BBBB", []string{"https://x.example/a"}); err != nil {
			t.Fatal(err)
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	seen := map[string]bool{}
	for _, c := range f.creates {
		if seen[c.ref] {
			t.Errorf("CallerReference %q reused", c.ref)
		}
		seen[c.ref] = true
	}
	if len(f.markers) != 0 {
		t.Errorf("ListDistributions called %d times with a distribution id given", len(f.markers))
	}
}

func TestInvalidateSplitsPastPathLimit(t *testing.T) {
	awsTestEnv(t, true)
	f := &fakeCloudFront{dists: fiveDistributions(), inProgressPolls: 1}
	cf := newTestCloudFront(t, newFakeCloudFront(t, f))
	urls := make([]string, 3500)
	for i := range urls {
		urls[i] = fmt.Sprintf("https://www.example.com/file-%04d.bin?v=7", i)
	}
	res, err := cf.Invalidate(t.Context(), "", "E5EEEE", urls)
	if err != nil {
		t.Fatalf("Invalidate: %v", err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.creates) != 2 || len(f.creates[0].paths) != 3000 || len(f.creates[1].paths) != 500 {
		t.Fatalf("batches: %d calls %v", len(f.creates), batchSizes(f.creates))
	}
	if f.creates[0].paths[0] != "/file-0000.bin?v=7" || f.creates[1].paths[499] != "/file-3499.bin?v=7" {
		t.Errorf("order lost: first %q, last %q", f.creates[0].paths[0], f.creates[1].paths[499])
	}
	if f.creates[0].ref == f.creates[1].ref {
		t.Errorf("both batches share CallerReference %q", f.creates[0].ref)
	}
	if len(res.InvalidationIDs) != 2 || res.Paths != 3500 {
		t.Errorf("Result = %+v", res)
	}
	for _, c := range f.creates {
		if !f.completed[c.id] {
			t.Errorf("Invalidate returned before %s completed", c.id)
		}
	}
}

func TestInvalidateWaitsOutTooManyInProgress(t *testing.T) {
	awsTestEnv(t, true)
	// CloudFront's quotas count every in-progress invalidation: the second
	// batch is refused until the first completes.
	f := &fakeCloudFront{dists: fiveDistributions(), inProgressPolls: 1, maxActive: 1}
	cf := newTestCloudFront(t, newFakeCloudFront(t, f))
	urls := make([]string, 20)
	for i := range urls {
		urls[i] = fmt.Sprintf("https://www.example.com/dir-%d/*", i)
	}
	res, err := cf.Invalidate(t.Context(), "d555.cloudfront.net", "", urls)
	if err != nil {
		t.Fatalf("Invalidate: %v", err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if got := batchSizes(f.creates); len(got) != 2 || got[0] != 15 || got[1] != 5 {
		t.Errorf("wildcard batches = %v, want [15 5]", got)
	}
	want := []string{"create I1TEST", "refused", "get I1TEST InProgress", "get I1TEST Completed",
		"create I2TEST", "get I2TEST InProgress", "get I2TEST Completed"}
	if !slices.Equal(f.order, want) {
		t.Errorf("calls = %q, want %q", f.order, want)
	}
	if f.creates[1].ref == "" || len(res.InvalidationIDs) != 2 {
		t.Errorf("Result = %+v", res)
	}
}

func TestInvalidateNoMatchingDistribution(t *testing.T) {
	awsTestEnv(t, true)
	f := &fakeCloudFront{pageSize: 2, dists: fiveDistributions()}
	cf := newTestCloudFront(t, newFakeCloudFront(t, f))
	_, err := cf.Invalidate(t.Context(), "d999.example.com", "", []string{"https://d999.example.com/a"})
	want := "no CloudFront distribution has domain name or alternate domain name d999.example.com (checked 5 distributions)"
	if err == nil || err.Error() != want {
		t.Fatalf("err = %v, want %q", err, want)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.markers) != 3 {
		t.Errorf("%d ListDistributions pages read, want all 3", len(f.markers))
	}
	if len(f.creates) != 0 {
		t.Errorf("CreateInvalidation called without a distribution")
	}
}

func TestInvalidateWildcardAlias(t *testing.T) {
	awsTestEnv(t, true)
	f := &fakeCloudFront{pageSize: 2, dists: fiveDistributions()}
	cf := newTestCloudFront(t, newFakeCloudFront(t, f))
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
	f := &fakeCloudFront{dists: fiveDistributions(), createError: &fakeError{403, "AccessDenied", msg}}
	cf := newTestCloudFront(t, newFakeCloudFront(t, f))
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
	f := &fakeCloudFront{dists: fiveDistributions(), inProgressPolls: -1}
	cf := newTestCloudFront(t, newFakeCloudFront(t, f))
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
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.polls["I1TEST"] < 2 || len(res.InvalidationIDs) != 1 {
		t.Errorf("polls %d, Result %+v", f.polls["I1TEST"], res)
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

func batchSizes(cs []fakeCreate) []int {
	out := make([]int, len(cs))
	for i, c := range cs {
		out[i] = len(c.paths)
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
