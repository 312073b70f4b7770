package cloudfronttest

import (
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"prewarm/internal/awstest"
)

// The static credentials Env puts in the environment; Start reports any
// request not signed with AccessKey.
const (
	AccessKey = "AKIDPREWARMTEST"
	SecretKey = "test-secret-key"
)

// cfNS is the XML namespace of CloudFront API version 2020-05-31.
const cfNS = "http://cloudfront.amazonaws.com/doc/2020-05-31/"

// Distribution is one distribution ListDistributions reports.
type Distribution struct {
	ID, Domain string
	Aliases    []string
}

// APIError is an error answer: the HTTP status plus the Code and Message
// of CloudFront's ErrorResponse document.
type APIError struct {
	Status        int
	Code, Message string
}

// Create records one accepted CreateInvalidation call.
type Create struct {
	Distribution, CallerReference, ID string
	Paths                             []string
}

// Fake answers ListDistributions, CreateInvalidation and GetInvalidation.
// Set its exported fields before Start and leave them alone afterwards;
// the recorded calls are read through its methods, which are safe for
// concurrent use.
type Fake struct {
	// PageSize is how many distributions one ListDistributions page
	// holds; 0 means 100.
	PageSize      int
	Distributions []Distribution
	// InProgressPolls is how many GetInvalidation answers per
	// invalidation say InProgress before one says Completed; negative:
	// never Completed.
	InProgressPolls int
	// MaxActive refuses a CreateInvalidation with
	// TooManyInvalidationsInProgress while that many invalidations are not
	// Completed; 0: no limit.
	MaxActive int
	// CreateError, when set, answers every CreateInvalidation with it.
	CreateError *APIError

	mu        sync.Mutex
	markers   []string // Marker of each ListDistributions call ("" for the first)
	creates   []Create
	refused   int
	polls     map[string]int // GetInvalidation calls by invalidation id
	completed map[string]bool
	order     []string // "create I1TEST", "get I1TEST InProgress", "refused", …
}

// Start serves the fake on an httptest server, closed at t's cleanup.
// Requests not signed (SigV4) with AccessKey for cloudfront in us-east-1
// are reported with t.Errorf.
func (f *Fake) Start(t testing.TB) *httptest.Server {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /2020-05-31/distribution", f.list)
	mux.HandleFunc("POST /2020-05-31/distribution/{id}/invalidation", f.create)
	mux.HandleFunc("GET /2020-05-31/distribution/{id}/invalidation/{inv}", f.get)
	return awstest.Serve(t, mux, AccessKey, "us-east-1", "cloudfront")
}

// Creates returns a copy of the accepted CreateInvalidation calls, in
// order.
func (f *Fake) Creates() []Create {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]Create, len(f.creates))
	for i, c := range f.creates {
		c.Paths = slices.Clone(c.Paths)
		out[i] = c
	}
	return out
}

// Markers returns the Marker of each ListDistributions call, "" for a
// first page.
func (f *Fake) Markers() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.markers)
}

// Order returns the invalidation calls in the order they were answered:
// "create I1TEST", "get I1TEST InProgress", "get I1TEST Completed",
// "refused", ….
func (f *Fake) Order() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.order)
}

// Refused returns how many CreateInvalidation calls were refused with
// TooManyInvalidationsInProgress.
func (f *Fake) Refused() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.refused
}

// Polls returns how many GetInvalidation calls asked about the
// invalidation.
func (f *Fake) Polls(invalidationID string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.polls[invalidationID]
}

func (f *Fake) pageSize() int {
	if f.PageSize <= 0 {
		return 100
	}
	return f.PageSize
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

// writeError answers the way CloudFront does: the status plus an
// ErrorResponse document.
func writeError(w http.ResponseWriter, e APIError) {
	w.Header().Set("Content-Type", "text/xml")
	w.Header().Set("x-amz-request-id", "req-test-1")
	w.WriteHeader(e.Status)
	fmt.Fprintf(w, `<?xml version="1.0"?>
<ErrorResponse xmlns="%s"><Error><Type>Sender</Type><Code>%s</Code><Message>%s</Message></Error><RequestId>req-test-1</RequestId></ErrorResponse>`,
		cfNS, xmlEscape(e.Code), xmlEscape(e.Message))
}

func xmlEscape(s string) string {
	var b strings.Builder
	xml.EscapeText(&b, []byte(s))
	return b.String()
}

func (f *Fake) list(w http.ResponseWriter, r *http.Request) {
	marker := r.URL.Query().Get("Marker")
	f.mu.Lock()
	f.markers = append(f.markers, marker)
	f.mu.Unlock()
	dists, pageSize := f.Distributions, f.pageSize()
	start := 0
	if marker != "" {
		n, err := strconv.Atoi(strings.TrimPrefix(marker, "page@"))
		if err != nil || n < 0 || n > len(dists) {
			writeError(w, APIError{400, "InvalidArgument", "bad Marker " + marker})
			return
		}
		start = n
	}
	end := min(start+pageSize, len(dists))
	out := xmlDistributionList{Xmlns: cfNS, Marker: marker, MaxItems: pageSize, Quantity: end - start}
	if end < len(dists) {
		out.IsTruncated = true
		out.NextMarker = "page@" + strconv.Itoa(end)
	}
	for _, d := range dists[start:end] {
		s := xmlDistributionSm{ID: d.ID, ARN: "arn:aws:cloudfront::123456789012:distribution/" + d.ID,
			Status: "Deployed", DomainName: d.Domain, Enabled: true}
		s.Aliases.Quantity = len(d.Aliases)
		s.Aliases.Items = d.Aliases
		out.Items = append(out.Items, s)
	}
	awstest.WriteXML(w, http.StatusOK, out)
}

func (f *Fake) create(w http.ResponseWriter, r *http.Request) {
	var b xmlBatch
	body, err := io.ReadAll(r.Body)
	if err == nil {
		err = xml.Unmarshal(body, &b)
	}
	if err != nil {
		writeError(w, APIError{400, "MalformedXML", err.Error()})
		return
	}
	if b.Quantity != len(b.Paths) {
		writeError(w, APIError{400, "InconsistentQuantities", "Quantity does not match Items"})
		return
	}
	if f.CreateError != nil {
		writeError(w, *f.CreateError)
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	dist := r.PathValue("id")
	id := ""
	for _, c := range f.creates {
		// As CloudFront does: the same caller reference again (a retried
		// call whose answer was lost) is the invalidation already made.
		if c.Distribution == dist && c.CallerReference == b.CallerReference {
			id = c.ID
		}
	}
	if f.MaxActive > 0 && id == "" {
		active := 0
		for _, c := range f.creates {
			if !f.completed[c.ID] {
				active++
			}
		}
		if active >= f.MaxActive {
			f.refused++
			f.order = append(f.order, "refused")
			writeError(w, APIError{400, "TooManyInvalidationsInProgress", "Processing your request will cause you to exceed the maximum number of in-progress wildcard invalidations."})
			return
		}
	}
	if id == "" {
		id = fmt.Sprintf("I%dTEST", len(f.creates)+1)
		f.creates = append(f.creates, Create{Distribution: dist, CallerReference: b.CallerReference, ID: id, Paths: b.Paths})
		f.order = append(f.order, "create "+id)
	}
	out := xmlInvalidation{Xmlns: cfNS, ID: id, Status: "InProgress", CreateTime: "2026-01-02T03:04:05Z"}
	out.Batch.Quantity, out.Batch.Paths, out.Batch.CallerReference = b.Quantity, b.Paths, b.CallerReference
	w.Header().Set("Location", "https://cloudfront.amazonaws.com/2020-05-31/distribution/"+dist+"/invalidation/"+id)
	awstest.WriteXML(w, http.StatusCreated, out)
}

func (f *Fake) get(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("inv")
	f.mu.Lock()
	defer f.mu.Unlock()
	known := false
	for _, c := range f.creates {
		if c.ID == id && c.Distribution == r.PathValue("id") {
			known = true
		}
	}
	if !known {
		writeError(w, APIError{404, "NoSuchInvalidation", "The specified invalidation does not exist."})
		return
	}
	if f.polls == nil {
		f.polls = make(map[string]int)
		f.completed = make(map[string]bool)
	}
	f.polls[id]++
	status := "InProgress"
	if f.InProgressPolls >= 0 && f.polls[id] > f.InProgressPolls {
		status = "Completed"
		f.completed[id] = true
	}
	f.order = append(f.order, "get "+id+" "+status)
	awstest.WriteXML(w, http.StatusOK, xmlInvalidation{Xmlns: cfNS, ID: id, Status: status, CreateTime: "2026-01-02T03:04:05Z"})
}

// Env returns the environment that points the AWS SDK's standard
// credential chain at the test keys and away from anything on the machine
// (see awstest.Env), the CloudFront endpoint override cleared too.
// withKeys=false leaves the keys empty, so no credentials resolve at all.
func Env(dir string, withKeys bool) map[string]string {
	key, secret := "", ""
	if withKeys {
		key, secret = AccessKey, SecretKey
	}
	return awstest.Env(dir, key, secret, "CLOUDFRONT")
}
